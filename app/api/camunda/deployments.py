"""``/deployment``: multipart upload, list, get, resources, delete."""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.common import self_link
from app.api.camunda.openapi import count_doc, list_doc, ref
from app.api.camunda.params import QuerySpec, parse_bool_param
from app.api.camunda.request_schemas import DeploymentCreateSchema
from app.api.camunda.schemas import (
    CountSchema,
    DeploymentResourceSchema,
    DeploymentSchema,
    DeploymentWithDefinitionsSchema,
    ProcessDefinitionSchema,
)
from app.errors import InvalidRequest
from app.services import deployments as service

blp = Blueprint("camunda_deployments", __name__, url_prefix="/engine-rest/deployment", description="Deployments")

RESERVED_PARTS = {"deployment-name", "enable-duplicate-filtering", "deploy-changed-only", "deployment-source",
                  "tenant-id", "deployment-activation-time"}

QUERY = QuerySpec(
    filters={"id": "str", "name": "str", "nameLike": "str", "source": "str", "withoutSource": "true_only",
             "tenantIdIn": "str_list", "withoutTenantId": "true_only",
             "includeDeploymentsWithoutTenantId": "true_only", "after": "date", "before": "date"},
    sort_by=service.DEPLOYMENT_SORT.keys(),
)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


@blp.route("/create", methods=["POST"])
@blp.alt_response(200, schema=DeploymentWithDefinitionsSchema, success=True,
                  description="The deployment with the process definitions it created.")
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": DeploymentCreateSchema}}},
         # An unparsable model answers 400 ParseException with details per resource (contract 6.3).
         responses={"400": {"description": "`ParseException` (with `details`) for a model that cannot be "
                                           "deployed; `InvalidRequestException` for a malformed form.",
                            "content": {"application/json": {"schema": ref("ParseException")}}}})
def create() -> Response | dict:
    """Deploy BPMN resources (multipart upload)."""
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        raise InvalidRequest("No deployment resources contained in the form upload.")
    form = request.form
    resources: dict[str, bytes] = {}
    for part_name, storage in request.files.items(multi=True):
        if part_name in RESERVED_PARTS:
            continue
        if not storage.filename:
            raise InvalidRequest(f"No file name found in the deployment resource described by form parameter "
                                 f"'{part_name}'.")
        resources[storage.filename] = storage.read()
    for part_name in form:
        if part_name not in RESERVED_PARTS:
            # A text part without a filename is a resource without a name (Camunda refuses it).
            raise InvalidRequest(f"No file name found in the deployment resource described by form parameter "
                                 f"'{part_name}'.")
    result = service.create_deployment(context(), service.NewDeployment(
        name=form.get("deployment-name"), source=form.get("deployment-source"),
        tenant_id=form.get("tenant-id") or None, resources=resources,
        duplicate_filtering=_flag(form.get("enable-duplicate-filtering")),
        changed_only=_flag(form.get("deploy-changed-only")),
    ))
    body = DeploymentSchema().dump(result.deployment)
    body["links"] = self_link(f"/deployment/{result.deployment.id}")
    body["deployedProcessDefinitions"] = (
        {d.id: ProcessDefinitionSchema().dump(d) for d in result.definitions} if result.definitions else None)
    body["deployedCaseDefinitions"] = None
    body["deployedDecisionDefinitions"] = None
    body["deployedDecisionRequirementsDefinitions"] = None
    return body


@blp.route("", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.response(200, DeploymentSchema(many=True))
def list_deployments() -> list:
    q = QUERY.from_args(request.args)
    return service.list_deployments(context(), q.filters, q.sorting, q.first_result, q.max_results)


@blp.route("/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.response(200, CountSchema)
def count() -> dict:
    q = QUERY.from_args(request.args)
    return {"count": service.count_deployments(context(), q.filters)}


@blp.route("/<deployment_id>", methods=["GET"])
@blp.response(200, DeploymentSchema)
def get(deployment_id: str) -> object:
    return service.get_deployment(context(), deployment_id)


@blp.route("/<deployment_id>", methods=["DELETE"])
@blp.doc(parameters=[{"name": "cascade", "in": "query", "required": False, "schema": {"type": "boolean"},
                      "description": "Also delete the instances of its definitions."}])
@blp.alt_response(204, success=True, description="Deleted.")
def delete(deployment_id: str) -> tuple[str, int]:
    cascade = parse_bool_param(request.args, "cascade", False)
    service.delete_deployment(context(), deployment_id, cascade=cascade)
    return "", 204


@blp.route("/<deployment_id>/resources", methods=["GET"])
@blp.response(200, DeploymentResourceSchema(many=True))
def resources(deployment_id: str) -> list:
    return service.list_resources(context(), deployment_id)


@blp.route("/<deployment_id>/resources/<resource_id>", methods=["GET"])
@blp.response(200, DeploymentResourceSchema)
def resource(deployment_id: str, resource_id: str) -> object:
    return service.get_resource(context(), deployment_id, resource_id)


@blp.route("/<deployment_id>/resources/<resource_id>/data", methods=["GET"])
@blp.doc(responses={"200": {"description": "The resource's bytes as uploaded.", "content": {
    "application/xml": {"schema": {"type": "string"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def resource_data(deployment_id: str, resource_id: str) -> Response:
    r = service.get_resource(context(), deployment_id, resource_id)
    mimetype = "application/xml" if r.name.endswith((".bpmn", ".xml")) else "application/octet-stream"
    return Response(bytes(r.data), mimetype=mimetype)


