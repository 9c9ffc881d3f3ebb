"""``/history``: historic process instances (12), activity instances (13), variable instances.

``PROCESS_INSTANCE_QUERY`` (alias ``HISTORIC_INSTANCE_QUERY``) is also the parser of restart's
``historicProcessInstanceQuery``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import fields

from app.api.auth import context
from app.api.camunda.common import json_body
from app.api.camunda.history_schemas import (
    HistoricActivityInstanceSchema,
    HistoricProcessInstanceSchema,
    HistoricVariableInstanceSchema,
)
from app.api.camunda.openapi import count_doc, list_doc, query_body_schema
from app.api.camunda.params import ParsedQuery, QuerySpec
from app.api.camunda.schemas import CountSchema
from app.errors import InvalidRequest
from app.services import history as service
from app.services import instance_queries as queries

blp = Blueprint("camunda_history", __name__, url_prefix="/engine-rest/history", description="History")

PROCESS_INSTANCE_QUERY = QuerySpec(
    filters={
        "processInstanceId": "str", "processInstanceIds": "str_list", "processInstanceIdNotIn": "str_list",
        "rootProcessInstanceId": "str", "rootProcessInstances": "true_only",
        "processDefinitionId": "str", "processDefinitionKey": "str", "processDefinitionKeyIn": "str_list",
        "processDefinitionKeyNotIn": "str_list", "processDefinitionName": "str", "processDefinitionNameLike": "str",
        "processInstanceBusinessKey": "str", "processInstanceBusinessKeyIn": "str_list",
        "processInstanceBusinessKeyLike": "str",
        "finished": "true_only", "unfinished": "true_only",
        "active": "true_only", "suspended": "true_only", "completed": "true_only",
        "externallyTerminated": "true_only", "internallyTerminated": "true_only",
        "startedBefore": "date", "startedAfter": "date", "finishedBefore": "date", "finishedAfter": "date",
        "executedActivityBefore": "date", "executedActivityAfter": "date",
        "executedJobBefore": "date", "executedJobAfter": "date",
        "startedBy": "str", "superProcessInstanceId": "str", "subProcessInstanceId": "str",
        "superCaseInstanceId": "str", "subCaseInstanceId": "str", "caseInstanceId": "str",
        "tenantIdIn": "str_list", "withoutTenantId": "true_only",
        "activityIdIn": "str_list", "activeActivityIdIn": "str_list", "executedActivityIdIn": "str_list",
        "withIncidents": "true_only", "withRootIncidents": "true_only", "incidentIdIn": "str_list",
        "incidentType": "str", "incidentStatus": "str", "incidentMessage": "str", "incidentMessageLike": "str",
        "withJobsRetrying": "true_only",
        "variables": "variables", "variableNamesIgnoreCase": "true_only", "variableValuesIgnoreCase": "true_only",
    },
    sort_by=queries.HISTORY_SORT_KEYS,
    or_queries=True,
)
HISTORIC_INSTANCE_QUERY = PROCESS_INSTANCE_QUERY  # the name restart's blueprint imports
# Also the schema of restart's historicProcessInstanceQuery member.
PROCESS_INSTANCE_QUERY_BODY = query_body_schema(PROCESS_INSTANCE_QUERY, "HistoricProcessInstanceQuery")

ACTIVITY_INSTANCE_QUERY = QuerySpec(
    filters={
        "activityInstanceId": "str", "processInstanceId": "str", "processDefinitionId": "str", "executionId": "str",
        "activityId": "str", "activityName": "str", "activityType": "str", "taskAssignee": "str",
        "finished": "true_only", "unfinished": "true_only", "canceled": "true_only", "completeScope": "true_only",
        "startedBefore": "date", "startedAfter": "date", "finishedBefore": "date", "finishedAfter": "date",
        "tenantIdIn": "str_list", "withoutTenantId": "true_only",
    },
    sort_by=service.ACTIVITY_SORT_KEYS,
)

VARIABLE_INSTANCE_QUERY = QuerySpec(
    filters={
        "variableName": "str", "variableNameLike": "str", "variableNameIn": "str_list",
        # GET only: a POST body's variableValue keeps its JSON type (see _variable_query_post).
        "variableValue": "str",
        "variableNamesIgnoreCase": "true_only", "variableValuesIgnoreCase": "true_only",
        "variableTypeIn": "str_list", "includeDeleted": "true_only",
        "processInstanceId": "str", "processInstanceIdIn": "str_list",
        "processDefinitionId": "str", "processDefinitionKey": "str",
        "executionIdIn": "str_list", "activityInstanceIdIn": "str_list",
        "caseInstanceId": "str", "caseExecutionIdIn": "str_list", "caseActivityIdIn": "str_list",
        "tenantIdIn": "str_list", "withoutTenantId": "true_only",
    },
    # Task-local variables are not kept in history, so this filter cannot be answered.
    unsupported=["taskIdIn"],
    sort_by=service.VARIABLE_SORT_KEYS,
)

ACTIVITY_INSTANCE_QUERY_BODY = query_body_schema(ACTIVITY_INSTANCE_QUERY, "HistoricActivityInstanceQuery")
# POST: variableValue keeps its JSON type (see _variable_query_post).
VARIABLE_INSTANCE_QUERY_BODY = query_body_schema(
    VARIABLE_INSTANCE_QUERY, "HistoricVariableInstanceQuery",
    overrides={"variableValue": fields.Raw(allow_none=True, metadata={
        "description": "A string, number or boolean; matched with its JSON type."})})


def _count(value: int) -> dict:
    return {"count": value}  # dumped by @blp.response(200, CountSchema)


# --- process instances ------------------------------------------------------------------------


def _instances(q: ParsedQuery) -> list:
    return queries.list_history(context(), q.filters, q.or_queries, q.sorting, q.first_result, q.max_results)


@blp.route("/process-instance", methods=["GET"])
@blp.doc(**list_doc(PROCESS_INSTANCE_QUERY))
@blp.response(200, HistoricProcessInstanceSchema(many=True))
def list_process_instances() -> list:
    return _instances(PROCESS_INSTANCE_QUERY.from_args(request.args))


@blp.route("/process-instance", methods=["POST"])
@blp.doc(**list_doc(PROCESS_INSTANCE_QUERY, PROCESS_INSTANCE_QUERY_BODY))
@blp.response(200, HistoricProcessInstanceSchema(many=True))
def query_process_instances() -> list:
    return _instances(PROCESS_INSTANCE_QUERY.from_json(json_body(), request.args))


@blp.route("/process-instance/count", methods=["GET"])
@blp.doc(**count_doc(PROCESS_INSTANCE_QUERY))
@blp.response(200, CountSchema)
def count_process_instances() -> dict:
    q = PROCESS_INSTANCE_QUERY.from_args(request.args)
    return _count(queries.count_history(context(), q.filters, q.or_queries))


@blp.route("/process-instance/count", methods=["POST"])
@blp.doc(**count_doc(PROCESS_INSTANCE_QUERY, PROCESS_INSTANCE_QUERY_BODY))
@blp.response(200, CountSchema)
def count_process_instances_post() -> dict:
    q = PROCESS_INSTANCE_QUERY.from_json(json_body(), request.args)
    return _count(queries.count_history(context(), q.filters, q.or_queries))


@blp.route("/process-instance/<instance_id>", methods=["GET"])
@blp.response(200, HistoricProcessInstanceSchema)
def get_process_instance(instance_id: str) -> object:
    return service.get_historic_instance(context(), instance_id)


# --- activity instances -----------------------------------------------------------------------


def _activities(q: ParsedQuery) -> list:
    return service.list_activities(context(), q.filters, q.sorting, q.first_result, q.max_results)


@blp.route("/activity-instance", methods=["GET"])
@blp.doc(**list_doc(ACTIVITY_INSTANCE_QUERY))
@blp.response(200, HistoricActivityInstanceSchema(many=True))
def list_activity_instances() -> list:
    return _activities(ACTIVITY_INSTANCE_QUERY.from_args(request.args))


@blp.route("/activity-instance", methods=["POST"])
@blp.doc(**list_doc(ACTIVITY_INSTANCE_QUERY, ACTIVITY_INSTANCE_QUERY_BODY))
@blp.response(200, HistoricActivityInstanceSchema(many=True))
def query_activity_instances() -> list:
    return _activities(ACTIVITY_INSTANCE_QUERY.from_json(json_body(), request.args))


@blp.route("/activity-instance/count", methods=["GET"])
@blp.doc(**count_doc(ACTIVITY_INSTANCE_QUERY))
@blp.response(200, CountSchema)
def count_activity_instances() -> dict:
    return _count(service.count_activities(context(), ACTIVITY_INSTANCE_QUERY.from_args(request.args).filters))


@blp.route("/activity-instance/count", methods=["POST"])
@blp.doc(**count_doc(ACTIVITY_INSTANCE_QUERY, ACTIVITY_INSTANCE_QUERY_BODY))
@blp.response(200, CountSchema)
def count_activity_instances_post() -> dict:
    q = ACTIVITY_INSTANCE_QUERY.from_json(json_body(), request.args)
    return _count(service.count_activities(context(), q.filters))


@blp.route("/activity-instance/<activity_instance_id>", methods=["GET"])
@blp.response(200, HistoricActivityInstanceSchema)
def get_activity_instance(activity_instance_id: str) -> object:
    return service.get_activity(context(), activity_instance_id)


# --- variable instances -----------------------------------------------------------------------


def _variable_query_post() -> ParsedQuery:
    """POST form: ``variableValue`` may be any JSON scalar (``42`` matches numeric variables)."""
    body: dict[str, Any] = dict(json_body())
    value = body.pop("variableValue", None)
    q = VARIABLE_INSTANCE_QUERY.from_json(body, request.args)
    if value is not None:
        if not isinstance(value, str | int | float):  # bool is an int
            raise InvalidRequest("Cannot deserialize member 'variableValue': expected a string, number or boolean")
        q.filters["variableValue"] = value
    return q


def _variables(q: ParsedQuery) -> list:
    return service.list_variables(context(), q.filters, q.sorting, q.first_result, q.max_results)


@blp.route("/variable-instance", methods=["GET"])
@blp.doc(**list_doc(VARIABLE_INSTANCE_QUERY))
@blp.response(200, HistoricVariableInstanceSchema(many=True))
def list_variable_instances() -> list:
    return _variables(VARIABLE_INSTANCE_QUERY.from_args(request.args))  # deserializeValues: no effect


@blp.route("/variable-instance", methods=["POST"])
@blp.doc(**list_doc(VARIABLE_INSTANCE_QUERY, VARIABLE_INSTANCE_QUERY_BODY))
@blp.response(200, HistoricVariableInstanceSchema(many=True))
def query_variable_instances() -> list:
    return _variables(_variable_query_post())


@blp.route("/variable-instance/count", methods=["GET"])
@blp.doc(**count_doc(VARIABLE_INSTANCE_QUERY))
@blp.response(200, CountSchema)
def count_variable_instances() -> dict:
    return _count(service.count_variables(context(), VARIABLE_INSTANCE_QUERY.from_args(request.args).filters))


@blp.route("/variable-instance/count", methods=["POST"])
@blp.doc(**count_doc(VARIABLE_INSTANCE_QUERY, VARIABLE_INSTANCE_QUERY_BODY))
@blp.response(200, CountSchema)
def count_variable_instances_post() -> dict:
    return _count(service.count_variables(context(), _variable_query_post().filters))


@blp.route("/variable-instance/<variable_id>", methods=["GET"])
@blp.response(200, HistoricVariableInstanceSchema)
def get_variable_instance(variable_id: str) -> object:
    return service.get_variable(context(), variable_id)
