"""How a process instance looks as a Keyfactor workflow instance: the derived Status and step.

Nothing here is stored twice. ``Status`` comes from the process instance row (ended state,
open incident), its waiting approval task and the two final statuses only Keyfactor knows
(``keyfactor_instance.final_status``: stopped → Rejected, CanceledForRestart):

==========================================================  =====================
condition, first match wins                                 Status
==========================================================  =====================
final_status = CanceledForRestart                            5 CanceledForRestart
final_status = Rejected (Stop)                               3 Rejected
process COMPLETED                                            2 Complete
process terminated (the ``kf_rejected`` end of a denial,     3 Rejected
or ended from outside)
open incident (a step raised)                                4 Failed
a waiting approval user task                                 1 Suspended
otherwise (steps are executing)                              0 Running
==========================================================  =====================

The same rules exist twice on purpose: as one SQL ``CASE`` (for QueryString filters and
sorting) and in Python (for rendering a page of rows that were already loaded).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, select
from sqlalchemy.orm import Session

from app.store import keyfactor_models as k
from app.store import models as m

RUNNING, SUSPENDED, COMPLETE, REJECTED, FAILED, CANCELED_FOR_RESTART = range(6)
#: Where the comment of an approval answer goes in the data bucket (contract 9.2).
COMMENT_KEY = "approval signal cmnts"
#: BPMN element types a step compiles to (gateways and events are plumbing, not steps).
STEP_ACTIVITY_TYPES = ("userTask", "scriptTask", "serviceTask", "task", "sendTask", "businessRuleTask")

KI, PI = k.KeyfactorInstance, m.ProcessInstance


def status_expression() -> ColumnElement[int]:
    """The derived Status (0-5) of ``keyfactor_instance`` joined to ``process_instance``."""
    waiting = exists(select(m.Task.id).where(m.Task.process_instance_id == PI.id))
    return case(
        (KI.final_status == "CanceledForRestart", CANCELED_FOR_RESTART),
        (KI.final_status == "Rejected", REJECTED),
        (PI.state == "COMPLETED", COMPLETE),
        (PI.end_time.is_not(None), REJECTED),
        (PI.has_incident.is_(True), FAILED),
        (waiting, SUSPENDED),
        else_=RUNNING,
    )


def current_step_name_expression() -> Any:
    """The display name of the step an instance is at, for sorting (latest step activity entered)."""
    return (select(m.ActivityInstance.activity_name)
            .where(m.ActivityInstance.process_instance_id == PI.id,
                   m.ActivityInstance.activity_type.in_(STEP_ACTIVITY_TYPES))
            .order_by(m.ActivityInstance.seq.desc()).limit(1).scalar_subquery())


def status_of(ki: k.KeyfactorInstance, pi: m.ProcessInstance, waiting: bool) -> int:
    """Python twin of :func:`status_expression`."""
    if ki.final_status == "CanceledForRestart":
        return CANCELED_FOR_RESTART
    if ki.final_status == "Rejected":
        return REJECTED
    if pi.state == "COMPLETED":
        return COMPLETE
    if pi.end_time is not None:
        return REJECTED
    if pi.has_incident:
        return FAILED
    return SUSPENDED if waiting else RUNNING


# --------------------------------------------------------------------------------------------
# Steps of a version


def activity_id_of(unique_name: str) -> str:
    from app.engine.keyfactor.compiler import step_activity_id  # the compiler names the activities

    return step_activity_id(unique_name)


def steps_by_activity(steps: list[dict[str, Any]], workflow_type: str) -> dict[str, dict[str, Any]]:
    """Activity id → step, including the implicit EnrollStep/RevokeStep the compiler appends."""
    from app.engine.keyfactor.catalog import StepValidationError, executable_steps

    try:
        runnable = executable_steps(steps, workflow_type)
    except (StepValidationError, ValueError):
        runnable = list(steps)  # stored before a catalog change: map what is there
    return {activity_id_of(step["UniqueName"]): step for step in runnable}


def minimum_approvals(step: dict[str, Any]) -> int:
    from app.engine.keyfactor.catalog import minimum_approvals as configured

    return configured(step)


def internal_variables() -> frozenset[str]:
    from app.engine.keyfactor.compiler import INTERNAL_VARIABLES

    return INTERNAL_VARIABLES


# --------------------------------------------------------------------------------------------
# Rendering


@dataclass
class InstanceView:
    id: str
    status: int
    current_step_id: str | None
    status_message: str | None
    definition: dict[str, Any]
    current_step_display_name: str | None
    current_step_unique_name: str | None
    title: str | None
    last_modified: datetime
    start_date: datetime
    reference_id: int
    initiator: str | None
    signals: list[dict[str, Any]] = field(default_factory=list)
    initial_data: dict[str, Any] = field(default_factory=dict)
    current_state_data: dict[str, Any] = field(default_factory=dict)
    #: Internal: the activity the instance waits at (Suspended) and its step.
    waiting_activity_id: str | None = None
    waiting_step: dict[str, Any] | None = None
    approvals: int = 0


def json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def bucket(session: Session, instance_id: str) -> dict[str, Any]:
    """``CurrentStateData``: the process variables without the compiled model's own."""
    from app.services.instances import read_variables

    variables, hidden = read_variables(session, instance_id), internal_variables()
    return {name: json_safe(tv.value) for name, tv in variables.items() if name not in hidden}


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), 500):
        yield ids[start:start + 500]


def render(session: Session, rows: list[tuple[k.KeyfactorInstance, m.ProcessInstance]], *,
           detail: bool = False) -> list[InstanceView]:
    """Views of loaded rows, with a handful of batched queries for the whole page."""
    ids = [pi.id for _ki, pi in rows]
    tasks: dict[str, list[m.Task]] = defaultdict(list)
    incidents: dict[str, m.Incident] = {}
    activities: dict[str, list[str]] = defaultdict(list)
    accepted: dict[tuple[str, str], list[k.SignalRecord]] = defaultdict(list)
    for chunk in _chunks(ids):
        for task in session.scalars(select(m.Task).where(m.Task.process_instance_id.in_(chunk))):
            tasks[task.process_instance_id].append(task)
        for incident in session.scalars(select(m.Incident).where(
                m.Incident.process_instance_id.in_(chunk), m.Incident.status == "open")
                .order_by(m.Incident.created)):
            incidents.setdefault(incident.process_instance_id or "", incident)
        for pid, activity_id in session.execute(
                select(m.ActivityInstance.process_instance_id, m.ActivityInstance.activity_id)
                .where(m.ActivityInstance.process_instance_id.in_(chunk),
                       m.ActivityInstance.activity_type.in_(STEP_ACTIVITY_TYPES))
                .order_by(m.ActivityInstance.seq.desc())):
            activities[pid].append(activity_id)
        for record in session.scalars(select(k.SignalRecord).where(
                k.SignalRecord.process_instance_id.in_(chunk), k.SignalRecord.accepted.is_(True))):
            accepted[(record.process_instance_id, record.activity_id or "")].append(record)
    version_ids = {ki.version_id for ki, _pi in rows}
    versions = {v.id: v for v in session.scalars(select(k.WorkflowDefinitionVersion).where(
        k.WorkflowDefinitionVersion.id.in_(version_ids)))} if version_ids else {}
    step_maps: dict[int, dict[str, dict[str, Any]]] = {}
    views = []
    for ki, pi in rows:
        version = versions.get(ki.version_id)
        if ki.version_id not in step_maps:
            step_maps[ki.version_id] = steps_by_activity(version.steps if version else [], ki.workflow_type)
        by_activity = step_maps[ki.version_id]
        waiting = tasks.get(pi.id, [])
        status = status_of(ki, pi, bool(waiting))
        incident = incidents.get(pi.id)
        activity_id = None
        if status == SUSPENDED:
            activity_id = waiting[0].task_definition_key
        elif status == FAILED and incident is not None:
            activity_id = incident.activity_id
        if activity_id not in by_activity:
            activity_id = next((a for a in activities.get(pi.id, []) if a in by_activity), None)
        step = by_activity.get(activity_id or "")
        view = InstanceView(
            id=pi.id, status=status, current_step_id=step.get("Id") if step else None, status_message=None,
            definition={"Id": ki.definition_id, "DisplayName": ki.definition_display_name,
                        "Version": ki.definition_version, "WorkflowType": ki.workflow_type},
            current_step_display_name=step.get("DisplayName") if step else None,
            current_step_unique_name=step.get("UniqueName") if step else None,
            title=ki.title, last_modified=ki.last_modified, start_date=pi.start_time,
            reference_id=ki.reference_id, initiator=ki.initiator,
        )
        if status == SUSPENDED and step is not None:
            answers = accepted.get((pi.id, activity_id or ""), [])
            view.waiting_activity_id, view.waiting_step = activity_id, step
            view.approvals = sum(1 for r in answers if r.approved)
            received = {(r.signal_name or "").lower() for r in answers}
            view.signals = [{"SignalName": s.get("SignalName"), "StepSignalId": s.get("StepSignalId"),
                             "SignalReceived": (s.get("SignalName") or "").lower() in received}
                            for s in step.get("Signals") or []]
            view.status_message = (f"Waiting for approval at '{view.current_step_display_name}' "
                                   f"({view.approvals} of {minimum_approvals(step)} approvals)")
        elif status == FAILED:
            view.status_message = incident.message if incident is not None else ki.status_message
        elif status in (REJECTED, CANCELED_FOR_RESTART):
            view.status_message = ki.status_message
        if detail:
            view.initial_data = dict(ki.initial_data or {})
            view.current_state_data = bucket(session, pi.id)
        views.append(view)
    return views


def render_one(session: Session, ki: k.KeyfactorInstance, pi: m.ProcessInstance) -> InstanceView:
    return render(session, [(ki, pi)], detail=True)[0]


def load_pair(session: Session, instance_id: str, *, lock: bool = False
              ) -> tuple[k.KeyfactorInstance, m.ProcessInstance] | None:
    """The Keyfactor row and its process instance; ``lock`` serializes writers on PostgreSQL."""
    query = select(PI).where(PI.id == instance_id)
    if lock:
        query = query.with_for_update()
    pi = session.scalars(query).first()
    if pi is None:
        return None
    ki = session.scalars(select(KI).where(KI.process_instance_id == instance_id)).first()
    return (ki, pi) if ki is not None else None

