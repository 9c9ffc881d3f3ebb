"""Jobs and job definitions (``/job``, ``/job-definition``): query, retries, execute, suspend.

Job definition ids. ``Job.job_definition_id`` holds ``timer:<activityId>`` or
``activity:<activityId>`` for instance jobs, which is unique only within one process
definition. The API therefore names those job definitions ``<stored id>@<definition id>``
(``timer:Wait@order:1:0190…``; neither part can contain ``@`` or ``/``). Batch jobs keep their
batch's UUID. :func:`api_job_definition_id` and :func:`parse_job_definition_id` convert.

Job definitions are derived, not stored: one per timer event of every deployed model, one per
(definition, activity) with a failed-activity job, and the seed/monitor/execution definitions
of every batch (as Camunda's batches have).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from app.errors import BatonError, InvalidRequest, NotFound
from app.services import instance_state
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.ids import new_id
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of

J = m.Job
Filters = Mapping[str, Any]
#: Job types whose stored job definition id is only unique within their process definition.
_SCOPED_TYPES = ("timer", "activity")

SORT_COLUMNS: dict[str, Any] = {
    "jobId": J.id, "executionId": J.execution_id, "processInstanceId": J.process_instance_id,
    "processDefinitionId": J.definition_id, "processDefinitionKey": J.definition_key,
    "jobRetries": J.retries, "jobDueDate": J.due_date, "tenantId": J.tenant_id,
    "jobPriority": None,  # every Baton job has priority 0: sorting by it only keeps creation order
}


# --------------------------------------------------------------------------------------------
# Job definition ids


def api_job_definition_id(job: m.Job) -> str | None:
    if job.type in _SCOPED_TYPES and job.definition_id and job.job_definition_id:
        return f"{job.job_definition_id}@{job.definition_id}"
    return job.job_definition_id


def parse_job_definition_id(value: str) -> tuple[str, str | None]:
    """``(stored job definition id, process definition id or None)``."""
    stored, sep, definition_id = value.partition("@")
    return (stored, definition_id) if sep else (value, None)


def job_definition_condition(value: str) -> ColumnElement[bool]:
    stored, definition_id = parse_job_definition_id(value)
    if definition_id is None:
        return and_(J.job_definition_id == value, J.type.not_in(_SCOPED_TYPES))
    return and_(J.job_definition_id == stored, J.definition_id == definition_id, J.type.in_(_SCOPED_TYPES))


# --------------------------------------------------------------------------------------------
# Queries


def job_query(filters: Filters, now: datetime | None = None) -> Select:
    """All jobs matching ``filters`` (the names of ``GET /job``); unordered.

    ``dueDates`` / ``createTimes`` are lists of ``(operator, datetime)`` with operator gt|lt.
    """
    now = now or utcnow()
    if filters.get("timers") and filters.get("messages"):
        raise InvalidRequest("Parameter 'timers' cannot be used together with parameter 'messages'.")
    where: list[ColumnElement[bool]] = []
    equals = {"jobId": J.id, "processInstanceId": J.process_instance_id, "executionId": J.execution_id,
              "processDefinitionId": J.definition_id, "processDefinitionKey": J.definition_key,
              "activityId": J.activity_id, "exceptionMessage": J.exception_message}
    for name, column in equals.items():
        if name in filters:
            where.append(column == filters[name])
    if "jobIds" in filters:
        where.append(J.id.in_(filters["jobIds"]))
    if "processInstanceIds" in filters:
        where.append(J.process_instance_id.in_(filters["processInstanceIds"]))
    if "jobDefinitionId" in filters:
        where.append(job_definition_condition(filters["jobDefinitionId"]))
    if "failedActivityId" in filters:
        where.append(and_(J.activity_id == filters["failedActivityId"], J.exception_message.is_not(None)))
    flags = {
        "withRetriesLeft": J.retries > 0, "noRetriesLeft": J.retries == 0,
        "executable": and_(J.retries > 0, or_(J.due_date.is_(None), J.due_date <= now)),
        "timers": J.type == "timer", "messages": J.type != "timer",
        "withException": J.exception_message.is_not(None),
        "active": J.suspended.is_(False), "suspended": J.suspended.is_(True),
        "withoutTenantId": J.tenant_id.is_(None),
        "acquired": and_(J.lock_expiry.is_not(None), J.lock_expiry > now),
    }
    where.extend(condition for name, condition in flags.items() if filters.get(name))
    # Every Baton job has priority 0.
    if "priorityLowerThanOrEquals" in filters and filters["priorityLowerThanOrEquals"] < 0:
        where.append(false())
    if "priorityHigherThanOrEquals" in filters and filters["priorityHigherThanOrEquals"] > 0:
        where.append(false())
    if "tenantIdIn" in filters:
        tenant = J.tenant_id.in_(filters["tenantIdIn"])
        where.append(or_(tenant, J.tenant_id.is_(None)) if filters.get("includeJobsWithoutTenantId") else tenant)
    for name, column in (("dueDates", J.due_date), ("createTimes", J.created)):
        for operator, value in filters.get(name, ()):
            where.append(column > value if operator == "gt" else column < value)
    return select(J).where(*where)


def list_jobs(ctx: Context, filters: Filters, sorting: Sorting = (), first_result: int = 0,
              max_results: int | None = None) -> list[m.Job]:
    keys = [(key, asc) for key, asc in sorting if SORT_COLUMNS.get(key) is not None]
    query = apply_paging(apply_sorting(job_query(filters), keys, SORT_COLUMNS, J.id), first_result, max_results)
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(query))


def count_jobs(ctx: Context, filters: Filters) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(job_query(filters))) or 0


def _find(session: Session, job_id: str) -> m.Job:
    job = session.get(m.Job, job_id)
    if job is None:
        raise NotFound(f"Job with id {job_id} does not exist")
    return job


def get_job(ctx: Context, job_id: str) -> m.Job:
    with ctx.db.transaction(readonly=True) as session:
        return _find(session, job_id)


def exception_stacktrace(ctx: Context, job_id: str) -> str | None:
    """Baton keeps no Java stack traces: the failure message (with the script line) stands in."""
    return get_job(ctx, job_id).exception_message


# --------------------------------------------------------------------------------------------
# Commands


def _resolve_job_incidents(session: Session, job: m.Job, now: datetime) -> None:
    if job.process_instance_id is not None:
        instance_state.resolve_incidents(session, job.process_instance_id, now, job_id=job.id)
        return
    for incident in session.scalars(select(m.Incident).where(m.Incident.job_id == job.id,
                                                             m.Incident.status == "open")):
        incident.status, incident.end_time = "resolved", now


def _open_incident(session: Session, job: m.Job, now: datetime) -> None:
    session.add(m.Incident(
        id=new_id(), type="failedJob", process_instance_id=job.process_instance_id,
        definition_id=job.definition_id, activity_id=job.activity_id, execution_id=job.execution_id,
        job_id=job.id, message=job.exception_message, created=now, status="open", tenant_id=job.tenant_id))
    if job.process_instance_id is not None:
        instance = session.get(m.ProcessInstance, job.process_instance_id)
        if instance is not None:
            instance.has_incident = True


def set_retries(ctx: Context, job_id: str, retries: int, *, due_date: datetime | None = None,
                set_due_date: bool = False) -> None:
    """Camunda's ``JobEntity.setRetries``: 0 → n resolves the job's incident at once (a new one is
    opened if it fails again); n → 0 opens one. The job becomes executable when retries > 0."""
    if retries < 0:
        raise InvalidRequest(f"The number of job retries must be a non-negative Integer, but '{retries}' "
                             "has been provided.")
    now = utcnow()

    def command(session: Session) -> None:
        job = _find(session, job_id)
        if job.retries == 0 and retries > 0:
            _resolve_job_incidents(session, job, now)
        elif job.retries > 0 and retries == 0:
            _open_incident(session, job, now)
        job.retries = retries
        if set_due_date:
            job.due_date = due_date
        if job.lock_expiry is not None and _aware(job.lock_expiry) < now:
            job.lock_owner = job.lock_expiry = None  # an expired lock: let any executor take it
    instance_state.run_command(ctx, command)


def set_suspended(ctx: Context, job_id: str, suspended: bool) -> None:
    with ctx.db.transaction() as session:
        _find(session, job_id).suspended = suspended


def delete_job(ctx: Context, job_id: str) -> None:
    with ctx.db.transaction() as session:
        job = _find(session, job_id)
        _resolve_job_incidents(session, job, utcnow())
        session.delete(job)


def execute_job(ctx: Context, job_id: str) -> None:
    """Run a job now, whatever its due date, retries or lock; return when it is done.

    The outcome is committed either way (Camunda records a failed execution too). A failure,
    of the job itself or of the process it ran on, answers 500 with the failure's message.
    """
    from app.jobs import executor, handlers

    executor.register_handlers()  # this process may run no executor of its own
    owner = executor.worker_id()
    with ctx.db.transaction() as session:
        job = _find(session, job_id)
        # Take the lock so a background executor that acquired it meanwhile leaves it alone.
        job.lock_owner = owner
        job.lock_expiry = utcnow() + timedelta(seconds=ctx.settings.job_lock_seconds)
    with handlers.capture_failures() as failures:
        succeeded = executor.execute(ctx, job_id, owner)
    if not succeeded:
        with ctx.db.transaction() as session:
            job = session.get(m.Job, job_id)
            if job is None:  # deleted meanwhile (its instance ended, or another request)
                raise NotFound(f"Job with id {job_id} does not exist")
            message = job.exception_message
        raise BatonError(message or f"Job {job_id} could not be executed", camunda_type="RestException",
                         status=500)
    if failures:
        raise BatonError(failures[-1], camunda_type="RestException", status=500)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --------------------------------------------------------------------------------------------
# Job definitions


@dataclass
class JobDefinition:
    id: str
    job_type: str
    configuration: str | None
    definition_id: str | None = None
    definition_key: str | None = None
    activity_id: str | None = None
    suspended: bool = False
    tenant_id: str | None = None
    deployment_id: str | None = None


JOB_DEFINITION_SORT = {
    "jobDefinitionId": "id", "activityId": "activity_id", "processDefinitionId": "definition_id",
    "processDefinitionKey": "definition_key", "jobType": "job_type", "jobConfiguration": "configuration",
    "tenantId": "tenant_id",
}
_TIMER_CONFIG = {"timeDate": "DATE", "timeDuration": "DURATION", "timeCycle": "CYCLE"}


def _timer_job_type(info: Any) -> str:
    if info.element == "boundaryEvent":
        return "timer-transition"
    if info.element == "startEvent":
        return "timer-start-event-subprocess" if info.parent_id else "timer-start-event"
    return "timer-intermediate-transition"


def _model_definitions(ctx: Context, session: Session, definition: m.ProcessDefinition) -> list[JobDefinition]:
    try:
        process = instance_state.load_process(ctx, session, definition)
    except Exception:  # noqa: BLE001 - a model that no longer loads has no job definitions to show
        return []
    result = []
    for info in process.index.activities.values():
        if info.event_kind != "timer":
            continue
        config = f"{_TIMER_CONFIG[info.timer_kind]}: {info.timer_text}" if info.timer_kind in _TIMER_CONFIG \
            else None
        result.append(JobDefinition(
            id=f"timer:{info.id}@{definition.id}", job_type=_timer_job_type(info), configuration=config,
            definition_id=definition.id, definition_key=definition.key, activity_id=info.id,
            suspended=definition.suspended, tenant_id=definition.tenant_id,
            deployment_id=definition.deployment_id))
    return result


def _all_job_definitions(ctx: Context, session: Session, filters: Filters) -> list[JobDefinition]:
    wanted = filters.get("jobDefinitionId")
    wanted_definition = parse_job_definition_id(wanted)[1] if wanted else None
    definitions = select(m.ProcessDefinition).order_by(m.ProcessDefinition.deployed_at, m.ProcessDefinition.id)
    for name, column in (("processDefinitionId", m.ProcessDefinition.id),
                         ("processDefinitionKey", m.ProcessDefinition.key)):
        if name in filters:
            definitions = definitions.where(column == filters[name])
    if wanted_definition is not None:
        definitions = definitions.where(m.ProcessDefinition.id == wanted_definition)
    result: list[JobDefinition] = []
    by_id: dict[str, m.ProcessDefinition] = {}
    if not wanted or wanted_definition is not None:
        for definition in session.scalars(definitions):
            by_id[definition.id] = definition
            result.extend(_model_definitions(ctx, session, definition))
        failed = session.execute(select(J.definition_id, J.activity_id, J.job_definition_id).where(
            J.type == "activity", J.definition_id.in_(list(by_id))).distinct())
        for definition_id, activity_id, stored in sorted(failed, key=lambda r: (r[0], r[1] or "")):
            definition = by_id[definition_id]
            result.append(JobDefinition(
                id=f"{stored}@{definition_id}", job_type="async-continuation", configuration="async-before",
                definition_id=definition_id, definition_key=definition.key, activity_id=activity_id,
                suspended=definition.suspended, tenant_id=definition.tenant_id,
                deployment_id=definition.deployment_id))
    if wanted_definition is None and not {"processDefinitionId", "processDefinitionKey"} & filters.keys():
        for batch in session.scalars(select(m.Batch).order_by(m.Batch.start_time, m.Batch.id)):
            for jd_id, job_type in ((batch.seed_job_definition_id, "batch-seed-job"),
                                    (batch.monitor_job_definition_id, "batch-monitor-job"),
                                    (batch.batch_job_definition_id, batch.type)):
                result.append(JobDefinition(id=jd_id, job_type=job_type, configuration=batch.id,
                                            suspended=batch.suspended, tenant_id=batch.tenant_id))
    return result


def _matches(jd: JobDefinition, filters: Filters) -> bool:
    checks = [
        ("jobDefinitionId", lambda v: jd.id == v), ("activityIdIn", lambda v: jd.activity_id in v),
        ("processDefinitionId", lambda v: jd.definition_id == v),
        ("processDefinitionKey", lambda v: jd.definition_key == v), ("jobType", lambda v: jd.job_type == v),
        ("jobConfiguration", lambda v: jd.configuration == v), ("active", lambda v: not jd.suspended),
        ("suspended", lambda v: jd.suspended), ("withOverridingJobPriority", lambda v: False),
        ("withoutTenantId", lambda v: jd.tenant_id is None),
        ("tenantIdIn", lambda v: jd.tenant_id in v or (
            jd.tenant_id is None and bool(filters.get("includeJobDefinitionsWithoutTenantId")))),
    ]
    return all(check(filters[name]) for name, check in checks if name in filters)


def _sort_key(attribute: str) -> Any:
    # Contract 5.3: nulls before values ascending; reversing the list puts them last descending.
    return lambda jd: (getattr(jd, attribute) is not None, getattr(jd, attribute) or "")


def list_job_definitions(ctx: Context, filters: Filters, sorting: Sorting = (), first_result: int = 0,
                         max_results: int | None = None) -> list[JobDefinition]:
    with ctx.db.transaction(readonly=True) as session:
        rows = [jd for jd in _all_job_definitions(ctx, session, filters) if _matches(jd, filters)]
    for key, ascending in reversed(list(sorting)):  # stable sorts, least significant key first
        rows.sort(key=_sort_key(JOB_DEFINITION_SORT[key]), reverse=not ascending)
    end = None if max_results is None else first_result + max_results
    return rows[first_result:end]


def count_job_definitions(ctx: Context, filters: Filters) -> int:
    return len(list_job_definitions(ctx, filters))


def get_job_definition(ctx: Context, job_definition_id: str) -> JobDefinition:
    found = list_job_definitions(ctx, {"jobDefinitionId": job_definition_id})
    if not found:
        raise NotFound(f"Job Definition with id {job_definition_id} does not exist")
    return found[0]
