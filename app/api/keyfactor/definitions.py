"""``/KeyfactorAPI/Workflow/Definitions``: definitions, their steps and versions, the catalogs (contract 6, 8)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.api.auth import context
from app.api.keyfactor import schemas as s
from app.api.keyfactor.params import (
    LIST_DOC,
    bind,
    bool_arg,
    form_or_json,
    int_arg,
    json_object,
    list_request,
    no_content,
    raw_json,
)
from app.errors import InvalidRequest
from app.services import keyfactor_catalogs as catalogs
from app.services import keyfactor_definitions as service

blp = Blueprint("keyfactor_definitions", __name__, url_prefix="/KeyfactorAPI/Workflow/Definitions",
                description="Workflow definitions")

_ERRORS = (400, 401, 403, 404)


def _errors(*statuses: int) -> Any:
    return s.error_docs(blp, *statuses)


@blp.route("", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.DefinitionQuerySchema(many=True))
@_errors(400, 401, 403)
def list_definitions() -> Any:
    return service.list_definitions(context(), list_request())


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": s.DefinitionCreateRequestSchema}}})
@blp.response(200, s.DefinitionSchema)
@_errors(400, 401, 403)
def create_definition() -> Any:
    body = bind(json_object(), ("DisplayName", "Description", "Key", "WorkflowType"))
    return service.create_definition(context(), display_name=body.get("DisplayName"),
                                     description=body.get("Description"), key=body.get("Key"),
                                     workflow_type=body.get("WorkflowType"))


@blp.route("/Steps", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.AvailableStepQuerySchema(many=True))
@_errors(400, 401, 403)
def list_step_types() -> Any:
    return catalogs.list_step_types(context(), list_request())


@blp.route("/Steps/<extension_name>", methods=["GET"])
@blp.response(200, s.AvailableStepSchema)
@_errors(401, 403, 404)
def get_step_type(extension_name: str) -> Any:
    return catalogs.get_step_type(context(), extension_name)


@blp.route("/Types", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.WorkflowTypeSchema(many=True))
@_errors(400, 401, 403)
def list_workflow_types() -> Any:
    return catalogs.list_workflow_types(context(), list_request())


@blp.route("/<definition_id>", methods=["GET"])
@blp.doc(parameters=[
    {"name": "definitionVersion", "in": "query", "schema": {"type": "integer"},
     "description": "the version to show (default: the latest)"},
    {"name": "exportable", "in": "query", "schema": {"type": "boolean", "default": False},
     "description": "true: every Signals[].RoleIds is emptied"}])
@blp.response(200, s.DefinitionSchema)
@_errors(*_ERRORS)
def get_definition(definition_id: str) -> Any:
    return service.get_definition(context(), definition_id, int_arg("definitionVersion"), bool_arg("exportable"))


@blp.route("/<definition_id>", methods=["PUT"])
@blp.doc(requestBody={"content": {
    "application/json": {"schema": s.DefinitionUpdateRequestSchema},
    "application/x-www-form-urlencoded": {"schema": s.DefinitionUpdateRequestSchema}}})
@blp.response(200, s.DefinitionSchema)
@_errors(*_ERRORS)
def update_definition(definition_id: str) -> Any:
    body = form_or_json(("DisplayName", "Description"))
    return service.update_definition(context(), definition_id, display_name=body.get("DisplayName"),
                                     description=body.get("Description"))


@blp.route("/<definition_id>", methods=["DELETE"])
@blp.response(204)
@_errors(*_ERRORS)
def delete_definition(definition_id: str) -> Any:
    service.delete_definition(context(), definition_id)
    return no_content()


@blp.route("/<definition_id>/Steps", methods=["PUT"])
@blp.doc(requestBody={"content": {"application/json": {"schema": s.DefinitionStepRequestSchema(many=True)}}})
@blp.response(200, s.DefinitionSchema)
@_errors(*_ERRORS)
def set_steps(definition_id: str) -> Any:
    steps = raw_json()
    if not isinstance(steps, list):
        raise InvalidRequest("The request body must be a JSON array of steps")
    return service.set_steps(context(), definition_id, steps)


@blp.route("/<definition_id>/Publish", methods=["POST"])
@blp.response(200, s.DefinitionSchema)
@_errors(*_ERRORS)
def publish(definition_id: str) -> Any:
    return service.publish(context(), definition_id)
