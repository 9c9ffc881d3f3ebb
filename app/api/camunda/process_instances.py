"""``/process-instance``: running instances, their variables, activity tree, suspension, deletion."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.common import json_body, member, string_list
from app.api.camunda.openapi import count_doc, list_doc, query_body_schema, request_body
from app.api.camunda.params import QuerySpec, parse_bool_param
from app.api.camunda.request_schemas import PatchVariablesSchema, SuspensionStateSchema, VariableValueRequestSchema
from app.api.camunda.schemas import (
    VARIABLE_MAP,
    ActivityInstanceTreeSchema,
    CountSchema,
    ProcessInstanceSchema,
    VariableValueSchema,
    dump_activity_tree,
)
from app.api.camunda.variables import parse_variable, parse_variable_map, render_variable, render_variable_map
from app.errors import BatonError, InvalidRequest, NotFound
from app.services import instance_queries as queries
from app.services import instances as service

blp = Blueprint("camunda_process_instances", __name__, url_prefix="/engine-rest/process-instance",
                description="Process instances")

QUERY = QuerySpec(
    filters={
        "processInstanceIds": "str_list", "businessKey": "str", "businessKeyLike": "str",
        "processDefinitionId": "str", "processDefinitionKey": "str", "processDefinitionKeyIn": "str_list",
        "processDefinitionKeyNotIn": "str_list", "deploymentId": "str", "superProcessInstance": "str",
        "subProcessInstance": "str", "active": "true_only", "suspended": "true_only",
        "tenantIdIn": "str_list", "withoutTenantId": "true_only",
        "processDefinitionWithoutTenantId": "true_only", "activityIdIn": "str_list",
        "rootProcessInstances": "true_only", "leafProcessInstances": "true_only",
        "rootProcessInstanceId": "str", "variables": "variables", "variableNamesIgnoreCase": "true_only",
        "variableValuesIgnoreCase": "true_only", "caseInstanceId": "str", "superCaseInstance": "str",
        "subCaseInstance": "str", "withIncident": "true_only", "incidentId": "str", "incidentType": "str",
        "incidentMessage": "str", "incidentMessageLike": "str",
    },
    sort_by=queries.RUNTIME_SORT_KEYS,
    or_queries=True,
)
QUERY_BODY = query_body_schema(QUERY, "ProcessInstanceQuery")


def _list(q) -> list:  # type: ignore[no-untyped-def]
    return queries.list_runtime(context(), q.filters, q.or_queries, q.sorting, q.first_result, q.max_results)


@blp.route("", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.response(200, ProcessInstanceSchema(many=True))
def list_instances() -> list:
    return _list(QUERY.from_args(request.args))


@blp.route("", methods=["POST"])
@blp.doc(**list_doc(QUERY, QUERY_BODY))
@blp.response(200, ProcessInstanceSchema(many=True))
def query_instances() -> list:
    return _list(QUERY.from_json(json_body(), request.args))


@blp.route("/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.response(200, CountSchema)
def count() -> dict:
    q = QUERY.from_args(request.args)
    return {"count": queries.count_runtime(context(), q.filters, q.or_queries)}


@blp.route("/count", methods=["POST"])
@blp.doc(**count_doc(QUERY, QUERY_BODY))
@blp.response(200, CountSchema)
def count_post() -> dict:
    q = QUERY.from_json(json_body(), request.args)
    return {"count": queries.count_runtime(context(), q.filters, q.or_queries)}


@blp.route("/<instance_id>", methods=["GET"])
@blp.response(200, ProcessInstanceSchema)
def get(instance_id: str) -> object:
    return service.get_instance(context(), instance_id)


def _flag(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "boolean"},
            "description": description}


@blp.route("/<instance_id>", methods=["DELETE"])
@blp.doc(parameters=[
    _flag("failIfNotExists", "Default `true`: an unknown id answers 404; `false`: 204."),
    _flag("skipCustomListeners", "Accepted and ignored."),
    _flag("skipIoMappings", "Accepted and ignored."),
    _flag("skipSubprocesses", "Accepted and ignored."),
    {"name": "deleteReason", "in": "query", "required": False, "schema": {"type": "string"}},
])
@blp.alt_response(204, success=True, description="Deleted.")
def delete(instance_id: str) -> tuple[str, int]:
    fail = parse_bool_param(request.args, "failIfNotExists", True)
    parse_bool_param(request.args, "skipCustomListeners", False)
    parse_bool_param(request.args, "skipIoMappings", False)
    parse_bool_param(request.args, "skipSubprocesses", False)
    service.delete_instance(context(), instance_id, fail_if_not_exists=fail,
                            reason=request.args.get("deleteReason"))
    return "", 204


def _unknown_instance_500(instance_id: str) -> BatonError:
    return BatonError(f"Process instance with id {instance_id} does not exist", camunda_type="InvalidRequestException",
                      status=500)


# Camunda answers an unknown instance on these variable endpoints with 500 (contract 8.5).
_UNKNOWN_500 = "An unknown instance answers 500 `InvalidRequestException`, as in Camunda."


@blp.route("/<instance_id>/variables", methods=["GET"])
@blp.doc(description=_UNKNOWN_500)
@blp.alt_response(200, schema=VARIABLE_MAP, success=True, description="The process variables.")
def variables(instance_id: str) -> dict:
    try:
        return render_variable_map(service.get_variables(context(), instance_id))
    except NotFound:
        raise _unknown_instance_500(instance_id) from None


@blp.route("/<instance_id>/variables", methods=["POST"])
@blp.doc(description=_UNKNOWN_500, requestBody=request_body(PatchVariablesSchema))
@blp.alt_response(204, success=True, description="Variables set and deleted.")
def modify_variables(instance_id: str) -> tuple[str, int]:
    body = json_body()
    modifications = parse_variable_map(body.get("modifications"), member="modifications")
    deletions = string_list(body, "deletions") or []
    try:
        service.modify_variables(context(), instance_id, modifications, deletions)
    except NotFound:
        raise _unknown_instance_500(instance_id) from None
    return "", 204


@blp.route("/<instance_id>/variables/<name>", methods=["GET"])
@blp.alt_response(200, schema=VariableValueSchema, success=True, description="The variable's value object.")
def variable(instance_id: str, name: str) -> dict:
    return render_variable(service.get_variable(context(), instance_id, name))


@blp.route("/<instance_id>/variables/<name>", methods=["PUT"])
@blp.doc(requestBody=request_body(VariableValueRequestSchema))
@blp.alt_response(204, success=True, description="Variable set.")
def put_variable(instance_id: str, name: str) -> tuple[str, int]:
    parsed = parse_variable(name, json_body())
    service.modify_variables(context(), instance_id, {name: parsed.typed})
    return "", 204


@blp.route("/<instance_id>/variables/<name>", methods=["DELETE"])
@blp.doc(description=_UNKNOWN_500)
@blp.alt_response(204, success=True, description="Variable deleted.")
def delete_variable(instance_id: str, name: str) -> tuple[str, int]:
    try:
        service.modify_variables(context(), instance_id, {}, [name])
    except NotFound:
        raise _unknown_instance_500(instance_id) from None
    return "", 204


@blp.route("/<instance_id>/activity-instances", methods=["GET"])
@blp.alt_response(200, schema=ActivityInstanceTreeSchema, success=True,
                  description="The activity instance tree; the root's id is the process instance id.")
def activity_instances(instance_id: str) -> dict:
    row, definition, root = service.activity_tree(context(), instance_id)
    return dump_activity_tree(root, row.id, definition.id)


@blp.route("/<instance_id>/suspended", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": SuspensionStateSchema}}})
@blp.alt_response(204, success=True, description="Suspended or activated.")
def suspended(instance_id: str) -> tuple[str, int]:
    body = json_body()
    value = member(body, "suspended", bool)
    if value is None:
        raise InvalidRequest("The member 'suspended' is required")
    service.set_suspended(context(), instance_id, value)
    return "", 204
