"""``/process-definition``: list, get (by id / key / key+tenant), XML, start, suspension."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.common import json_body, member, self_link
from app.api.camunda.openapi import count_doc, error_response, list_doc, request_body
from app.api.camunda.params import QuerySpec
from app.api.camunda.request_schemas import (
    ProcessDefinitionKeySuspensionSchema,
    ProcessDefinitionSuspensionSchema,
    StartProcessInstanceSchema,
)
from app.api.camunda.schemas import (
    CountSchema,
    ProcessDefinitionDiagramSchema,
    ProcessDefinitionSchema,
    ProcessInstanceSchema,
    ProcessInstanceWithVariablesSchema,
)
from app.api.camunda.variables import parse_variable_map, render_variable_map
from app.errors import BatonError, InvalidRequest, NotFound
from app.services import definitions as service
from app.services import instances

blp = Blueprint("camunda_process_definitions", __name__, url_prefix="/engine-rest/process-definition",
                description="Process definitions")

QUERY = QuerySpec(
    filters={
        "processDefinitionId": "str", "processDefinitionIdIn": "str_list", "name": "str", "nameLike": "str",
        "deploymentId": "str", "deployedAfter": "date", "deployedAt": "date", "key": "str",
        "keysIn": "str_list", "keyLike": "str", "category": "str", "categoryLike": "str", "version": "int",
        "latestVersion": "true_only", "resourceName": "str", "resourceNameLike": "str", "active": "true_only",
        "suspended": "true_only", "tenantIdIn": "str_list", "withoutTenantId": "true_only",
        "includeProcessDefinitionsWithoutTenantId": "true_only", "versionTag": "str", "versionTagLike": "str",
        "withoutVersionTag": "true_only", "startableInTasklist": "true_only",
        "notStartableInTasklist": "true_only",
    },
    unsupported=["incidentId", "incidentType", "incidentMessage", "incidentMessageLike",
                 "startablePermissionCheck", "startableInTasklistPermissionCheck"],
    sort_by=service.SORT_COLUMNS.keys(),
)


@blp.route("", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.response(200, ProcessDefinitionSchema(many=True))
def list_definitions() -> list:
    q = QUERY.from_args(request.args)
    return service.list_definitions(context(), q.filters, q.sorting, q.first_result, q.max_results)


@blp.route("/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.response(200, CountSchema)
def count() -> dict:
    q = QUERY.from_args(request.args)
    return {"count": service.count_definitions(context(), q.filters)}


@blp.route("/<definition_id>", methods=["GET"])
@blp.response(200, ProcessDefinitionSchema)
def get(definition_id: str) -> object:
    return service.get_definition(context(), definition_id)


@blp.route("/key/<key>", methods=["GET"])
@blp.response(200, ProcessDefinitionSchema)
def get_by_key(key: str) -> object:
    """The latest version of the definition with this key."""
    return service.get_latest_by_key(context(), key)


@blp.route("/key/<key>/tenant-id/<tenant_id>", methods=["GET"])
@blp.response(200, ProcessDefinitionSchema)
def get_by_key_and_tenant(key: str, tenant_id: str) -> object:
    return service.get_latest_by_key(context(), key, tenant_id)


def _xml(definition: Any) -> dict:
    return {"id": definition.id, "bpmn20Xml": service.get_xml(context(), definition)}


_XML = {"schema": ProcessDefinitionDiagramSchema, "success": True, "description": "The BPMN 2.0 XML."}


@blp.route("/<definition_id>/xml", methods=["GET"])
@blp.alt_response(200, **_XML)
def xml(definition_id: str) -> dict:
    return _xml(service.get_definition(context(), definition_id))


@blp.route("/key/<key>/xml", methods=["GET"])
@blp.alt_response(200, **_XML)
def xml_by_key(key: str) -> dict:
    return _xml(service.get_latest_by_key(context(), key))


@blp.route("/key/<key>/tenant-id/<tenant_id>/xml", methods=["GET"])
@blp.alt_response(200, **_XML)
def xml_by_key_and_tenant(key: str, tenant_id: str) -> dict:
    return _xml(service.get_latest_by_key(context(), key, tenant_id))


def _start(request_: instances.StartRequest) -> dict:
    body = json_body()

    def prefix() -> str:
        # Camunda's texts name the definition id; a by-key start looks it up only when failing.
        definition_id = request_.definition_id or service.get_latest_by_key(context(), request_.key or "").id
        return f"Cannot instantiate process definition {definition_id}: "

    try:
        if member(body, "caseInstanceId", str) is not None:
            raise InvalidRequest("caseInstanceId is not supported: Baton has no case instances")
        request_.business_key = member(body, "businessKey", str)
        request_.variables = parse_variable_map(body.get("variables"))
        instructions = member(body, "startInstructions", list) or []
        if instructions:
            from app.api.camunda.instructions import parse_instructions

            request_.start_instructions = parse_instructions(instructions, allow_cancel=False)
        with_variables = member(body, "withVariablesInReturn", bool, False)
        request_.with_variables = with_variables
    except InvalidRequest as error:
        raise InvalidRequest(prefix() + error.message, camunda_type=error.camunda_type) from None
    try:
        started = instances.start_instance(context(), request_)
    except NotFound as error:
        if request_.definition_id is not None and error.message.startswith("No matching definition"):
            raise BatonError(f"{prefix()}no deployed process definition found with id '{request_.definition_id}': "
                             "processDefinition is null", camunda_type="RestException", status=500) from None
        raise
    except InvalidRequest as error:
        if error.message.startswith("Cannot instantiate"):
            raise
        raise InvalidRequest(prefix() + error.message, camunda_type=error.camunda_type) from None
    result = ProcessInstanceSchema().dump(started.instance)
    result["links"] = self_link(f"/process-instance/{started.instance.id}")
    if with_variables:
        result["variables"] = render_variable_map(started.variables)
    return result


#: The start operations' documentation. An unknown definition id answers 500 RestException, as
#: Camunda does (contract 7.5); an unknown key answers 404.
_START = {"requestBody": request_body(StartProcessInstanceSchema)}
_STARTED = {"schema": ProcessInstanceWithVariablesSchema, "success": True,
            "description": "The new instance (`variables` only with `withVariablesInReturn`)."}


@blp.route("/<definition_id>/start", methods=["POST"])
@blp.doc(**_START)
@blp.alt_response(200, **_STARTED)
def start(definition_id: str) -> dict:
    return _start(instances.StartRequest(definition_id=definition_id))


@blp.route("/<definition_id>/submit-form", methods=["POST"])
@blp.doc(**_START)
@blp.alt_response(200, **_STARTED)
def submit_form(definition_id: str) -> dict:
    return _start(instances.StartRequest(definition_id=definition_id))


@blp.route("/key/<key>/start", methods=["POST"])
@blp.doc(**_START)
@blp.alt_response(200, **_STARTED)
def start_by_key(key: str) -> dict:
    # The key is resolved inside the start transaction; error texts name the key.
    return _start(instances.StartRequest(key=key))


@blp.route("/key/<key>/submit-form", methods=["POST"])
@blp.doc(**_START)
@blp.alt_response(200, **_STARTED)
def submit_form_by_key(key: str) -> dict:
    definition = service.get_latest_by_key(context(), key)
    return _start(instances.StartRequest(definition_id=definition.id))


@blp.route("/key/<key>/tenant-id/<tenant_id>/start", methods=["POST"])
@blp.doc(**_START)
@blp.alt_response(200, **_STARTED)
def start_by_key_and_tenant(key: str, tenant_id: str) -> dict:
    definition = service.get_latest_by_key(context(), key, tenant_id)
    return _start(instances.StartRequest(definition_id=definition.id))


def _suspension(definition_id: str | None = None, key: str | None = None) -> tuple[str, int]:
    body = json_body()
    suspended = member(body, "suspended", bool)
    if suspended is None:
        raise InvalidRequest("The member 'suspended' is required")
    include = member(body, "includeProcessInstances", bool, False)
    key = key or member(body, "processDefinitionKey", str)
    service.set_suspended(context(), suspended=suspended, definition_id=definition_id, key=key,
                          include_instances=include)
    return "", 204


_SUSPEND = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ProcessDefinitionSuspensionSchema}}}}
_SUSPEND_BY_KEY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ProcessDefinitionKeySuspensionSchema}}}}
_SUSPENDED = {"success": True, "description": "Suspended or activated."}


@blp.route("/<definition_id>/suspended", methods=["PUT"])
@blp.doc(**_SUSPEND)
@blp.alt_response(204, **_SUSPENDED)
def suspend(definition_id: str) -> tuple[str, int]:
    return _suspension(definition_id=definition_id)


@blp.route("/key/<key>/suspended", methods=["PUT"])
@blp.doc(**_SUSPEND_BY_KEY)
@blp.alt_response(204, **_SUSPENDED)
def suspend_by_key(key: str) -> tuple[str, int]:
    return _suspension(key=key)


@blp.route("/suspended", methods=["PUT"])
@blp.doc(**_SUSPEND)
@blp.alt_response(204, **_SUSPENDED)
@blp.alt_response(404, error_response(404))  # no definition with processDefinitionKey
def suspend_many() -> tuple[str, int]:
    return _suspension()
