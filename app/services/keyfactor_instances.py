"""Keyfactor workflow instances: start, read, list, delete, stop, restart (contract 9 and 11).

An instance is a process instance of the compiled definition plus a ``keyfactor_instance``
row. Identity: Keyfactor shows the caller as ``DOMAIN\\user``; Baton's users are plain names,
so the initiator is stored as the plain user id and ``InitiatingUserName`` queries accept both
forms (the domain part of a query value is ignored).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, select, true
from sqlalchemy.orm import Session

from app import values
from app.engine import runtime
from app.errors import Forbidden, InvalidRequest, NotFound
from app.services import identity
from app.services import instance_state as state
from app.services.context import Actor, Context, utcnow
from app.services.keyfactor_definitions import deployed_version, parse_guid
from app.services.keyfactor_paging import ListRequest, Sortable
from app.services.keyfactor_query import (
    DATE,
    GUID,
    NUMBER,
    STATUS,
    STATUS_NAMES,
    STRING,
    Field,
    parse,
    to_sql,
)
from app.services.keyfactor_views import (
    FAILED,
    KI,
    PI,
    SUSPENDED,
    InstanceView,
    current_step_name_expression,
    load_pair,
    render,
    render_one,
    status_expression,
)
from app.store import keyfactor_models as k
from app.store import models as m

READ_ALL = "/workflows/instances/read/"
READ_MINE = "/workflows/instances/read/mine/"
READ_PENDING = "/workflows/instances/read/pending/"
MANAGE = "/workflows/instances/manage/"


def has_claim(actor: Actor | None, claim: str) -> bool:
    return actor is None or actor.is_admin or claim in actor.claims


def require_any(actor: Actor | None, *claims: str) -> None:
    """ReadAll includes ReadMy and ReadAssignedToMe, so list endpoints accept any of a few claims."""
    if not any(has_claim(actor, claim) for claim in claims):
        assert actor is not None
        raise Forbidden(f"The user '{actor.user_id}' needs one of the permissions {', '.join(claims)}")


def _domainless(text: str) -> str:
    # "DOMAIN\\user" and "user" name the same Baton user; a query value keeps what follows the backslash.
    return text.rsplit("\\", 1)[1] if "\\" in text else text


INSTANCE_FIELDS = {
    "DefinitionId": Field("DefinitionId", GUID), "Id": Field("Id", GUID),
    "InitiatingUserName": Field("InitiatingUserName", STRING, transform=_domainless),
    "LastModified": Field("LastModified", DATE), "ReferenceId": Field("ReferenceId", NUMBER),
    "StartDate": Field("StartDate", DATE), "Status": Field("Status", STATUS), "Title": Field("Title", STRING),
    "WorkflowType": Field("WorkflowType", STRING),
}


def _columns() -> dict[str, Any]:
    return {"DefinitionId": KI.definition_id, "Id": KI.process_instance_id, "InitiatingUserName": KI.initiator,
            "LastModified": KI.last_modified, "ReferenceId": KI.reference_id, "StartDate": PI.start_time,
            "Status": status_expression(), "Title": KI.title, "WorkflowType": KI.workflow_type}


def _sortable() -> Sortable:
    # Text sorts ignore case, as Keyfactor's collation does (SQLite's default collation would not).
    columns = {name.lower(): func.lower(column) if INSTANCE_FIELDS[name].type == STRING else column
               for name, column in _columns().items()}
    step = func.lower(current_step_name_expression())
    columns.update({"currentstepdisplayname": step, "currentstepuniquename": step, "currentstepid": step,
                    "statusmessage": func.lower(KI.status_message)})
    return Sortable(columns, "CurrentStepDisplayName")


def assigned_condition(actor: Actor | None) -> ColumnElement[bool]:
    """Suspended at a step whose signal roles include one of the caller's, not yet answered by the caller."""
    if actor is None:
        return status_expression() == SUSPENDED
    if not actor.role_ids:
        return false()
    task, role, record = m.Task, k.ApprovalRole, k.SignalRecord
    answered = exists(select(record.id).where(
        record.process_instance_id == task.process_instance_id, record.activity_id == task.task_definition_key,
        record.user_id == actor.user_id, record.accepted.is_(True)))
    waiting_for_me = exists(select(task.id).join(role, and_(
        role.process_definition_id == task.definition_id, role.activity_id == task.task_definition_key))
        .where(task.process_instance_id == PI.id, role.role_id.in_(actor.role_ids), ~answered))
    return and_(status_expression() == SUSPENDED, waiting_for_me)


def is_assigned(view: InstanceView, actor: Actor | None, answered: bool) -> bool:
    if view.status != SUSPENDED or view.waiting_step is None:
        return False
    if actor is None:
        return True
    roles = {int(r) for s in view.waiting_step.get("Signals") or [] for r in s.get("RoleIds") or []}
    return bool(roles & set(actor.role_ids)) and not answered


def has_answered(session: Session, instance_id: str, activity_id: str | None, user_id: str | None) -> bool:
    return session.scalars(select(k.SignalRecord.id).where(
        k.SignalRecord.process_instance_id == instance_id, k.SignalRecord.activity_id == activity_id,
        k.SignalRecord.user_id == user_id, k.SignalRecord.accepted.is_(True)).limit(1)).first() is not None


# --------------------------------------------------------------------------------------------
# Reading


def list_instances(ctx: Context, request: ListRequest, kind: str = "all") -> list[InstanceView]:
    """``kind``: "all" (Instances), "my" (Instances/My), "assigned" (Instances/AssignedToMe)."""
    actor = ctx.actor
    scope: ColumnElement[bool] = true()
    if kind == "all":
        identity.require_claim(actor, READ_ALL)
    elif kind == "my":
        require_any(actor, READ_ALL, READ_MINE)
        if actor is not None:
            scope = KI.initiator == actor.user_id
    else:
        require_any(actor, READ_ALL, READ_PENDING)
        scope = assigned_condition(actor)
    node = parse(request.query, INSTANCE_FIELDS)
    order = _sortable().resolve(request.sort_field)
    order = order.desc().nulls_last() if request.descending else order.asc().nulls_first()
    query = (select(KI, PI).join(PI, PI.id == KI.process_instance_id)
             .where(scope, to_sql(node, _columns()))
             .order_by(order, KI.reference_id).offset(request.offset).limit(request.limit))
    with ctx.db.transaction() as session:
        return render(session, [(ki, pi) for ki, pi in session.execute(query).all()])


def _pair(session: Session, instance_id: str, *, lock: bool = False) -> tuple[k.KeyfactorInstance, m.ProcessInstance]:
    guid = parse_guid(instance_id, "Workflow instance")
    pair = load_pair(session, guid, lock=lock)
    if pair is None:
        raise NotFound(f"Workflow instance '{instance_id}' does not exist")
    return pair


def get_instance(ctx: Context, instance_id: str) -> InstanceView:
    actor = ctx.actor
    require_any(actor, READ_ALL, READ_MINE, READ_PENDING)
    with ctx.db.transaction() as session:
        ki, pi = _pair(session, instance_id)
        view = render_one(session, ki, pi)
        if has_claim(actor, READ_ALL):
            return view
        assert actor is not None
        if has_claim(actor, READ_MINE) and ki.initiator == actor.user_id:
            return view
        if has_claim(actor, READ_PENDING) and is_assigned(
                view, actor, has_answered(session, pi.id, view.waiting_activity_id, actor.user_id)):
            return view
        raise Forbidden(f"The user '{actor.user_id}' may not read workflow instance '{view.id}'")


# --------------------------------------------------------------------------------------------
# Starting


def _initial_data(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidRequest("InitialData must be a JSON object")
    for key in data:
        if not isinstance(key, str) or not key:
            raise InvalidRequest("The keys of InitialData must be non-empty strings")
    return data


def _create(ctx: Context, session: Session, process_definition_id: str, version: k.WorkflowDefinitionVersion,
            workflow_type: str, *, title: str | None, initial_data: dict[str, Any], initiator: str | None,
            restarted_from: str | None = None) -> tuple[k.KeyfactorInstance, m.ProcessInstance]:
    """A new instance, run until it waits, fails or ends (one transaction with its Keyfactor row)."""
    definition = session.get(m.ProcessDefinition, process_definition_id)
    if definition is None:
        raise InvalidRequest(f"The deployment of version {version.version} of workflow definition "
                             f"'{version.definition_id}' no longer exists; publish it again")
    variables = {name: values.infer(value) for name, value in initial_data.items()}
    live = state.create(ctx, session, definition, variables=variables, business_key=None,
                        restarted_from=restarted_from)
    live.row.start_user_id = initiator
    live.failure = runtime.run(live.workflow)
    state.save(ctx, session, live)
    ki = KI(process_instance_id=live.row.id, definition_id=version.definition_id, version_id=version.id,
            definition_version=version.version, definition_display_name=version.display_name,
            workflow_type=workflow_type, title=title, initiator=initiator, initial_data=initial_data,
            last_modified=live.row.start_time)
    session.add(ki)
    session.flush()
    return ki, live.row


def start_instance(ctx: Context, *, definition_id: Any, initial_data: Any = None, title: Any = None) -> InstanceView:
    identity.require_claim(ctx.actor, MANAGE)
    if not isinstance(definition_id, str):
        raise InvalidRequest("DefinitionId is required (a GUID)")
    try:
        guid = str(uuid.UUID(definition_id.strip()))
    except ValueError:
        raise InvalidRequest(f"DefinitionId '{definition_id}' is not a GUID") from None
    data = _initial_data(initial_data)
    if title is not None and not isinstance(title, str):
        raise InvalidRequest("Title must be a string")
    try:
        definition, version, process = deployed_version(ctx, guid, None)
    except NotFound as error:
        raise InvalidRequest(error.message) from None  # the id is in the body, not the path

    def command(session: Session) -> InstanceView:
        ki, pi = _create(ctx, session, process.id, version, definition.workflow_type, title=title or
                         version.display_name, initial_data=data, initiator=ctx.user_id)
        return render_one(session, ki, pi)
    return state.run_command(ctx, command)


# --------------------------------------------------------------------------------------------
# Changing


def _terminate(ctx: Context, session: Session, pi: m.ProcessInstance, reason: str) -> None:
    if pi.end_time is None and pi.state_json is not None:
        live = state.load(ctx, session, pi.id)
        runtime.cancel(live.workflow)
        state.save(ctx, session, live, end_state="EXTERNALLY_TERMINATED", delete_reason=reason)


def _status(session: Session, ki: k.KeyfactorInstance, pi: m.ProcessInstance) -> int:
    return render(session, [(ki, pi)])[0].status


def _who(ctx: Context) -> str:
    return ctx.user_id or "an anonymous user"


def stop_instance(ctx: Context, instance_id: str) -> None:
    identity.require_claim(ctx.actor, MANAGE)

    def command(session: Session) -> None:
        ki, pi = _pair(session, instance_id, lock=True)
        if _status(session, ki, pi) != SUSPENDED:
            raise InvalidRequest(f"Workflow instance {pi.id} is not suspended.")
        message = f"Stopped by {_who(ctx)}"
        _terminate(ctx, session, pi, message)
        ki.final_status, ki.status_message, ki.last_modified = "Rejected", message, utcnow()
    state.run_command(ctx, command)


def restart_instance(ctx: Context, instance_id: str, version: int | None = None) -> None:
    identity.require_claim(ctx.actor, MANAGE)
    identity.require_claim(ctx.actor, READ_ALL)
    with ctx.db.transaction() as session:
        ki, pi = _pair(session, instance_id)
        _restartable(session, ki, pi)
        definition_id = ki.definition_id
    try:
        definition, target, process = deployed_version(ctx, definition_id, version)
    except NotFound:
        raise InvalidRequest(f"The workflow definition of instance '{instance_id}' was deleted") from None

    def command(session: Session) -> None:
        old, old_pi = _pair(session, instance_id, lock=True)
        _restartable(session, old, old_pi)
        new, _new_pi = _create(ctx, session, process.id, target, definition.workflow_type, title=old.title,
                               initial_data=dict(old.initial_data or {}), initiator=old.initiator,
                               restarted_from=old_pi.id)
        message = f"Restarted by {_who(ctx)} as instance {new.process_instance_id} (version {target.version})"
        _terminate(ctx, session, old_pi, message)
        old.final_status, old.status_message, old.last_modified = "CanceledForRestart", message, utcnow()
        old.restarted_as = new.process_instance_id
    state.run_command(ctx, command)


def _restartable(session: Session, ki: k.KeyfactorInstance, pi: m.ProcessInstance) -> None:
    status = _status(session, ki, pi)
    if status not in (FAILED, SUSPENDED):
        raise InvalidRequest(f"Workflow instance {pi.id} is {STATUS_NAMES[status]}; only Failed and Suspended "
                             "instances can be restarted.")


def delete_instance(ctx: Context, instance_id: str) -> None:
    identity.require_claim(ctx.actor, MANAGE)

    def command(session: Session) -> None:
        ki, pi = _pair(session, instance_id, lock=True)
        _terminate(ctx, session, pi, f"Deleted by {_who(ctx)}")
        # Removed everywhere, history included: a deleted Keyfactor instance is gone (11.3).
        session.execute(delete(m.TaskCandidate).where(m.TaskCandidate.task_id.in_(
            select(m.Task.id).where(m.Task.process_instance_id == pi.id))))
        for model in (m.Task, m.ActivityInstance, m.Variable, m.Incident, m.Job, m.EventSubscription,
                      k.SignalRecord):
            session.execute(delete(model).where(model.process_instance_id == pi.id))
        session.delete(ki)
        session.delete(pi)
    state.run_command(ctx, command)
