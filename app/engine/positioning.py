"""Token positioning for restart and process-instance modification (SpiffWorkflow 3.2.0).

SpiffWorkflow has no API to start a workflow "in the middle", so this module edits the task tree:

* a fresh workflow's root ``Start`` task is marked COMPLETED without running and its predicted
  children are dropped;
* for ``startBeforeActivity`` a child task for the activity is grafted under the scope's root and
  ``Task.reset_branch`` makes Spiff predict the rest and update it (READY / WAITING / STARTED);
* for ``startAfterActivity`` / ``startTransition`` the flow's *source* is grafted first as a
  COMPLETED task that never ran (flagged skipped) and the target under it, so a parallel join
  sees the token on the right incoming flow;
* an activity inside an embedded subprocess gets the subprocess placed first (Spiff starts it),
  then the subprocess's own start branch is dropped and the activity positioned inside it.

Private Spiff APIs used (pinned by tests/engine/test_positioning.py): ``Task._add_child`` (graft),
``Task._set_state`` (COMPLETED without running), ``Task._drop_children`` (discard predictions),
``TaskSpec._update`` (let a spec react, e.g. create its subprocess).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import EventSubprocess, SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

FlowIndex = dict[str, tuple[str, str]]  # sequence flow id -> (source BPMN id, target BPMN id)

SKIPPED_KEY = "baton_skipped"  # in Task.internal_data, which the serializer keeps
START_TYPES = ("startBeforeActivity", "startAfterActivity", "startTransition")
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Instruction:
    type: str  # "startBeforeActivity" | "startAfterActivity" | "startTransition" | "cancel"
    activity_id: str | None = None
    transition_id: str | None = None
    activity_instance_id: str | None = None  # cancel only: a Spiff task id (str(uuid))


class PositioningError(ValueError):
    """An instruction cannot be applied; the message names the element (maps to a 400)."""


def is_skipped(task: Task) -> bool:
    """True for a task grafted as an already-passed source: it never ran."""
    return bool(task.internal_data.get(SKIPPED_KEY))


@dataclass(frozen=True)
class _Step:
    scope: tuple[str, ...]  # names of embedded-subprocess task specs, outermost first
    target: TaskSpec  # spec to graft (an activity's BoundaryEventSplit when it has boundary events)
    source: TaskSpec | None = None  # grafted COMPLETED + skipped before the target


# ---------------------------------------------------------------------------------------------- planning


def _embedded(ts: SubWorkflowTask) -> bool:
    # Both parsers give an embedded subProcess a spec named after the element itself, a callActivity
    # the calledElement (CamundaParser even uses the CallActivity class for embedded subprocesses).
    return ts.spec == ts.bpmn_id


def _locate(spec: Any, subs: dict[str, Any], element_id: str) -> tuple[tuple[str, ...], TaskSpec]:
    """Find an element in the process or its embedded subprocesses: (scope, task spec)."""
    todo: list[tuple[tuple[str, ...], Any, str | None]] = [((), spec, None)]
    called: list[SubWorkflowTask] = []
    while todo:
        scope, proc, unsupported = todo.pop()
        ts = proc.task_specs.get(element_id)
        if ts is not None and getattr(ts, "bpmn_id", None) == element_id:
            if unsupported is not None:
                raise PositioningError(
                    f"Cannot position at '{element_id}': it is inside {unsupported}, which is not supported"
                )
            return scope, ts
        for sub in proc.task_specs.values():
            if not isinstance(sub, SubWorkflowTask) or sub.spec not in subs:
                continue
            if not _embedded(sub):
                called.append(sub)
                continue
            why = unsupported
            if isinstance(sub, EventSubprocess):
                why = why or f"event subprocess '{sub.bpmn_id}'"
            elif sub.name != sub.bpmn_id:  # the inner '<id> [child]' spec of a multi-instance/loop
                why = why or f"multi-instance or loop subprocess '{sub.bpmn_id}'"
            todo.append((scope + (sub.name,), subs[sub.spec], why))
    for ca in called:
        if element_id in subs[ca.spec].task_specs:
            raise PositioningError(
                f"Cannot position at '{element_id}': it belongs to process '{ca.spec}' called by call "
                f"activity '{ca.bpmn_id}'; start before the call activity instead"
            )
    if any(element_id in s.task_specs for s in subs.values()):
        raise PositioningError(f"Cannot position at '{element_id}': it is inside a called process")
    raise PositioningError(f"Activity '{element_id}' does not exist in process definition '{spec.name}'")


def _entry(ts: TaskSpec) -> TaskSpec:
    """The spec a token entering `ts` lands on: the boundary split arms the attached events."""
    split = ts._wf_spec.task_specs.get(f"{ts.name}.BoundaryEventSplit")
    return split if split is not None else ts


def _check_target(ts: TaskSpec) -> None:
    if isinstance(ts, BoundaryEvent):
        raise PositioningError(
            f"Cannot start before boundary event '{ts.bpmn_id}'; start before the activity it is "
            f"attached to or after the event"
        )
    if any(isinstance(i, EventBasedGateway) for i in ts.inputs):
        # Spiff moves these events' definitions into the gateway: alone they would not wait.
        raise PositioningError(
            f"Cannot start at '{ts.bpmn_id}': it follows an event-based gateway; start before the gateway"
        )


def _plan_transition(spec: Any, subs: dict[str, Any], flows: FlowIndex, flow_id: str) -> _Step:
    if flow_id not in flows:
        raise PositioningError(
            f"Sequence flow '{flow_id}' does not exist in process definition '{spec.name}'"
        )
    src_id, tgt_id = flows[flow_id]
    try:
        scope, source = _locate(spec, subs, src_id)
        tscope, target = _locate(spec, subs, tgt_id)
        _check_target(target)
    except PositioningError as exc:
        raise PositioningError(f"Sequence flow '{flow_id}': {exc}") from None
    entry = _entry(target)
    if tscope != scope or entry not in source.outputs:
        raise PositioningError(f"Sequence flow '{flow_id}' cannot be followed from '{src_id}' to '{tgt_id}'")
    return _Step(scope, entry, source)


def _plan(spec: Any, subs: dict[str, Any], flows: FlowIndex, ins: Instruction) -> _Step:
    if ins.type == "startTransition":
        if not ins.transition_id:
            raise PositioningError("For instruction type 'startTransition': 'transitionId' must be set")
        return _plan_transition(spec, subs, flows, ins.transition_id)
    if not ins.activity_id:
        raise PositioningError(f"For instruction type '{ins.type}': 'activityId' must be set")
    scope, ts = _locate(spec, subs, ins.activity_id)
    incoming = [f for f, (_, t) in flows.items() if t == ins.activity_id]
    outgoing = [f for f, (s, _) in flows.items() if s == ins.activity_id]
    if ins.type == "startAfterActivity":
        if len(outgoing) != 1:
            raise PositioningError(
                f"Cannot start after activity '{ins.activity_id}': it has {len(outgoing)} outgoing "
                f"sequence flows, exactly one is required"
            )
        return _plan_transition(spec, subs, flows, outgoing[0])
    _check_target(ts)
    if isinstance(ts, ParallelGateway) and len(incoming) == 1:
        # A parallel gateway only fires for tokens from its inputs' specs; a token with no source
        # would wait forever, so enter it through its single incoming flow.
        return _plan_transition(spec, subs, flows, incoming[0])
    return _Step(scope, _entry(ts))


def validate(spec: Any, subprocess_specs: dict[str, Any] | None, instructions: list[Instruction],
             flows: FlowIndex) -> None:
    """Check every instruction without building anything; raises PositioningError."""
    subs = subprocess_specs or {}
    for ins in instructions:
        if ins.type == "cancel":
            if (ins.activity_id is None) == (ins.activity_instance_id is None):
                raise PositioningError(
                    "For instruction type 'cancel': exactly one, 'activityId' or 'activityInstanceId', "
                    "is required"
                )
            if ins.activity_id is not None:
                _locate(spec, subs, ins.activity_id)
        elif ins.type in START_TYPES:
            _plan(spec, subs, flows, ins)
        else:
            raise PositioningError(f"Unsupported instruction type '{ins.type}'")


# ---------------------------------------------------------------------------------------------- grafting


class _Positioner:
    def __init__(self, workflow: BpmnWorkflow, data: dict | None = None) -> None:
        self.wf = workflow
        self.data = data  # variables for new tokens (modification); None: inherit from the scope root
        self.scopes: dict[tuple[str, ...], Task] = {(): workflow.task_tree}
        self.skipped: set[str] = set()

    @contextmanager
    def _data_on(self, parent: Task) -> Iterator[None]:
        # TaskSpec._update_hook merges the parent's data OVER the child's, so the only way to give a
        # new token other variables than its parent has is to lend them to the parent meanwhile.
        if self.data is None:
            yield
            return
        saved, parent.data = parent.data, deepcopy(self.data)
        try:
            yield
        finally:
            parent.data = saved

    def place(self, step: _Step) -> Task:
        parent = self._scope_root(step.scope)
        if step.source is not None:
            source = parent._add_child(step.source, TaskState.COMPLETED)
            source.data = deepcopy(parent.data if self.data is None else self.data)
            source.internal_data[SKIPPED_KEY] = True
            self.skipped.add(str(source.id))
            parent = source
        task = parent._add_child(step.target, TaskState.FUTURE)
        with self._data_on(parent):
            task.reset_branch(None)  # predict the rest of the branch and update the task (READY/WAITING)
        return task

    def _scope_root(self, scope: tuple[str, ...]) -> Task:
        """Root task of the subprocess instance for `scope`, created (or reused) on demand."""
        if scope in self.scopes:
            return self.scopes[scope]
        parent = self._scope_root(scope[:-1])
        running = [
            t for t in parent.workflow.tasks.values()
            if t.task_spec.name == scope[-1] and t.state == TaskState.STARTED and t.id in self.wf.subprocesses
        ]
        if len(running) > 1:
            raise PositioningError(f"Subprocess '{scope[-1]}' has several active instances: ambiguous")
        if running:
            root = self.wf.subprocesses[running[0].id].task_tree
        else:
            spec = parent.workflow.spec.task_specs[scope[-1]]
            placed = self.place(_Step(scope[:-1], _entry(spec)))
            sp_task = next(t for t in [placed, *placed.children] if t.task_spec is spec)
            if sp_task.id not in self.wf.subprocesses:
                # Behind a boundary split (only predicted so far): create the subprocess now
                # (SubWorkflowTask._update_hook does it); when the split runs, the STARTED task is kept.
                sp_task.task_spec._update(sp_task)
            root = self.wf.subprocesses[sp_task.id].task_tree
            # start_workflow ran the subprocess's Start: drop what it readied (its start event).
            root._drop_children(force=True)
        self.scopes[scope] = root
        return root

    # --- cancellation (modification only) ---

    def cancel(self, ins: Instruction, spec: Any, subs: dict[str, Any]) -> None:
        if ins.activity_instance_id is not None:
            try:
                task = self.wf.get_task_from_id(UUID(ins.activity_instance_id))
            except (ValueError, TaskNotFoundException):
                task = None
            if task is None or not task.has_state(_ACTIVE):
                raise PositioningError(f"Activity instance '{ins.activity_instance_id}' is not active")
            if task.triggered and isinstance(task.parent.task_spec, LoopTask):
                raise PositioningError(
                    f"Cannot cancel one instance of multi-instance activity '{task.task_spec.bpmn_id}'; "
                    f"cancel the activity"
                )
            _cancel(task)
            return
        _locate(spec, subs, ins.activity_id)
        targets = [
            t for t in _all_tasks(self.wf)
            if getattr(t.task_spec, "bpmn_id", None) == ins.activity_id and t.has_state(_ACTIVE)
            and not (isinstance(t.task_spec, BoundaryEvent) and t.state == TaskState.WAITING)
        ]
        for task in sorted(targets, key=lambda t: t.depth, reverse=True):  # MI instances before their body
            if task.has_state(_ACTIVE):
                _cancel(task)

    def end_empty_scopes(self) -> None:
        """Cancel subprocesses left without tokens, then the instance itself if nothing is left."""
        for sub in sorted(self.wf.subprocesses.values(), key=lambda s: s.depth, reverse=True):
            if not sub.completed and not _has_tokens(sub):
                sp_task = self.wf.get_task_from_id(sub.parent_task_id)
                if sp_task.has_state(_ACTIVE):
                    _cancel(sp_task)
        if not self.wf.completed and not _has_tokens(self.wf):
            self.wf.cancel()  # completed=True, success=False: see is_cancelled()


def _all_tasks(wf: BpmnWorkflow) -> list[Task]:
    tasks = list(wf.tasks.values())
    for sub in wf.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def _has_tokens(wf: Any) -> bool:
    return any(t.has_state(TaskState.DEFINITE_MASK) for t in wf.tasks.values())


def _cancel(task: Task) -> None:
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) and \
            not isinstance(task.task_spec, BoundaryEvent):
        # Boundary events live and die with their activity.
        for sibling in parent.children:
            if sibling is not task and sibling.state == TaskState.WAITING:
                sibling.cancel()
    task.cancel()  # CatchingEvent/SubWorkflowTask._on_cancel unregister events / cancel the subprocess


def _current_data(wf: BpmnWorkflow) -> dict:
    """Best guess of the process variables of a running top-level workflow (Spiff keeps data per task)."""
    data = deepcopy(wf.task_tree.data)
    tasks = [t for t in wf.tasks.values() if t.has_state(_ACTIVE)]
    if wf.last_task is not None and wf.last_task.workflow is wf:
        tasks.append(wf.last_task)
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        DeepMerge.merge(data, deepcopy(task.data))
    return data


# ---------------------------------------------------------------------------------------------- public API


def start_at(spec: Any, subprocess_specs: dict[str, Any] | None, instructions: list[Instruction],
             flows: FlowIndex, *, data: dict | None = None,
             script_engine: Any = None) -> tuple[BpmnWorkflow, set[str]]:
    """A fresh workflow positioned by the start instructions (in order; `cancel` ones are ignored).

    `data` becomes the root task's data (the initial variables). Engine steps are NOT run. Returns
    the workflow and the ids (str) of the tasks grafted as skipped (they never ran).
    """
    subs = subprocess_specs or {}
    starts = [ins for ins in instructions if ins.type != "cancel"]
    validate(spec, subs, starts, flows)
    steps = [_plan(spec, subs, flows, ins) for ins in starts]
    if not steps:
        raise PositioningError("Restart instructions cannot be empty: instructions is empty")
    wf = BpmnWorkflow(spec, subs, script_engine=script_engine)
    root = wf.task_tree
    root.data = deepcopy(data or {})
    # The root Start is READY after construction; complete it without running (it would ready the
    # start event) and drop its predicted children.
    root._set_state(TaskState.COMPLETED)
    root._drop_children(force=True)
    positioner = _Positioner(wf)
    for step in steps:
        positioner.place(step)
    return wf, positioner.skipped


def modify(workflow: BpmnWorkflow, instructions: list[Instruction], flows: FlowIndex, *,
           data: dict | None = None) -> set[str]:
    """Process-instance modification of a running workflow, instructions in order.

    `cancel` by activity id cancels all its active instances (with their boundary events and
    subprocess contents); by activity instance id, that task. New tokens get `data` (default: a merge
    of the root data and the active tasks' data, taken before any instruction runs). Afterwards
    subprocesses without tokens are cancelled, and if no token is left the workflow is cancelled
    (see is_cancelled). Engine steps are NOT run. Returns the ids of tasks grafted as skipped.
    """
    if not instructions:
        return set()
    spec, subs = workflow.spec, workflow.subprocess_specs
    validate(spec, subs, instructions, flows)
    steps = [_plan(spec, subs, flows, ins) if ins.type in START_TYPES else None for ins in instructions]
    positioner = _Positioner(workflow, _current_data(workflow) if data is None else data)
    for ins, step in zip(instructions, steps, strict=True):
        if step is None:
            positioner.cancel(ins, spec, subs)
        else:
            positioner.place(step)
    positioner.end_empty_scopes()
    return positioner.skipped


def is_cancelled(workflow: BpmnWorkflow) -> bool:
    """True when the workflow ended by cancellation (Workflow.cancel sets success=False), not at an end."""
    return bool(workflow.completed and not workflow.success)
