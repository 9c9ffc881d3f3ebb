"""Load an instance, change it, run it, save it: the pipeline every instance command uses.

A save writes the SpiffWorkflow state and brings every derived table in step with it in the
same transaction: activity history, waiting user tasks, event subscriptions, timer jobs,
variables and incidents. Commands run under optimistic locking (the ``version`` column);
``run_command`` retries a command on fresh state when another writer won the race.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import values
from app.engine import runtime, serializer
from app.engine.cache import LoadedProcess
from app.engine.history import activity_instance_id, activity_views
from app.errors import Conflict, NotFound
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.ids import new_id

T = TypeVar("T")
_RETRIES = 8


@dataclass
class LiveInstance:
    row: m.ProcessInstance
    process: LoadedProcess
    workflow: Any
    #: Time of load: tasks whose state changed after it are this transaction's history.
    loaded_at: float | None
    #: Types the API declared for variables in this command (kept unless the process changes them).
    declared: dict[str, values.TypedValue] = field(default_factory=dict)
    failure: runtime.Failure | None = None


def definition_resources(session: Session, definition: m.ProcessDefinition) -> Callable[[], dict[str, bytes]]:
    def load() -> dict[str, bytes]:
        rows = session.scalars(select(m.Resource).where(m.Resource.deployment_id == definition.deployment_id))
        return {r.name: r.data for r in rows}
    return load


def load_process(ctx: Context, session: Session, definition: m.ProcessDefinition) -> LoadedProcess:
    return ctx.specs.get(definition.id, definition.key, definition_resources(session, definition))


def load(ctx: Context, session: Session, instance_id: str) -> LiveInstance:
    # Lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers): commands on
    # one instance run one after the other, so racing signals/completions queue instead of colliding.
    row = session.get(m.ProcessInstance, instance_id, with_for_update=True, populate_existing=True)
    if row is None or row.end_time is not None or row.state_json is None:
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    definition = session.get(m.ProcessDefinition, row.definition_id)
    if definition is None:
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    process = load_process(ctx, session, definition)
    loaded_at = time.time()
    workflow = serializer.loads(row.state_json, process.spec, process.subprocess_specs, ctx.engine_for(definition))
    return LiveInstance(row, process, workflow, loaded_at)


def run_command(ctx: Context, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in a transaction; on a lost optimistic-locking race, run it again on fresh state."""
    delay = 0.01
    for attempt in range(_RETRIES):
        try:
            with ctx.db.transaction() as session:
                return fn(session)
        except StaleDataError:
            if attempt == _RETRIES - 1:
                break
        except OperationalError as exc:
            # SQLite "database is locked" / PostgreSQL serialization failures: try again.
            text = str(exc).lower()
            if "locked" not in text and "serializ" not in text and "deadlock" not in text:
                raise
            if attempt == _RETRIES - 1:
                break
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise Conflict("The process instance was changed by another request; please retry")


# --------------------------------------------------------------------------------------------
# Saving


def save(ctx: Context, session: Session, live: LiveInstance, *, end_state: str | None = None,
         delete_reason: str | None = None) -> None:
    """Persist the workflow and bring the derived tables in step.

    ``end_state`` forces an end (EXTERNALLY_TERMINATED on delete); otherwise the workflow's own
    completion decides.
    """
    row, workflow = live.row, live.workflow
    now = utcnow()
    finished = end_state is not None or runtime.is_finished(workflow)
    if not finished:
        _sync_tasks(session, live, now)  # before history: activity rows copy the task's assignee
    _sync_history(session, live, now, closing=finished, canceled=end_state is not None)
    _sync_variables(session, live, now)
    if live.failure is not None:
        _record_failure(session, live, now)
    if finished:
        row.state = end_state or runtime.end_state(workflow)
        row.end_time = now
        row.delete_reason = delete_reason
        row.state_json = None
        if live.loaded_at is not None:  # a new instance has no runtime rows to clear
            _clear_runtime(session, row.id, now)
    else:
        row.state_json = serializer.dumps(workflow)
        _sync_waits(session, live, now)
    session.flush()


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _sync_history(session: Session, live: LiveInstance, now: datetime, *, closing: bool, canceled: bool) -> None:
    row, index = live.row, live.process.index
    # A task can be reported twice (e.g. a subprocess seen from both workflows): keep its latest view.
    views = list({v.id: v for v in activity_views(live.workflow, live.loaded_at)}.values())
    is_new = live.loaded_at is None
    existing: dict[str, m.ActivityInstance] = {}
    if not is_new:  # a new instance has no rows yet: skip the lookups
        ids = [v.id for v in views]
        with session.no_autoflush:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for act in session.scalars(select(m.ActivityInstance).where(m.ActivityInstance.id.in_(chunk))):
                    existing[act.id] = act
    # Tasks created in this transaction carry the assignee resolved from the model.
    assignees = {obj.id: obj.assignee for obj in session.new if isinstance(obj, m.Task)}
    base_seq = time.time_ns()
    inserts: list[dict[str, Any]] = []
    for offset, view in enumerate(views):
        act = existing.get(view.id)
        when = _ts(view.changed)
        ended = view.status in ("completed", "canceled")
        if act is None:
            if view.status == "canceled":
                continue  # predicted but never entered
            info = index.activities.get(view.activity_id)
            activity_type = "multiInstanceBody" if view.multi_instance_body else (
                info.activity_type if info else "task")
            is_user_task = activity_type == "userTask"
            values_ = {
                "id": view.id, "process_instance_id": row.id, "definition_id": row.definition_id,
                "definition_key": row.definition_key,
                "activity_id": f"{view.activity_id}#multiInstanceBody" if view.multi_instance_body
                else view.activity_id,
                "activity_name": info.name if info else None, "activity_type": activity_type,
                "parent_activity_instance_id": view.parent_id or row.id, "execution_id": view.task_id,
                "task_id": view.task_id if is_user_task else None,
                "assignee": assignees.get(view.task_id) if is_user_task else None,
                "called_process_instance_id": None, "start_time": when,
                "end_time": when if ended else None, "canceled": view.status == "canceled",
                "complete_scope": view.complete_scope, "skipped": view.skipped, "tenant_id": row.tenant_id,
                "seq": base_seq + offset,
            }
            if closing and values_["end_time"] is None:
                # Still open when the instance ends: it was cancelled with it.
                values_["end_time"] = now
                values_["canceled"] = canceled or activity_type not in ("noneEndEvent", "terminateEndEvent")
            inserts.append(values_)
            continue
        if ended and act.end_time is None:
            act.end_time = when
            act.canceled = view.status == "canceled"
            act.complete_scope = view.complete_scope
        if act.task_id is not None and act.end_time is None:
            task = session.get(m.Task, act.task_id)
            if task is not None:
                act.assignee = task.assignee
    if inserts:
        # Core executemany: the ORM's bulk path costs more than the rows it writes.
        session.execute(m.ActivityInstance.__table__.insert(), inserts)
    if closing and not is_new:
        open_rows = session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.process_instance_id == row.id, m.ActivityInstance.end_time.is_(None)))
        for act in open_rows:
            act.end_time = now
            act.canceled = canceled or act.activity_type not in ("noneEndEvent", "terminateEndEvent")


def _storage_columns(tv: values.TypedValue) -> dict[str, Any]:
    text = long = double = None
    if tv.value is None:
        pass  # a typed null (Camunda keeps the declared type of a null value)
    elif tv.type == "String":
        text = tv.value[:4000]
    elif tv.type in ("Integer", "Long"):
        long, double = tv.value, float(tv.value)
    elif tv.type == "Double":
        double = tv.value
    elif tv.type == "Boolean":
        long = 1 if tv.value else 0
    elif tv.type == "Date":
        long = int(tv.value.timestamp() * 1000)
    elif tv.type == "Json":
        text = json.dumps(tv.value, separators=(",", ":"))[:4000]
    return {"text_value": text, "long_value": long, "double_value": double}


def write_variable(session: Session, instance: m.ProcessInstance, name: str, tv: values.TypedValue,
                   now: datetime, row: m.Variable | None = None) -> m.Variable:
    stored = json.dumps(values.to_storage(tv), separators=(",", ":"))
    if row is None:
        row = m.Variable(id=new_id(), process_instance_id=instance.id, name=name, create_time=now,
                         definition_id=instance.definition_id, definition_key=instance.definition_key,
                         tenant_id=instance.tenant_id)
        session.add(row)
    row.type = tv.type
    row.value_json = stored
    row.state = "CREATED"
    for key, value in _storage_columns(tv).items():
        setattr(row, key, value)
    return row


def stored_value(row: m.Variable) -> values.TypedValue:
    return values.from_storage(json.loads(row.value_json))


def _sync_variables(session: Session, live: LiveInstance, now: datetime) -> None:
    current = runtime.process_variables(live.workflow)
    rows: dict[str, m.Variable] = {}
    if live.loaded_at is not None:
        with session.no_autoflush:
            rows = {v.name: v for v in session.scalars(
                select(m.Variable).where(m.Variable.process_instance_id == live.row.id))}
    for name, value in current.items():
        row = rows.get(name)
        declared = live.declared.get(name)
        if declared is not None and values.same_value(value, declared):
            tv = declared
        elif row is not None and row.state == "CREATED" and values.same_value(value, stored_value(row)):
            continue
        else:
            tv = values.infer(value)
        if row is not None and row.state == "CREATED" and row.type == tv.type \
                and values.same_value(values.to_engine(tv), stored_value(row)):
            continue
        write_variable(session, live.row, name, tv, now, row)
    for name, row in rows.items():
        if name not in current and row.state == "CREATED":
            row.state = "DELETED"


def _sync_tasks(session: Session, live: LiveInstance, now: datetime) -> None:
    row, index = live.row, live.process.index
    ready = {str(t.id): t for t in runtime.ready_user_tasks(live.workflow)}
    existing: dict[str, m.Task] = {}
    if live.loaded_at is not None:  # a new instance has no task rows yet
        with session.no_autoflush:
            existing = {t.id: t for t in session.scalars(select(m.Task).where(m.Task.process_instance_id == row.id))}
    for task_id, task_row in existing.items():
        if task_id not in ready:
            session.delete(task_row)
    if not ready:
        return
    variables = None
    for task_id, task in ready.items():
        if task_id in existing:
            continue
        if variables is None:
            variables = runtime.process_variables(live.workflow)
        info = index.activities.get(task.task_spec.bpmn_id)
        task_row = m.Task(
            id=task_id, process_instance_id=row.id, definition_id=row.definition_id,
            definition_key=row.definition_key, task_definition_key=task.task_spec.bpmn_id,
            name=(info.name if info else None) or task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            description=info.documentation if info else None,
            assignee=_resolve(info.assignee if info else None, variables),
            created=_ts(task.last_state_change), due=_resolve_date(info.due_date if info else None, variables),
            follow_up=_resolve_date(info.follow_up_date if info else None, variables),
            priority=_resolve_int(info.priority if info else None, variables, 50),
            form_key=info.form_key if info else None, execution_id=task_id,
            activity_instance_id=activity_instance_id(task), tenant_id=row.tenant_id,
            suspended=row.state == "SUSPENDED",
        )
        session.add(task_row)
        candidates: set[tuple[str, str]] = set()
        for user in (info.candidate_users if info else []) or []:
            resolved = _resolve(user, variables)
            if resolved:
                candidates.update(("user", u.strip()) for u in resolved.split(",") if u.strip())
        for group in (info.candidate_groups if info else []) or []:
            resolved = _resolve(group, variables)
            if resolved:
                candidates.update(("group", g.strip()) for g in resolved.split(",") if g.strip())
        task_row.candidates = [m.TaskCandidate(task_id=task_id, kind=k, value=v) for k, v in sorted(candidates)]


def _resolve(text: str | None, variables: dict[str, Any]) -> str | None:
    """camunda:assignee and friends: a literal, or a plain ${name} looked up in the variables."""
    if text is None:
        return None
    text = text.strip()
    if (text.startswith("${") or text.startswith("#{")) and text.endswith("}"):
        name = text[2:-1].strip()
        value = variables.get(name)
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return None if value is None else str(value)
    return text or None


def _resolve_date(text: str | None, variables: dict[str, Any]) -> datetime | None:
    value = _resolve(text, variables)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _resolve_int(text: str | None, variables: dict[str, Any], default: int) -> int:
    value = _resolve(text, variables)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _sync_waits(session: Session, live: LiveInstance, now: datetime) -> None:
    row = live.row
    waits = runtime.waiting_events(live.workflow)
    is_new = live.loaded_at is None
    if not is_new:
        session.execute(delete(m.EventSubscription).where(m.EventSubscription.process_instance_id == row.id))
    for wait in waits:
        if wait.kind in ("message", "signal") and wait.name:
            session.add(m.EventSubscription(
                id=new_id(), process_instance_id=row.id, event_type=wait.kind, event_name=wait.name,
                activity_id=wait.activity_id or "", execution_id=wait.task_id, tenant_id=row.tenant_id,
                created=now))
    timers = {w.task_id: w for w in waits if w.kind == "timer"}
    jobs = {} if is_new else {j.execution_id: j for j in session.scalars(select(m.Job).where(
        m.Job.process_instance_id == row.id, m.Job.type == "timer"))}
    for execution_id, job in jobs.items():
        if execution_id not in timers:
            resolve_incidents(session, row.id, now, job_id=job.id)
            session.delete(job)
    for execution_id, wait in timers.items():
        job = jobs.get(execution_id)
        due = wait.due or now
        if job is None:
            session.add(m.Job(
                id=new_id(), type="timer", job_definition_id=f"timer:{wait.activity_id}",
                process_instance_id=row.id, definition_id=row.definition_id,
                definition_key=row.definition_key, activity_id=wait.activity_id,
                execution_id=execution_id, due_date=due, retries=3, created=now,
                suspended=row.state == "SUSPENDED", tenant_id=row.tenant_id))
        elif job.due_date != due:
            # Also while locked: only the job's own handler writes this row in this transaction.
            job.due_date = due


def _record_failure(session: Session, live: LiveInstance, now: datetime) -> None:
    failure, row = live.failure, live.row
    assert failure is not None
    job = session.scalars(select(m.Job).where(
        m.Job.process_instance_id == row.id, m.Job.type == "activity",
        m.Job.execution_id == failure.task_id)).first()
    if job is None:
        job = m.Job(id=new_id(), type="activity", job_definition_id=f"activity:{failure.activity_id}",
                    process_instance_id=row.id, definition_id=row.definition_id,
                    definition_key=row.definition_key, activity_id=failure.activity_id,
                    execution_id=failure.task_id, due_date=None, created=now, tenant_id=row.tenant_id)
        session.add(job)
    job.retries = 0
    job.exception_message = failure.message
    job.lock_owner = None
    job.lock_expiry = None
    session.flush([job])
    open_incident = session.scalars(select(m.Incident).where(
        m.Incident.job_id == job.id, m.Incident.status == "open")).first()
    if open_incident is None:
        session.add(m.Incident(
            id=new_id(), type="failedJob", process_instance_id=row.id, definition_id=row.definition_id,
            activity_id=failure.activity_id, execution_id=failure.task_id, job_id=job.id,
            message=failure.message, created=now, status="open", tenant_id=row.tenant_id))
    else:
        open_incident.message = failure.message
    row.has_incident = True


def resolve_incidents(session: Session, instance_id: str, now: datetime, job_id: str | None = None) -> None:
    query = select(m.Incident).where(m.Incident.process_instance_id == instance_id, m.Incident.status == "open")
    if job_id is not None:
        query = query.where(m.Incident.job_id == job_id)
    for incident in session.scalars(query):
        incident.status = "resolved"
        incident.end_time = now
    remaining = session.scalars(select(m.Incident.id).where(
        m.Incident.process_instance_id == instance_id, m.Incident.status == "open")).first()
    instance = session.get(m.ProcessInstance, instance_id)
    if instance is not None:
        instance.has_incident = remaining is not None


def _clear_runtime(session: Session, instance_id: str, now: datetime) -> None:
    session.execute(delete(m.TaskCandidate).where(m.TaskCandidate.task_id.in_(
        select(m.Task.id).where(m.Task.process_instance_id == instance_id))))
    session.execute(delete(m.Task).where(m.Task.process_instance_id == instance_id))
    session.execute(delete(m.EventSubscription).where(m.EventSubscription.process_instance_id == instance_id))
    session.execute(delete(m.Job).where(m.Job.process_instance_id == instance_id, m.Job.type.in_(
        ("timer", "activity"))))
    resolve_incidents(session, instance_id, now)


# --------------------------------------------------------------------------------------------
# Starting


def create(ctx: Context, session: Session, definition: m.ProcessDefinition, *,
           variables: dict[str, values.TypedValue], business_key: str | None,
           start_activity_id: str | None = None, restarted_from: str | None = None,
           workflow: Any = None, start_time: datetime | None = None) -> LiveInstance:
    """A new instance row and workflow (not yet run, unless the caller ran ``workflow`` already)."""
    process = load_process(ctx, session, definition)
    engine_values = {name: values.to_engine(tv) for name, tv in variables.items()}
    if workflow is None:
        workflow = runtime.new_workflow(process.spec, process.subprocess_specs, ctx.engine_for(definition),
                                        engine_values)
    instance_id = new_id()
    row = m.ProcessInstance(
        id=instance_id, definition_id=definition.id, definition_key=definition.key,
        business_key=business_key, tenant_id=definition.tenant_id, state="ACTIVE", start_time=start_time or utcnow(),
        start_user_id=ctx.user_id,
        start_activity_id=start_activity_id or process.index.none_start_event_id,
        restarted_from_id=restarted_from, root_instance_id=instance_id,
        initial_variables=json.dumps({n: values.to_storage(tv) for n, tv in variables.items()}),
    )
    session.add(row)
    return LiveInstance(row, process, workflow, None, declared=dict(variables))
