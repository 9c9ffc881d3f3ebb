"""``POST /Workflow/Instances/{id}/Signals``: approvals and denials (contract 10).

Signals to one instance are serialized: each runs through ``instance_state.run_command`` and
first locks the process instance row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serializes writers), and every accepted signal writes the
instance row, so the optimistic ``version`` check catches anything that slips past the lock.
The approval count is therefore read after every earlier answer has committed, and the
instance moves on exactly once, by the answer that reaches ``MinimumApprovals``.

Every signal is recorded in ``signal_record``, refused ones with the reason: a refusal is
committed first and raised afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.engine import runtime
from app.errors import BatonError, Forbidden, InvalidRequest, NotFound
from app.services import instance_state as state
from app.services.context import Context, utcnow
from app.services.keyfactor_definitions import parse_guid
from app.services.keyfactor_instances import has_answered
from app.services.keyfactor_views import (
    COMMENT_KEY,
    SUSPENDED,
    load_pair,
    minimum_approvals,
    render,
)
from app.store import keyfactor_models as k
from app.store import models as m
from app.store.ids import new_id

APPROVAL_SIGNAL = "ApprovalStatus"
#: The process variable the compiled approval task reads: True continues, False ends in kf_rejected.
APPROVED_VARIABLE = "kf_approved"


def _member(data: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Keys inside Data are matched case-insensitively (the v11 SDK lower-cases their first letter)."""
    for key, value in data.items():
        if isinstance(key, str) and key.casefold() == name.casefold():
            return True, value
    return False, None


def _approved(data: Any) -> tuple[bool, str | None]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidRequest("Data must be a JSON object")
    present, value = _member(data, "Approved")
    if not present or value is None:
        raise InvalidRequest("Data.Approved is required for the ApprovalStatus signal (true or false)")
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise InvalidRequest("Data.Approved must be true or false")
    _present, comment = _member(data, "Comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidRequest("Data.Comment must be a string")
    return value, comment


def send_signal(ctx: Context, instance_id: str, signal_key: Any, data: Any) -> None:
    guid = parse_guid(instance_id, "Workflow instance")
    refusal = state.run_command(ctx, lambda session: _signal(ctx, session, guid, signal_key, data))
    if refusal is not None:
        raise refusal


def _signal(ctx: Context, session: Session, instance_id: str, signal_key: Any, data: Any) -> BatonError | None:
    pair = load_pair(session, instance_id, lock=True)
    if pair is None:
        raise NotFound(f"Workflow instance '{instance_id}' does not exist")
    ki, pi = pair
    user = ctx.user_id
    record = k.SignalRecord(id=new_id(), process_instance_id=pi.id, user_id=user, created=utcnow(),
                            signal_key=signal_key if isinstance(signal_key, str) else None,
                            data=data if isinstance(data, dict) else None, accepted=False)
    session.add(record)

    def refuse(error: BatonError) -> BatonError:
        record.refusal_reason = f"{error.status}: {error.message}"
        return error

    if not isinstance(signal_key, str) or not signal_key.strip():
        return refuse(InvalidRequest("SignalKey is required"))
    view = render(session, [(ki, pi)])[0]
    if view.status != SUSPENDED or view.waiting_step is None:
        return refuse(InvalidRequest(f"Workflow instance {pi.id} is not suspended."))
    step, activity_id = view.waiting_step, view.waiting_activity_id
    unique_name, _, signal_name = signal_key.strip().partition(".")
    record.activity_id, record.step_unique_name, record.signal_name = activity_id, unique_name, signal_name
    if unique_name.casefold() != str(step.get("UniqueName", "")).casefold():
        return refuse(InvalidRequest(
            f"Step '{unique_name}' is not the current step of workflow instance {pi.id}: it waits at "
            f"'{step.get('UniqueName')}', and input can only be given at the step where the instance waits."))
    signal = next((s for s in step.get("Signals") or []
                   if str(s.get("SignalName", "")).casefold() == signal_name.casefold()), None)
    if signal is None:
        return refuse(InvalidRequest(f"Step '{step.get('UniqueName')}' has no signal '{signal_name}' "
                                     f"(SignalKey is '<step UniqueName>.<SignalName>')"))
    record.step_unique_name, record.signal_name = step.get("UniqueName"), signal.get("SignalName")
    if ctx.actor is not None and not set(ctx.actor.role_ids) & {int(r) for r in signal.get("RoleIds") or []}:
        return refuse(Forbidden(f"The user '{user}' holds none of the security roles that may send "
                                f"'{step.get('UniqueName')}.{signal.get('SignalName')}'"))
    if user is not None and has_answered(session, pi.id, activity_id, user):
        return refuse(InvalidRequest(f"The user '{user}' has already answered step '{step.get('UniqueName')}' "
                                     f"of workflow instance {pi.id}"))
    try:
        approved, comment = _approved(data)
    except InvalidRequest as error:
        return refuse(error)
    record.accepted, record.approved, record.comment = True, approved, comment
    session.flush([record])
    _apply(ctx, session, ki, pi, step, activity_id, approved, comment)
    return None


def _apply(ctx: Context, session: Session, ki: k.KeyfactorInstance, pi: m.ProcessInstance, step: dict[str, Any],
           activity_id: str | None, approved: bool, comment: str | None) -> None:
    live = state.load(ctx, session, pi.id)
    changes: dict[str, Any] = {}
    if comment is not None:
        changes[COMMENT_KEY] = comment
    count = session.scalar(select(func.count(k.SignalRecord.id)).where(
        k.SignalRecord.process_instance_id == pi.id, k.SignalRecord.activity_id == activity_id,
        k.SignalRecord.accepted.is_(True), k.SignalRecord.approved.is_(True))) or 0
    if not approved or count >= minimum_approvals(step):
        task_row = session.scalars(select(m.Task).where(
            m.Task.process_instance_id == pi.id, m.Task.task_definition_key == activity_id)).first()
        task = runtime.find_task(live.workflow, task_row.id) if task_row is not None else None
        if task is None:
            raise InvalidRequest(f"Workflow instance {pi.id} is not suspended.")
        if not approved:
            ki.status_message = f"Denied by {ctx.user_id or 'an anonymous user'} at '{step.get('DisplayName')}'" + (
                f": {comment}" if comment else "")
        runtime.complete_user_task(live.workflow, task, {**changes, APPROVED_VARIABLE: approved})
        live.failure = runtime.run(live.workflow)
        ki.last_modified = utcnow()
    else:
        if changes:
            runtime.set_variables(live.workflow, changes)
        # Write the row even when nothing else changed: the version bump orders concurrent answers.
        flag_modified(live.row, "state_json")
    state.save(ctx, session, live)
