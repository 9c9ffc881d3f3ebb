"""Message correlation and signals (contract 10.1 and 11.1).

Targets come from ``event_subscription`` rows (written at every save), so finding who waits
needs no instance loads; only the instances that are actually triggered get loaded.

Decisions (Baton choices, documented here once):

* **One transaction per request.** ``all=true`` correlations and signals change every target
  in the same ``run_command`` transaction, as Camunda does in one command: a conflict with
  another writer re-runs the whole request on fresh state, and nothing is half-delivered.
* **localCorrelationKeys** are matched against the instance's process variables. Baton keeps
  no separate activity-local variables (SpiffWorkflow tasks see the process data), so the
  variables the waiting activity sees *are* the process variables.
* **processVariablesLocal / processVariablesToTriggeredScope** are written into the triggered
  task's data after ``processVariables``; the token carries them on, so they end up in the
  process scope too. For start events they are start variables.
* A correlation key with an explicit ``type`` matches only a variable of that type; without a
  type, numbers match across Integer/Long/Double (query semantics of ``variable_condition``).
* Suspended instances and suspended definitions are never targets.
* Message start events are considered only when no execution matches and no
  ``processInstanceId`` is given (contract 10.1, for ``all=false`` and ``all=true`` alike).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import StartEventSplit
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from app import values
from app.engine import runtime
from app.engine.parsing import BpmnParseError
from app.errors import BatonError, InvalidRequest, ProcessFailure
from app.services import instance_state as state
from app.services.context import Context
from app.services.instances import read_variables
from app.store import models as m
from app.store.querying import variable_condition

log = logging.getLogger("baton.correlation")

PI, ES, PD = m.ProcessInstance, m.EventSubscription, m.ProcessDefinition
MISMATCH = "org.camunda.bpm.engine.MismatchingMessageCorrelationException"


@dataclass(frozen=True)
class CorrelationKey:
    value: values.TypedValue
    #: The request named a type: only a variable of exactly that type matches.
    explicit_type: bool = False


@dataclass
class MessageRequest:
    message_name: str
    business_key: str | None = None
    process_instance_id: str | None = None
    tenant_id: str | None = None
    without_tenant_id: bool = False
    correlation_keys: dict[str, CorrelationKey] = field(default_factory=dict)
    local_correlation_keys: dict[str, CorrelationKey] = field(default_factory=dict)
    process_variables: dict[str, values.TypedValue] = field(default_factory=dict)
    process_variables_local: dict[str, values.TypedValue] = field(default_factory=dict)
    all: bool = False
    variables_in_result: bool = False


@dataclass
class CorrelationResult:
    result_type: str  # "Execution" | "ProcessDefinition"
    instance: m.ProcessInstance
    execution_id: str | None = None
    variables: dict[str, values.TypedValue] | None = None

    @property
    def ended(self) -> bool:
        return self.instance.end_time is not None


@dataclass
class SignalRequest:
    name: str
    execution_id: str | None = None
    tenant_id: str | None = None
    without_tenant_id: bool = False
    variables: dict[str, values.TypedValue] = field(default_factory=dict)


@dataclass(frozen=True)
class _Waiting:
    instance_id: str
    execution_id: str


# --------------------------------------------------------------------------------------------
# Messages


def correlate_message(ctx: Context, request: MessageRequest) -> list[CorrelationResult]:
    """Deliver a message to its target(s); raises the 400 mismatch when ``all=false`` finds not one."""
    name = request.message_name

    def command(session: Session) -> list[CorrelationResult]:
        waiting = _waiting(session, "message", name, _message_filters(request))
        starts: list[tuple[m.ProcessDefinition, str]] = []
        if not waiting and request.process_instance_id is None:
            starts = _start_events(ctx, session, "messageStartEvent", name, request.tenant_id,
                                   request.without_tenant_id)
        if not request.all:
            if len(waiting) > 1:
                raise _mismatch(name, f"{len(waiting)} executions match the correlation keys: "
                                      f"{_describe(request)}")
            if len(starts) > 1:
                ids = ", ".join(d.id for d, _ in starts)
                raise _mismatch(name, f"{len(starts)} process definitions match the message start event: {ids}")
            if not waiting and not starts:
                raise _mismatch(name, "No process definition or execution matches the parameters")

        variables = {**request.process_variables, **request.process_variables_local}
        results: list[CorrelationResult] = []
        for instance_id, executions in _by_instance(waiting).items():
            row = _trigger(ctx, session, instance_id, executions, request.process_variables,
                           request.process_variables_local, lambda wf, t: runtime.deliver_message(wf, name, t))
            results.extend(CorrelationResult("Execution", row, e) for e in executions)
        for definition, activity_id in starts:
            row = _start(ctx, session, definition, activity_id, request.business_key, variables,
                         lambda wf, t: runtime.deliver_message(wf, name, t))
            results.append(CorrelationResult("ProcessDefinition", row))
        if request.variables_in_result:
            for result in results:
                result.variables = read_variables(session, result.instance.id)
        return results

    return state.run_command(ctx, command)


def _mismatch(name: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"{MISMATCH}: Cannot correlate message '{name}': {reason}", camunda_type="RestException")


def _describe(request: MessageRequest) -> str:
    keys = {**request.correlation_keys, **request.local_correlation_keys}
    parts = [f"businessKey={request.business_key}", f"processInstanceId={request.process_instance_id}",
             "correlationKeys={" + ", ".join(f"{n}={k.value.value!r}" for n, k in keys.items()) + "}"]
    return "[" + ", ".join(parts) + "]"


def _message_filters(request: MessageRequest) -> list[Any]:
    conds: list[Any] = _tenant_filters(PI.tenant_id, request.tenant_id, request.without_tenant_id)
    if request.business_key is not None:
        conds.append(PI.business_key == request.business_key)
    if request.process_instance_id is not None:
        conds.append(PI.id == request.process_instance_id)
    for keys in (request.correlation_keys, request.local_correlation_keys):
        conds.extend(_key_condition(name, key) for name, key in keys.items())
    return conds


def _key_condition(name: str, key: CorrelationKey) -> Any:
    """The instance has a process variable ``name`` equal to the key (typed if the key names a type)."""
    v, tv = m.Variable, key.value
    own = [v.process_instance_id == PI.id, v.name == name, v.state == "CREATED"]
    if key.explicit_type:
        own.append(v.type == tv.type)
    if tv.value is None:
        # A (typed) null: the stored value is null whatever its type.
        return exists(select(v.id).where(*own, v.text_value.is_(None), v.long_value.is_(None),
                                         v.double_value.is_(None)))
    if tv.type == "Json":
        # Json is stored as compact text; compare documents in that form.
        text = json.dumps(tv.value, separators=(",", ":"))[:4000]
        return exists(select(v.id).where(*own, v.type == "Json", v.text_value == text))
    condition = variable_condition(PI.id, name, "eq", tv.value)
    return and_(condition, exists(select(v.id).where(*own))) if key.explicit_type else condition


# --------------------------------------------------------------------------------------------
# Signals


def throw_signal(ctx: Context, request: SignalRequest) -> None:
    """Deliver a signal to every waiting execution (or one) and start signal-start definitions."""
    name = request.name

    def command(session: Session) -> None:
        if request.execution_id is not None:
            waiting = [_signal_execution(session, name, request.execution_id)]
            starts: list[tuple[m.ProcessDefinition, str]] = []
        else:
            waiting = _waiting(session, "signal", name,
                               _tenant_filters(PI.tenant_id, request.tenant_id, request.without_tenant_id))
            starts = _start_events(ctx, session, "signalStartEvent", name, request.tenant_id,
                                   request.without_tenant_id)
        for instance_id, executions in _by_instance(waiting).items():
            _trigger(ctx, session, instance_id, executions, request.variables, {},
                     lambda wf, t: runtime.deliver_signal(wf, name, t))
        for definition, activity_id in starts:
            _start(ctx, session, definition, activity_id, None, request.variables,
                   lambda wf, t: runtime.deliver_signal(wf, name, t))

    state.run_command(ctx, command)


def _signal_execution(session: Session, name: str, execution_id: str) -> _Waiting:
    """The one subscription of ``executionId``; Camunda answers 500 for unknown or unsubscribed ones."""
    sub = session.execute(select(ES.process_instance_id).join(PI, PI.id == ES.process_instance_id).where(
        ES.execution_id == execution_id, ES.event_type == "signal", ES.event_name == name,
        PI.end_time.is_(None), PI.state == "ACTIVE")).first()
    if sub is not None:
        return _Waiting(sub[0], execution_id)
    if not _execution_exists(session, execution_id):
        raise BatonError(f"Cannot find execution with id '{execution_id}': execution is null",
                         camunda_type="NullValueException", status=500)
    raise BatonError(f"Execution '{execution_id}' has not subscribed to a signal event with name '{name}'.",
                     camunda_type="ProcessEngineException", status=500)


def _execution_exists(session: Session, execution_id: str) -> bool:
    running = select(PI.id).where(PI.id == execution_id, PI.end_time.is_(None))
    waits = select(ES.id).where(ES.execution_id == execution_id)
    active = select(m.ActivityInstance.id).where(m.ActivityInstance.execution_id == execution_id,
                                                 m.ActivityInstance.end_time.is_(None))
    return any(session.execute(q.limit(1)).first() is not None for q in (running, waits, active))


# --------------------------------------------------------------------------------------------
# Shared: finding targets, triggering them


def _tenant_filters(column: Any, tenant_id: str | None, without_tenant_id: bool) -> list[Any]:
    if without_tenant_id:
        return [column.is_(None)]
    if tenant_id is not None:
        return [column == tenant_id]
    return []


def _waiting(session: Session, kind: str, name: str, conds: list[Any]) -> list[_Waiting]:
    """Waiting executions of running, active instances, oldest subscription first."""
    query = (select(ES.process_instance_id, ES.execution_id).join(PI, PI.id == ES.process_instance_id)
             .where(ES.event_type == kind, ES.event_name == name, PI.end_time.is_(None), PI.state == "ACTIVE",
                    *conds)
             .order_by(ES.created, ES.id))
    return [_Waiting(instance_id, execution_id) for instance_id, execution_id in session.execute(query)]


def _by_instance(waiting: list[_Waiting]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for item in waiting:
        grouped.setdefault(item.instance_id, []).append(item.execution_id)
    return grouped


def _start_events(ctx: Context, session: Session, activity_type: str, name: str, tenant_id: str | None,
                  without_tenant_id: bool) -> list[tuple[m.ProcessDefinition, str]]:
    """(definition, start event id) for the latest, active definitions with such a top-level start event.

    Deployments do not record event start names, so each latest definition's model index is
    read (from the spec cache; parsed once per definition).
    """
    newer = aliased(PD)
    is_latest = ~exists(select(newer.id).where(
        newer.key == PD.key, newer.version > PD.version,
        (newer.tenant_id == PD.tenant_id) | (newer.tenant_id.is_(None) & PD.tenant_id.is_(None))))
    query = select(PD).where(is_latest, PD.suspended.is_(False),
                             *_tenant_filters(PD.tenant_id, tenant_id, without_tenant_id))
    found: list[tuple[m.ProcessDefinition, str]] = []
    for definition in session.scalars(query.order_by(PD.deployed_at, PD.id)):
        try:
            index = state.load_process(ctx, session, definition).index
        except BpmnParseError:
            log.warning("Definition %s cannot be loaded; skipped for %s", definition.id, activity_type)
            continue
        for act in index.activities.values():
            event_name = act.message_name if activity_type == "messageStartEvent" else act.signal_name
            if act.activity_type == activity_type and act.parent_id is None and event_name == name:
                found.append((definition, act.id))
    return found


Deliver = Callable[[Any, str], bool]


def _trigger(ctx: Context, session: Session, instance_id: str, executions: list[str],
             variables: dict[str, values.TypedValue], local: dict[str, values.TypedValue],
             deliver: Deliver) -> m.ProcessInstance:
    """Write variables, then move every given execution of one instance, run it and save it."""
    # Lock the row before loading: otherwise a racing writer on PostgreSQL is only noticed when our
    # history rows collide with its rows (IntegrityError, a 500) instead of as a retryable conflict.
    session.execute(select(PI).where(PI.id == instance_id).with_for_update()
                    .execution_options(populate_existing=True))
    live = state.load(ctx, session, instance_id)
    live.declared.update(variables)
    live.declared.update(local)
    # Camunda sets the variables before the token moves, so the next activities already see them.
    runtime.set_variables(live.workflow, {n: values.to_engine(tv) for n, tv in variables.items()})
    for execution_id in executions:
        if local:
            task = runtime.find_task(live.workflow, execution_id)
            if task is not None:
                task.data.update({n: values.to_engine(tv) for n, tv in local.items()})
        if not deliver(live.workflow, execution_id):
            # The subscription we read is gone: another writer moved the instance. Retry afresh.
            raise StaleDataError(f"execution {execution_id} of {instance_id} no longer waits")
    live.failure = runtime.run(live.workflow)
    state.save(ctx, session, live)
    return live.row


def _start(ctx: Context, session: Session, definition: m.ProcessDefinition, activity_id: str,
           business_key: str | None, variables: dict[str, values.TypedValue], deliver: Deliver) -> m.ProcessInstance:
    """A new instance that begins at the message/signal start event ``activity_id``."""
    live = state.create(ctx, session, definition, variables=dict(variables), business_key=business_key,
                        start_activity_id=activity_id)
    _fire_start_event(live.workflow, activity_id, deliver)
    live.failure = runtime.run(live.workflow)
    state.save(ctx, session, live)
    return live.row


def _fire_start_event(workflow: Any, activity_id: str, deliver: Deliver) -> None:
    """Start a fresh workflow at one event start event (SpiffWorkflow 3.2.0 has no API for it).

    Running the workflow normally would fire a none start event first. Instead only the
    ancestors of the wanted start event are run (``Start``, and ``StartEventSplit`` when the
    process has several start events), which leaves the event WAITING in the event manager;
    the other start events are cancelled, then the event is delivered like any catch event.
    """
    target = next((t for t in workflow.get_tasks() if t.task_spec.bpmn_id == activity_id), None)
    if target is None:
        raise ProcessFailure(f"The start event {activity_id} is not part of the process")
    ancestors = []
    parent = target.parent
    while parent is not None:
        ancestors.insert(0, parent)
        parent = parent.parent
    for ancestor in ancestors:
        if ancestor.state == TaskState.READY:
            ancestor.run()
    if target.state != TaskState.WAITING:
        raise ProcessFailure(f"The start event {activity_id} cannot be triggered")
    if target.parent is not None and isinstance(target.parent.task_spec, StartEventSplit):
        for sibling in target.parent.children:
            if sibling is not target and not sibling.has_state(TaskState.FINISHED_MASK):
                sibling.cancel()
    if not deliver(workflow, str(target.id)):
        raise ProcessFailure(f"The start event {activity_id} did not accept the event")
