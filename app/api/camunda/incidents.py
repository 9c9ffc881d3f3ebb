"""``/incident``: open incidents (failed jobs and external tasks). Semantics: ``app/services/incidents.py``."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.job_schemas import IncidentSchema
from app.api.camunda.params import QuerySpec
from app.api.camunda.schemas import CountSchema
from app.services import incidents as service

blp = Blueprint("camunda_incidents", __name__, url_prefix="/engine-rest/incident", description="Incidents")

QUERY = QuerySpec(
    filters={
        "incidentId": "str", "incidentType": "str", "incidentMessage": "str", "incidentMessageLike": "str",
        "processDefinitionId": "str", "processDefinitionKeyIn": "str_list", "processInstanceId": "str",
        "executionId": "str", "incidentTimestampBefore": "date", "incidentTimestampAfter": "date",
        "activityId": "str", "failedActivityId": "str", "causeIncidentId": "str", "rootCauseIncidentId": "str",
        "configuration": "str", "tenantIdIn": "str_list", "jobDefinitionIdIn": "str_list",
    },
    sort_by=service.SORT_COLUMNS,
)


@blp.route("", methods=["GET"])
def list_incidents() -> list:
    q = QUERY.from_args(request.args)
    rows = service.list_incidents(context(), q.filters, q.sorting, q.first_result, q.max_results)
    return IncidentSchema(many=True).dump(rows)


@blp.route("/count", methods=["GET"])
def count() -> dict:
    q = QUERY.from_args(request.args)
    return CountSchema().dump({"count": service.count_incidents(context(), q.filters)})


@blp.route("/<incident_id>", methods=["GET"])
def get(incident_id: str) -> dict:
    return IncidentSchema().dump(service.get_incident(context(), incident_id))
