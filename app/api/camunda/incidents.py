"""``/incident``: open incidents (failed jobs and external tasks). Semantics: ``app/services/incidents.py``."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.job_schemas import IncidentSchema
from app.api.camunda.openapi import count_doc, list_doc
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
@blp.doc(**list_doc(QUERY))
@blp.response(200, IncidentSchema(many=True))
def list_incidents() -> list:
    q = QUERY.from_args(request.args)
    return service.list_incidents(context(), q.filters, q.sorting, q.first_result, q.max_results)


@blp.route("/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.response(200, CountSchema)
def count() -> dict:
    q = QUERY.from_args(request.args)
    return {"count": service.count_incidents(context(), q.filters)}


@blp.route("/<incident_id>", methods=["GET"])
@blp.response(200, IncidentSchema)
def get(incident_id: str) -> object:
    return service.get_incident(context(), incident_id)
