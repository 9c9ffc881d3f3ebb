"""Process instances at runtime: start, read, delete, variables, activity tree, suspension."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import values
from app.engine import runtime
from app.errors import InvalidRequest, NotFound
from app.services import instance_state as state
from app.services.context import Context, utcnow
from app.services.definitions import find_definition, find_latest_by_key
from app.store import models as m


@dataclass
class StartRequest:
    definition_id: str | None = None
    key: str | None = None
    tenant_id: str | None = None
    business_key: str | None = None
    variables: dict[str, values.TypedValue] | None = None
    #: Positioning instructions (app.engine.positioning.Instruction); empty/None = none start event.
    start_instructions: list[Any] | None = None
    #: Read the new instance's variables back for the answer (``withVariablesInReturn``).
    with_variables: bool = False


@dataclass
class Started:
    instance: m.ProcessInstance
    definition: m.ProcessDefinition
    variables: dict[str, values.TypedValue]  # empty unless the request asked for them


def _definition_for(session: Session, request: StartRequest) -> m.ProcessDefinition:
    if request.definition_id is not None:
        return find_definition(session, request.definition_id)
    assert request.key is not None
    return find_latest_by_key(session, request.key, request.tenant_id)


def _check_startable(definition: m.ProcessDefinition) -> None:
    if definition.suspended:
        raise InvalidRequest(f"Cannot start process instance. Process definition {definition.id} "
                             "is suspended", camunda_type="RestException")


def start_instance(ctx: Context, request: StartRequest) -> Started:
    started_at = utcnow()
    variables = dict(request.variables or {})
    start_activity = None
    with ctx.db.transaction(readonly=True) as session:
        definition = _definition_for(session, request)
        _check_startable(definition)
        if request.start_instructions:
            from app.services.positioning import positioned_workflow

            workflow, start_activity = positioned_workflow(ctx, session, definition, request.start_instructions,
                                                           variables)
        elif not definition.has_none_start:
            raise InvalidRequest(f"Cannot instantiate process definition {definition.id}: "
                                 "process has no none start event")
        else:
            process = state.load_process(ctx, session, definition)
            workflow = runtime.new_workflow(process.spec, process.subprocess_specs, ctx.engine_for(definition),
                                            {name: values.to_engine(tv) for name, tv in variables.items()})
    # A new instance has nothing to lock, so it runs before the write transaction: on SQLite
    # writers go one at a time, and the run is most of a start's work.
    failure = runtime.run(workflow)

    def command(session: Session) -> Started:
        current = find_definition(session, definition.id)  # deleted or suspended meanwhile?
        _check_startable(current)
        live = state.create(ctx, session, current, variables=variables, business_key=request.business_key,
                            start_activity_id=start_activity, workflow=workflow, start_time=started_at)
        live.failure = failure
        state.save(ctx, session, live)
        return Started(live.row, current, read_variables(session, live.row.id) if request.with_variables else {})
    return state.run_command(ctx, command)


def find_running(session: Session, instance_id: str) -> m.ProcessInstance:
    row = session.get(m.ProcessInstance, instance_id)
    if row is None or row.end_time is not None:
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    return row


def get_instance(ctx: Context, instance_id: str) -> m.ProcessInstance:
    with ctx.db.transaction(readonly=True) as session:
        return find_running(session, instance_id)


def read_variables(session: Session, instance_id: str, names: list[str] | None = None) -> dict[str, values.TypedValue]:
    query = select(m.Variable).where(m.Variable.process_instance_id == instance_id, m.Variable.state == "CREATED")
    if names:
        query = query.where(m.Variable.name.in_(names))
    return {row.name: state.stored_value(row) for row in session.scalars(query.order_by(m.Variable.name))}


def get_variables(ctx: Context, instance_id: str) -> dict[str, values.TypedValue]:
    with ctx.db.transaction(readonly=True) as session:
        find_running(session, instance_id)
        return read_variables(session, instance_id)


def get_variable(ctx: Context, instance_id: str, name: str) -> values.TypedValue:
    with ctx.db.transaction(readonly=True) as session:
        find_running(session, instance_id)
        found = read_variables(session, instance_id, [name])
        if name not in found:
            raise NotFound(f"process instance variable with name {name} does not exist")
        return found[name]


def modify_variables(ctx: Context, instance_id: str, modifications: dict[str, values.TypedValue],
                     deletions: list[str] | None = None) -> None:
    """Set and delete process-scope variables; deletions win over modifications of the same name."""
    deletions = list(deletions or [])

    def command(session: Session) -> None:
        live = state.load(ctx, session, instance_id)
        changes = {n: values.to_engine(tv) for n, tv in modifications.items() if n not in deletions}
        live.declared.update({n: tv for n, tv in modifications.items() if n not in deletions})
        runtime.set_variables(live.workflow, changes, deletions)
        state.save(ctx, session, live)
    state.run_command(ctx, command)


def delete_instance(ctx: Context, instance_id: str, *, fail_if_not_exists: bool = True,
                    reason: str | None = None) -> None:
    def command(session: Session) -> None:
        row = session.get(m.ProcessInstance, instance_id)
        if row is None or row.end_time is not None:
            if fail_if_not_exists:
                raise NotFound(f"Process instance with id {instance_id} does not exist")
            return
        terminate_instances(ctx, session, [instance_id], reason=reason)
    state.run_command(ctx, command)


def terminate_instances(ctx: Context, session: Session, instance_ids: list[str], reason: str | None = None) -> None:
    """End running instances from outside (history state EXTERNALLY_TERMINATED)."""
    for instance_id in instance_ids:
        live = state.load(ctx, session, instance_id)
        runtime.cancel(live.workflow)
        state.save(ctx, session, live, end_state="EXTERNALLY_TERMINATED", delete_reason=reason)


def set_suspended(ctx: Context, instance_id: str, suspended: bool) -> None:
    with ctx.db.transaction() as session:
        row = find_running(session, instance_id)
        _suspend_rows(session, [row.id], suspended)


def set_instances_suspended(session: Session, definition_ids: list[str], suspended: bool) -> None:
    ids = list(session.scalars(select(m.ProcessInstance.id).where(
        m.ProcessInstance.definition_id.in_(definition_ids), m.ProcessInstance.end_time.is_(None))))
    _suspend_rows(session, ids, suspended)


def _suspend_rows(session: Session, ids: list[str], suspended: bool) -> None:
    if not ids:
        return
    for row in session.scalars(select(m.ProcessInstance).where(m.ProcessInstance.id.in_(ids))):
        row.state = "SUSPENDED" if suspended else "ACTIVE"
    session.execute(update(m.Task).where(m.Task.process_instance_id.in_(ids)).values(suspended=suspended))
    session.execute(update(m.Job).where(m.Job.process_instance_id.in_(ids)).values(suspended=suspended))


def require_active(row: m.ProcessInstance) -> None:
    if row.state == "SUSPENDED":
        raise InvalidRequest(f"ProcessInstance with id '{row.id}' is suspended", camunda_type="RestException")


@dataclass
class ActivityNode:
    id: str
    activity_id: str
    activity_type: str
    activity_name: str | None
    parent_id: str | None
    execution_ids: list[str]
    incident_ids: list[str]
    children: list[ActivityNode]


def activity_tree(ctx: Context, instance_id: str) -> tuple[m.ProcessInstance, m.ProcessDefinition, ActivityNode]:
    with ctx.db.transaction(readonly=True) as session:
        row = find_running(session, instance_id)
        definition = find_definition(session, row.definition_id)
        open_rows = list(session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.process_instance_id == instance_id, m.ActivityInstance.end_time.is_(None))
            .order_by(m.ActivityInstance.seq)))
        incidents = list(session.scalars(select(m.Incident).where(
            m.Incident.process_instance_id == instance_id, m.Incident.status == "open")))
    root = ActivityNode(row.id, definition.id, "processDefinition", definition.name, None, [row.id],
                        [], [])
    nodes = {root.id: root}
    for act in open_rows:
        nodes[act.id] = ActivityNode(act.id, act.activity_id, act.activity_type, act.activity_name,
                                     act.parent_activity_instance_id, [act.execution_id],
                                     [i.id for i in incidents if i.execution_id == act.execution_id], [])
    for act in open_rows:
        parent = nodes.get(act.parent_activity_instance_id or row.id, root)
        parent.children.append(nodes[act.id])
    return row, definition, root


def initial_variables(row: m.ProcessInstance) -> dict[str, values.TypedValue]:
    if not row.initial_variables:
        return {}
    return {n: values.from_storage(d) for n, d in json.loads(row.initial_variables).items()}

