"""Runtime incidents (``GET /incident``): the open ones, as Camunda's runtime table holds them.

Resolved incidents stay in the ``incident`` table with ``status="resolved"`` for history
queries; the runtime API never shows them. Every Baton incident is a root incident, so
``causeIncidentId`` and ``rootCauseIncidentId`` are its own id; ``configuration`` is the id of
the failed job (or external task).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select

from app.errors import NotFound
from app.services.context import Context
from app.services.jobs import api_job_definition_id, job_definition_condition
from app.store import models as m
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of, like

INC = m.Incident
Filters = Mapping[str, Any]

SORT_COLUMNS: dict[str, Any] = {
    "incidentId": INC.id, "incidentMessage": INC.message, "incidentTimestamp": INC.created,
    "incidentType": INC.type, "executionId": INC.execution_id, "activityId": INC.activity_id,
    "processInstanceId": INC.process_instance_id, "processDefinitionId": INC.definition_id,
    "causeIncidentId": INC.id, "rootCauseIncidentId": INC.id, "configuration": INC.job_id, "tenantId": INC.tenant_id,
}

_EQUALS = {
    "incidentId": INC.id, "incidentType": INC.type, "incidentMessage": INC.message,
    "processDefinitionId": INC.definition_id, "processInstanceId": INC.process_instance_id,
    "executionId": INC.execution_id, "activityId": INC.activity_id, "failedActivityId": INC.activity_id,
    "causeIncidentId": INC.id, "rootCauseIncidentId": INC.id, "configuration": INC.job_id,
}


@dataclass
class IncidentView:
    row: m.Incident
    job_definition_id: str | None


def incident_query(filters: Filters) -> Select:
    where: list[ColumnElement[bool]] = [INC.status == "open"]
    where.extend(column == filters[name] for name, column in _EQUALS.items() if name in filters)
    if "incidentMessageLike" in filters:
        where.append(like(INC.message, filters["incidentMessageLike"]))
    if "incidentTimestampBefore" in filters:
        where.append(INC.created < filters["incidentTimestampBefore"])
    if "incidentTimestampAfter" in filters:
        where.append(INC.created > filters["incidentTimestampAfter"])
    if "processDefinitionKeyIn" in filters:
        where.append(INC.definition_id.in_(select(m.ProcessDefinition.id).where(
            m.ProcessDefinition.key.in_(filters["processDefinitionKeyIn"]))))
    if "tenantIdIn" in filters:
        where.append(INC.tenant_id.in_(filters["tenantIdIn"]))
    if "jobDefinitionIdIn" in filters:
        where.append(exists(select(m.Job.id).where(
            m.Job.id == INC.job_id, or_(*(job_definition_condition(v) for v in filters["jobDefinitionIdIn"])))))
    return select(INC).where(*where)


def _views(session: Any, rows: list[m.Incident]) -> list[IncidentView]:
    job_ids = [row.job_id for row in rows if row.job_id]
    jobs = {job.id: job for job in session.scalars(select(m.Job).where(m.Job.id.in_(job_ids)))} if job_ids else {}
    result = []
    for row in rows:
        job = jobs.get(row.job_id or "")
        result.append(IncidentView(row, api_job_definition_id(job) if job is not None else None))
    return result


def list_incidents(ctx: Context, filters: Filters, sorting: Sorting = (), first_result: int = 0,
                   max_results: int | None = None) -> list[IncidentView]:
    query = apply_paging(apply_sorting(incident_query(filters), sorting, SORT_COLUMNS, INC.id),
                         first_result, max_results)
    with ctx.db.transaction(readonly=True) as session:
        return _views(session, list(session.scalars(query)))


def count_incidents(ctx: Context, filters: Filters) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(incident_query(filters))) or 0


def get_incident(ctx: Context, incident_id: str) -> IncidentView:
    with ctx.db.transaction(readonly=True) as session:
        row = session.get(m.Incident, incident_id)
        if row is None or row.status != "open":
            raise NotFound(f"No matching incident with id {incident_id}")
        return _views(session, [row])[0]
