"""Running workflows: the operations services perform on a SpiffWorkflow instance.

Everything here works on in-memory ``BpmnWorkflow`` objects; loading and saving them is the
services' business. Semantics follow Camunda where SpiffWorkflow differs: manual tasks and
plain ``task`` elements pass through, only ``userTask`` waits for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from SpiffWorkflow.bpmn.specs.defaults import UserTask as BpmnUserTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

#: States of a task where a token is (or was) actually present.
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
#: Keys SpiffWorkflow keeps in data that are not process variables.
_INTERNAL_KEYS = frozenset({"data_objects"})
#: Where SpiffWorkflow's Camunda message events put their payload; never a process variable.
MESSAGE_SLOT = "_baton_message"
_MAX_PASSES = 10_000


@dataclass
class Failure:
    """A task that failed while the engine ran (script error, bad expression, ...)."""

    task_id: str
    activity_id: str | None
    message: str
    line_number: int | None = None
    error_line: str | None = None


@dataclass
class WaitingEvent:
    task_id: str
    activity_id: str | None
    kind: str  # "message" | "signal" | "timer"
    name: str | None
    due: datetime | None = None


def new_workflow(spec: Any, subprocess_specs: dict[str, Any], script_engine: Any,
                 variables: dict[str, Any] | None = None) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    if variables:
        # Initial variables belong on the root task: every task copies its data from its parent.
        workflow.task_tree.data.update(variables)
    return workflow


def all_workflows(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def all_tasks(workflow: BpmnWorkflow, state: int | None = None) -> list[Task]:
    tasks: list[Task] = []
    for wf in all_workflows(workflow):
        tasks.extend(wf.get_tasks(state=state) if state is not None else wf.get_tasks())
    return tasks


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, Exception):  # noqa: BLE001 - Spiff raises its own TaskNotFound types
        return None


def is_user_task(task: Task) -> bool:
    return isinstance(task.task_spec, BpmnUserTask)


def _error_details(exc: BaseException) -> tuple[str, int | None, str | None]:
    line = getattr(exc, "line_number", None) or None
    text = getattr(exc, "error_line", None) or None
    message = " ".join((str(exc) or exc.__class__.__name__).split())
    # SpiffWorkflow joins the error type and text with a bare colon ("ZeroDivisionError:division ...").
    head, sep, rest = message.partition(":")
    if sep and head.isidentifier() and rest and not rest.startswith(" "):
        message = f"{head}: {rest}"
    inner = getattr(exc, "error_type", None)
    if inner and inner not in message:
        message = f"{inner}: {message}"
    if line:
        message = f"{message} (line {line}: {text})" if text else f"{message} (line {line})"
    return message, line, text


def run(workflow: BpmnWorkflow) -> Failure | None:
    """Run every engine step until all tokens wait or the workflow ends.

    A failing task is left in ERROR and reported; the workflow itself stays usable, so the
    caller can persist it with an incident and retry later.
    """
    running: list[Task] = []
    for _ in range(_MAX_PASSES):
        try:
            workflow.do_engine_steps(will_complete_task=lambda task: running.__setitem__(slice(None), [task]))
            passed = _pass_through_manual_tasks(workflow)
        except Exception as exc:  # noqa: BLE001 - any failure of model code becomes an incident
            return _failure_from(workflow, exc, running[0] if running else None)
        if not passed:
            # Messages thrown to the outside (send tasks, throw events) are not delivered by Baton,
            # as in Camunda without a delegate; drain them so they don't pile up in the saved state.
            workflow.get_events()
            return None
    return Failure(task_id="", activity_id=None, message="The process did not reach a wait state")


def _failure_from(workflow: BpmnWorkflow, exc: BaseException, running: Task | None = None) -> Failure:
    task = getattr(exc, "task", None)
    if task is None:
        errored = all_tasks(workflow, TaskState.ERROR)
        task = errored[0] if errored else _blame(running)
    elif task.state == TaskState.COMPLETED:
        # It failed after its own work, while handing its result on (e.g. a multi-instance child
        # whose output item is missing): put it in ERROR so a retry runs it again.
        task._set_state(TaskState.ERROR)  # noqa: SLF001 - Spiff has no public "fail" call
    message, line, text = _error_details(exc)
    return Failure(
        task_id=str(task.id) if task is not None else "",
        activity_id=getattr(task.task_spec, "bpmn_id", None) if task is not None else None,
        message=message, line_number=line, error_line=text,
    )


def _has_pass_through_specs(workflow: BpmnWorkflow) -> bool:
    """Whether the model has manual/plain tasks at all (cached on the spec: specs are shared)."""
    spec = workflow.spec
    cached = getattr(spec, "_baton_pass_through", None)
    if cached is None:
        specs = [spec, *workflow.subprocess_specs.values()]
        cached = any(ts.manual and not isinstance(ts, BpmnUserTask)
                     for s in specs for ts in s.task_specs.values())
        spec._baton_pass_through = cached
    return cached


def _blame(running: Task | None) -> Task | None:
    """A failure outside any task's own run (e.g. preparing a multi-instance successor whose
    collection is missing): mark the successor being prepared as failed, so the incident points
    at it and a retry runs it again once the data is fixed."""
    if running is None:
        return None
    if running.state != TaskState.COMPLETED:
        running._set_state(TaskState.ERROR)  # noqa: SLF001 - Spiff has no public "fail" call
        return running
    for child in running.children:
        if not child.has_state(TaskState.FINISHED_MASK):
            child._set_state(TaskState.ERROR)  # noqa: SLF001
            return child
    return None


def _pass_through_manual_tasks(workflow: BpmnWorkflow) -> bool:
    """Camunda runs manualTask and plain task elements straight through; SpiffWorkflow waits."""
    if not _has_pass_through_specs(workflow):
        return False
    ran = False
    for task in all_tasks(workflow, TaskState.READY):
        if task.task_spec.manual and not is_user_task(task):
            task.run()
            ran = True
    return ran


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [t for t in all_tasks(workflow, TaskState.READY) if is_user_task(t)]


def error_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return all_tasks(workflow, TaskState.ERROR)


def frontier(workflow: BpmnWorkflow) -> list[Task]:
    """Tasks holding a token now, oldest state change first."""
    tasks = [t for t in all_tasks(workflow, ACTIVE) if t.task_spec.bpmn_id is not None or t.parent]
    return sorted(tasks, key=lambda t: t.last_state_change)


def process_variables(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The process-scope variables: what the tokens carry now (or carried at the end)."""
    if workflow.completed:
        source: dict[str, Any] = dict(workflow.data)
        last = workflow.last_task
        if last is not None:
            for key, value in last.data.items():
                source.setdefault(key, value)
    else:
        source = {}
        tasks = [t for t in frontier(workflow) if t.workflow is workflow] or frontier(workflow)
        if not tasks:
            tasks = [workflow.last_task or workflow.task_tree]
        for task in tasks:
            source.update(task.data)
    return {k: v for k, v in source.items() if k not in _INTERNAL_KEYS and k != MESSAGE_SLOT}


def set_variables(workflow: BpmnWorkflow, values: dict[str, Any], deletions: list[str] | tuple = ()) -> None:
    """Write process-scope variables into every token (SpiffWorkflow keeps data per task)."""
    targets = frontier(workflow)
    if not targets:
        targets = [workflow.last_task or workflow.task_tree]
    if not workflow.completed and workflow.task_tree.state != TaskState.COMPLETED:
        targets.append(workflow.task_tree)
    for task in targets:
        task.data.update(values)
        for name in deletions:
            task.data.pop(name, None)


def complete_user_task(workflow: BpmnWorkflow, task: Task, variables: dict[str, Any] | None = None) -> None:
    if variables:
        set_variables(workflow, variables)
        task.data.update(variables)
    task.run()


def waiting_events(workflow: BpmnWorkflow) -> list[WaitingEvent]:
    result: list[WaitingEvent] = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        activity_id = getattr(task.task_spec, "bpmn_id", None)
        if isinstance(definition, MessageEventDefinition):
            result.append(WaitingEvent(str(task.id), activity_id, "message", definition.name))
        elif isinstance(definition, SignalEventDefinition):
            result.append(WaitingEvent(str(task.id), activity_id, "signal", definition.name))
        elif isinstance(definition, TimerEventDefinition):
            result.append(WaitingEvent(str(task.id), activity_id, "timer", definition.name,
                                       _timer_due(definition, task)))
        else:
            # Multiple/other definitions: report each timer/message part we understand.
            for part in getattr(definition, "event_definitions", []) or []:
                if isinstance(part, MessageEventDefinition):
                    result.append(WaitingEvent(str(task.id), activity_id, "message", part.name))
                elif isinstance(part, SignalEventDefinition):
                    result.append(WaitingEvent(str(task.id), activity_id, "signal", part.name))
    for start in _event_subprocess_starts(workflow):
        kind = "message" if isinstance(start.definition, MessageEventDefinition) else "signal"
        result.append(WaitingEvent(start.subscription_id, start.spec.bpmn_id, kind, start.definition.name))
    return result


@dataclass
class _EventSubprocessStart:
    subscription_id: str  # stable per instance and start event: there is no task until it fires
    subprocess_name: str
    spec: Any
    definition: Any


def _event_subprocess_starts(workflow: BpmnWorkflow) -> list[_EventSubprocessStart]:
    """Message and signal starts of the process's event subprocesses that can fire now.

    SpiffWorkflow creates an event subprocess only when its event is caught, so these have no
    waiting task. An interrupting one that already fired can't fire again.
    """
    if workflow.is_completed():
        return []
    found = []
    for name in getattr(workflow.spec.start, "trigger_specs", []) or []:
        sub_spec = workflow.subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", []) or []:
            definition = start.event_definition
            if not isinstance(definition, MessageEventDefinition | SignalEventDefinition):
                continue
            if getattr(start, "interrupting", True) and workflow.get_tasks(spec_name=name):
                continue
            found.append(_EventSubprocessStart(str(uuid5(workflow.task_tree.id, f"{name}/{start.bpmn_id}")),
                                               name, start, definition))
    return found


def _fire_event_subprocess(workflow: BpmnWorkflow, start: _EventSubprocessStart) -> bool:
    """Create the event subprocess and move its start event, as SpiffWorkflow's catch would."""
    event = _event_for(start.definition, start.definition.name)
    workflow.event_manager.update_collaboration(event)
    fired = False
    for task in list(workflow.event_manager.tasks.values()):
        if task.task_spec is start.spec and task.task_spec.catches(task, event):
            task.task_spec.catch(task, event)
            task.task_spec._update(task)  # noqa: SLF001 - the same call EventManager.catch makes
            fired = True
            break
    if fired and getattr(start.spec, "interrupting", True):
        _interrupt_all_but(workflow, start.subprocess_name)
    return fired


def _interrupt_all_but(workflow: BpmnWorkflow, subprocess_name: str) -> None:
    """An interrupting event subprocess ends everything else in the process (BPMN 10.3.6)."""
    def in_event_subprocess(task: Task) -> bool:
        node: Task | None = task
        while node is not None:
            if node.task_spec.name == subprocess_name:
                return True
            node = node.parent
        return False

    # Only the process's own tasks: cancelling a subprocess task cancels what runs inside it.
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        if task.workflow is workflow and not task.has_state(TaskState.FINISHED_MASK) \
                and not in_event_subprocess(task):
            task.cancel()


def _event_for(definition: Any, name: str) -> BpmnEvent:
    # Event definitions match by exact class, so build the event from the waiting one's class.
    if isinstance(definition, CamundaMessageEventDefinition):
        return BpmnEvent(type(definition)(name), payload={"payload": None, "result_var": MESSAGE_SLOT})
    return BpmnEvent(type(definition)(name), payload={})


def _timer_due(definition: TimerEventDefinition, task: Task) -> datetime | None:
    try:
        value = definition.details(task).value
    except Exception:  # noqa: BLE001 - an unevaluated timer simply has no due date yet
        return None
    if isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def fire_timers(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()


def deliver_message(workflow: BpmnWorkflow, name: str, task_id: str | None = None) -> bool:
    """Trigger a waiting message catch event; returns False if nothing waits for ``name``.

    Message variables are written to the process scope by the caller before delivery (Camunda
    sets them before the token moves on), so the event itself carries no payload for Baton.
    """
    return _deliver(workflow, name, (MessageEventDefinition,), task_id)


def deliver_signal(workflow: BpmnWorkflow, name: str, task_id: str | None = None) -> bool:
    return _deliver(workflow, name, (SignalEventDefinition,), task_id)


def _deliver(workflow: BpmnWorkflow, name: str, kinds: tuple[type, ...], task_id: str | None) -> bool:
    delivered = False
    for task in list(workflow.event_manager.tasks.values()):
        if task_id is not None and str(task.id) != task_id:
            continue
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, kinds) or definition.name != name:
            continue
        event = _event_for(definition, name)
        if not task.task_spec.catches(task, event):
            continue
        task.task_spec.catch(task, event)
        task.task_spec._update(task)  # noqa: SLF001 - the same call EventManager.catch makes
        delivered = True
        if task_id is not None:
            return True
    for start in _event_subprocess_starts(workflow):
        if (task_id is None or start.subscription_id == task_id) and isinstance(start.definition, kinds) \
                and start.definition.name == name:
            delivered = _fire_event_subprocess(workflow, start) or delivered
    return delivered


def retry_failed(workflow: BpmnWorkflow, task_id: str | None = None) -> int:
    """Put failed tasks back to READY so the next run executes them again."""
    count = 0
    for task in error_tasks(workflow):
        if task_id is None or str(task.id) == task_id:
            task._set_state(TaskState.READY)  # noqa: SLF001 - Spiff offers no public "retry"
            count += 1
    return count


def cancel(workflow: BpmnWorkflow) -> None:
    workflow.cancel()
    for sub in list(workflow.subprocesses.values()):
        if not sub.completed:
            workflow.cancel(sub)


def is_finished(workflow: BpmnWorkflow) -> bool:
    return bool(workflow.completed) or workflow.is_completed()


def end_state(workflow: BpmnWorkflow) -> str:
    """COMPLETED, or INTERNALLY_TERMINATED when a terminate end event ended the process."""
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        spec = task.task_spec
        if isinstance(spec, EndEvent) and isinstance(getattr(spec, "event_definition", None),
                                                      TerminateEventDefinition):
            return "INTERNALLY_TERMINATED"
    return "COMPLETED"
