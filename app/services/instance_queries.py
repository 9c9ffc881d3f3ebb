"""One query builder for process instances: runtime list, history list, restart's query, Keyfactor.

``filters`` is a dict keyed by Camunda filter names with parsed values (see
app/api/camunda/params.py); absent filters are simply not in it. The builder understands the
history names of contract 12.2 and the runtime names of 8.2 in the same dict, so every caller
shares one set of semantics. ``or_queries`` are extra filter dicts: OR inside each, AND between
them and with ``filters``.

Deliberate readings (contract 12.2 leaves them to Baton):

- ``executedJobBefore/After``: Baton keeps no log of executed jobs (a fired timer's job row is
  deleted). A job counts as executed in the window if a timer activity (timer catch/boundary/start
  event) of the instance ended without being cancelled in it, or if a failed job row of the
  instance (``exception_message`` set) was due, or else created, in it. Successful restart batch
  jobs are not recorded per instance and never match.
- ``executedActivityIdIn`` ignores activity instances grafted as "skipped" by a restart: they
  never ran.
- Case filters (``caseInstanceId``, ``superCaseInstance(Id)``, ``subCaseInstance(Id)``) match
  nothing: Baton has no CMMN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.errors import InvalidRequest
from app.services.context import Context
from app.store import models as m
from app.store.expressions import at_or_after, at_or_before, duration_millis
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of, variable_condition

PI = m.ProcessInstance
PD = m.ProcessDefinition
AI = m.ActivityInstance
INC = m.Incident

STATE_MESSAGE = "Already querying for historic process instance with another state"
HISTORY_STATES = {
    "active": "ACTIVE", "suspended": "SUSPENDED", "completed": "COMPLETED",
    "externallyTerminated": "EXTERNALLY_TERMINATED", "internallyTerminated": "INTERNALLY_TERMINATED",
}
TIMER_ACTIVITY_TYPES = ("intermediateTimer", "boundaryTimer", "startTimerEvent")

RUNTIME_SORT_KEYS: dict[str, Any] = {
    "instanceId": PI.id, "definitionKey": PI.definition_key, "definitionId": PI.definition_id,
    "tenantId": PI.tenant_id, "businessKey": PI.business_key,
}
HISTORY_SORT_KEYS: dict[str, Any] = {
    "instanceId": PI.id, "definitionId": PI.definition_id, "definitionKey": PI.definition_key,
    "definitionName": PD.name, "definitionVersion": PD.version, "businessKey": PI.business_key,
    "startTime": PI.start_time, "endTime": PI.end_time, "duration": duration_millis(PI.start_time, PI.end_time),
    "tenantId": PI.tenant_id,
}

_EQUALS = {
    "processInstanceId": PI.id, "processDefinitionId": PI.definition_id, "processDefinitionKey": PI.definition_key,
    "processDefinitionName": PD.name, "processInstanceBusinessKey": PI.business_key,
    "businessKey": PI.business_key, "startedBy": PI.start_user_id, "superProcessInstanceId": PI.super_instance_id,
    "superProcessInstance": PI.super_instance_id, "deploymentId": PD.deployment_id,
}
_LIKES = {"processDefinitionNameLike": PD.name, "processInstanceBusinessKeyLike": PI.business_key,
          "businessKeyLike": PI.business_key}
_IN = {"processInstanceIds": PI.id, "processDefinitionKeyIn": PI.definition_key,
       "processInstanceBusinessKeyIn": PI.business_key, "tenantIdIn": PI.tenant_id}
_NOT_IN = {"processInstanceIdNotIn": PI.id, "processDefinitionKeyNotIn": PI.definition_key}
_CASE_FILTERS = ("caseInstanceId", "superCaseInstanceId", "subCaseInstanceId", "superCaseInstance",
                 "subCaseInstance")


@dataclass(frozen=True)
class HistoricProcessInstance:
    """An instance row plus the definition members the history DTO shows."""

    instance: m.ProcessInstance
    definition_name: str | None
    definition_version: int | None

    def __getattr__(self, name: str) -> Any:
        # Lets schemas read the row's columns directly (historic.business_key, …).
        if name.startswith("__"):  # copy/pickle probing before the fields exist
            raise AttributeError(name)
        return getattr(self.instance, name)


# --------------------------------------------------------------------------------------------
# Conditions


def _check_exclusive(f: Mapping[str, Any], runtime: bool) -> None:
    if not runtime and sum(1 for name in HISTORY_STATES if f.get(name)) > 1:
        raise InvalidRequest(STATE_MESSAGE)
    if f.get("rootProcessInstances"):
        for name in ("superProcessInstanceId", "superProcessInstance", "superCaseInstanceId"):
            if f.get(name) is not None:
                target = "superCaseInstanceId" if name == "superCaseInstanceId" else "superProcessInstanceId"
                raise InvalidRequest(f"Invalid query usage: cannot set both rootProcessInstances and {target}")
    if f.get("leafProcessInstances") and f.get("subProcessInstance") is not None:
        raise InvalidRequest("Invalid query usage: cannot set both leafProcessInstances and subProcessInstanceId")


def _window(column: Any, after: Any, before: Any) -> ColumnElement[bool]:
    conds = []
    if after is not None:
        conds.append(at_or_after(column, after))  # every bound inclusive, as in Camunda
    if before is not None:
        conds.append(at_or_before(column, before))
    return and_(*conds)


def _incident_conditions(f: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """Conditions on one incident row (history names and runtime names)."""
    conds: list[ColumnElement[bool]] = []
    if f.get("withIncidents") or f.get("withRootIncidents") or f.get("withIncident"):
        conds.append(INC.id.is_not(None))
    if f.get("incidentIdIn") is not None:
        conds.append(INC.id.in_(f["incidentIdIn"]))
    if f.get("incidentId") is not None:
        conds.append(INC.id == f["incidentId"])
    if f.get("incidentType") is not None:
        conds.append(INC.type == f["incidentType"])
    if f.get("incidentStatus") is not None:
        conds.append(INC.status == f["incidentStatus"])  # "open" / "resolved"; anything else matches nothing
    if f.get("incidentMessage") is not None:
        conds.append(INC.message == f["incidentMessage"])
    if f.get("incidentMessageLike") is not None:
        conds.append(INC.message.like(f["incidentMessageLike"]))
    return conds


def _incident_exists(conds: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    return exists(select(INC.id).where(INC.process_instance_id == PI.id, *conds))


def _activity_exists(*conds: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(AI.id).where(AI.process_instance_id == PI.id, *conds))


def _conditions(f: Mapping[str, Any], runtime: bool, *, combined: bool) -> list[ColumnElement[bool]]:
    """Conditions for one filter dict. ``combined``: the caller ANDs them (the incident filters
    then share one incident row, as Camunda's join does); otherwise each stands alone for OR."""
    _check_exclusive(f, runtime)
    conds: list[ColumnElement[bool]] = []
    for name, column in _EQUALS.items():
        if f.get(name) is not None:
            conds.append(column == f[name])
    for name, column in _LIKES.items():
        if f.get(name) is not None:
            conds.append(column.like(f[name]))  # case-sensitive (SQLite: db.py's pragma)
    for name, column in _IN.items():
        if f.get(name) is not None:
            conds.append(column.in_(f[name]))
    for name, column in _NOT_IN.items():
        if f.get(name) is not None:
            conds.append(column.not_in(f[name]))
    for name in _CASE_FILTERS:
        if f.get(name) is not None:
            conds.append(false())
    if f.get("rootProcessInstanceId") is not None:
        conds.append(func.coalesce(PI.root_instance_id, PI.id) == f["rootProcessInstanceId"])
    if f.get("rootProcessInstances"):
        conds.append(PI.super_instance_id.is_(None))
    for name in ("subProcessInstanceId", "subProcessInstance"):
        if f.get(name) is not None:
            child = aliased(PI)
            conds.append(PI.id.in_(select(child.super_instance_id).where(child.id == f[name])))
    if f.get("leafProcessInstances"):
        child = aliased(PI)
        conds.append(~exists(select(child.id).where(child.super_instance_id == PI.id, child.end_time.is_(None))))
    if f.get("processDefinitionWithoutTenantId"):
        conds.append(PD.tenant_id.is_(None))
    if f.get("withoutTenantId"):
        conds.append(PI.tenant_id.is_(None))
    # Finished or not, and the state flags
    if f.get("finished"):
        conds.append(PI.end_time.is_not(None))
    if f.get("unfinished"):
        conds.append(PI.end_time.is_(None))
    states = [state for name, state in HISTORY_STATES.items() if f.get(name)]
    if runtime and len(states) > 1:
        states = ["SUSPENDED"]  # runtime query: the last setter (suspended) wins, as in Camunda
    conds.extend(PI.state == state for state in states)
    # Dates
    if f.get("startedAfter") is not None or f.get("startedBefore") is not None:
        conds.append(_window(PI.start_time, f.get("startedAfter"), f.get("startedBefore")))
    if f.get("finishedAfter") is not None or f.get("finishedBefore") is not None:
        conds.append(_window(PI.end_time, f.get("finishedAfter"), f.get("finishedBefore")))
    after, before = f.get("executedActivityAfter"), f.get("executedActivityBefore")
    if after is not None or before is not None:
        conds.append(_activity_exists(AI.skipped.is_(False), or_(
            _window(AI.start_time, after, before), _window(AI.end_time, after, before))))
    after, before = f.get("executedJobAfter"), f.get("executedJobBefore")
    if after is not None or before is not None:
        conds.append(_job_executed(after, before))
    # Activities
    active_ids = list(dict.fromkeys([*(f.get("activityIdIn") or []), *(f.get("activeActivityIdIn") or [])]))
    if active_ids:
        # An activity whose script failed carries the incident; count it as active too.
        conds.append(or_(_activity_exists(AI.end_time.is_(None), AI.activity_id.in_(active_ids)),
                         _incident_exists([INC.status == "open", INC.activity_id.in_(active_ids)])))
    if f.get("executedActivityIdIn") is not None:
        conds.append(_activity_exists(AI.end_time.is_not(None), AI.skipped.is_(False),
                                      AI.activity_id.in_(f["executedActivityIdIn"])))
    # Incidents and jobs
    incident_conds = _incident_conditions(f)
    status = [INC.status == "open"] if runtime else []  # runtime incidents are the open ones
    if incident_conds and combined:
        conds.append(_incident_exists([*incident_conds, *status]))
    else:
        conds.extend(_incident_exists([c, *status]) for c in incident_conds)
    if f.get("withJobsRetrying"):
        conds.append(exists(select(m.Job.id).where(
            m.Job.process_instance_id == PI.id, m.Job.retries > 0, m.Job.exception_message.is_not(None))))
    # Variables: last values of process-scope variables
    for variable in f.get("variables") or ():
        conds.append(variable_condition(
            PI.id, variable.name, variable.operator, variable.value,
            names_ignore_case=bool(f.get("variableNamesIgnoreCase")),
            values_ignore_case=bool(f.get("variableValuesIgnoreCase"))))
    return conds


def _job_executed(after: Any, before: Any) -> ColumnElement[bool]:
    timer_fired = _activity_exists(AI.activity_type.in_(TIMER_ACTIVITY_TYPES), AI.canceled.is_(False),
                                   AI.end_time.is_not(None), _window(AI.end_time, after, before))
    failed_job = exists(select(m.Job.id).where(
        m.Job.process_instance_id == PI.id, m.Job.exception_message.is_not(None),
        _window(func.coalesce(m.Job.due_date, m.Job.created), after, before)))
    return or_(timer_fired, failed_job)


def _query(columns: Sequence[Any], filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]],
           runtime: bool) -> Select:
    query = select(*columns).select_from(PI).outerjoin(PD, PD.id == PI.definition_id)
    conds = _conditions(filters, runtime, combined=True)
    for group in or_queries:
        alternatives = _conditions(group, runtime, combined=False)
        if alternatives:  # an OR group without conditions restricts nothing
            conds.append(or_(*alternatives))
    if runtime:
        conds.append(PI.end_time.is_(None))
    return query.where(*conds)


def instance_query(filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = (), *,
                   runtime: bool = False) -> Select:
    """``SELECT process_instance`` (joined to its definition) restricted by the filters.

    Raises :class:`InvalidRequest` for the contract's 400s (two states, rootProcessInstances with
    a super instance). ``runtime=True`` keeps only running instances.
    """
    return _query([PI], filters, or_queries, runtime)


def is_empty_query(filters: Mapping[str, Any] | None, or_queries: Sequence[Mapping[str, Any]] | None = ()) -> bool:
    """Contract 16.5: ``{}`` or a query whose members are all null (sorting aside) is no query."""
    def empty(query: Mapping[str, Any] | None) -> bool:
        return not query or all(
            value is None or value is False or value == [] or value == {}
            for key, value in query.items() if key not in ("sorting", "sortBy", "sortOrder", "orQueries"))
    return empty(filters) and all(empty(group) for group in or_queries or ())


# --------------------------------------------------------------------------------------------
# Lists and counts


def list_runtime(ctx: Context, filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = (),
                 sorting: Sorting = (), first_result: int = 0,
                 max_results: int | None = None) -> list[m.ProcessInstance]:
    query = apply_sorting(instance_query(filters, or_queries, runtime=True), sorting, RUNTIME_SORT_KEYS, PI.id)
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(apply_paging(query, first_result, max_results)))


def count_runtime(ctx: Context, filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = ()) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(instance_query(filters, or_queries, runtime=True))) or 0


def historic(row: Any) -> HistoricProcessInstance:
    """Wrap a ``(ProcessInstance, definition name, definition version)`` result row."""
    instance, name, version = row
    if version is None:  # definition gone: the id still says "key:version:uuid"
        parts = instance.definition_id.split(":")
        version = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
    return HistoricProcessInstance(instance, name, version)


def list_history(ctx: Context, filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = (),
                 sorting: Sorting = (), first_result: int = 0,
                 max_results: int | None = None) -> list[HistoricProcessInstance]:
    query = apply_sorting(_query([PI, PD.name, PD.version], filters, or_queries, False), sorting,
                          HISTORY_SORT_KEYS, PI.id)
    with ctx.db.transaction(readonly=True) as session:
        return [historic(row) for row in session.execute(apply_paging(query, first_result, max_results))]


def count_history(ctx: Context, filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = ()) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(instance_query(filters, or_queries))) or 0


def history_ids(session: Session, filters: Mapping[str, Any], or_queries: Sequence[Mapping[str, Any]] = (),
                sorting: Sorting = (), page_size: int = 1000) -> Iterator[str]:
    """The ids a history query selects, in its order, fetched ``page_size`` at a time.

    Keyset paging on (sort values…, id), so memory stays flat and rows never repeat. Only
    instances that existed when the stream began are visited: ids are time-ordered, and a
    restart that creates (possibly already finished) instances while it streams must not meet
    its own new instances again.
    """
    ceiling = session.scalar(select(func.max(PI.id)))
    if ceiling is None:
        return
    keys = [(HISTORY_SORT_KEYS[key], ascending) for key, ascending in sorting]
    columns = [PI.id, *(expr.label(f"k{i}") for i, (expr, _) in enumerate(keys))]
    base = apply_sorting(_query(columns, filters, or_queries, False).where(PI.id <= ceiling), sorting,
                         HISTORY_SORT_KEYS, PI.id)
    last: Any = None
    while True:
        query = base if last is None else base.where(_after(keys, last))
        rows = session.execute(query.limit(page_size)).all()
        for row in rows:
            yield row[0]
        if len(rows) < page_size:
            return
        last = rows[-1]


def _after(keys: Sequence[tuple[Any, bool]], last: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``last`` in apply_sorting's order (nulls first asc, last desc; id breaks ties)."""
    alternatives = []
    equal_prefix: list[ColumnElement[bool]] = []
    for (expr, ascending), value in zip(keys, last[1:], strict=True):
        if ascending:
            after = expr.is_not(None) if value is None else expr > value
        else:
            after = false() if value is None else or_(expr < value, expr.is_(None))
        alternatives.append(and_(*equal_prefix, after))
        equal_prefix.append(expr.is_(None) if value is None else expr == value)
    alternatives.append(and_(*equal_prefix, PI.id > last[0]))
    return or_(*alternatives)
