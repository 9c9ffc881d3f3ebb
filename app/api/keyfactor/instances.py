"""``/KeyfactorAPI/Workflow/Instances``: start, read, list, signal, stop, restart, delete (contract 9-11)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.api.auth import context
from app.api.keyfactor import schemas as s
from app.api.keyfactor.params import LIST_DOC, arg, bind, json_object, list_request, no_content, raw_json
from app.errors import InvalidRequest
from app.services import keyfactor_instances as service
from app.services import keyfactor_signals as signals

blp = Blueprint("keyfactor_instances", __name__, url_prefix="/KeyfactorAPI/Workflow/Instances",
                description="Workflow instances")



def _errors(*statuses: int) -> Any:
    return s.error_docs(blp, *statuses)


@blp.route("", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.InstanceQuerySchema(many=True))
@_errors(400, 401, 403)
def list_instances() -> Any:
    return service.list_instances(context(), list_request(), "all")


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": s.InstanceStartRequestSchema}}},
         description="Baton's addition: start an instance of a definition's published version.")
@blp.response(200, s.InstanceSchema)
@_errors(400, 401, 403)
def start_instance() -> Any:
    body = bind(json_object(), ("DefinitionId", "InitialData", "Title"))
    return service.start_instance(context(), definition_id=body.get("DefinitionId"),
                                  initial_data=body.get("InitialData"), title=body.get("Title"))


@blp.route("/My", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.InstanceQuerySchema(many=True))
@_errors(400, 401, 403)
def list_my_instances() -> Any:
    return service.list_instances(context(), list_request(), "my")


@blp.route("/AssignedToMe", methods=["GET"])
@blp.doc(**LIST_DOC)
@blp.response(200, s.InstanceQuerySchema(many=True))
@_errors(400, 401, 403)
def list_assigned_instances() -> Any:
    return service.list_instances(context(), list_request(), "assigned")


@blp.route("/<instance_id>", methods=["GET"])
@blp.response(200, s.InstanceSchema)
@_errors(401, 403, 404)
def get_instance(instance_id: str) -> Any:
    return service.get_instance(context(), instance_id)


@blp.route("/<instance_id>", methods=["DELETE"])
@blp.response(204)
@_errors(401, 403, 404)
def delete_instance(instance_id: str) -> Any:
    service.delete_instance(context(), instance_id)
    return no_content()


@blp.route("/<instance_id>/Stop", methods=["POST"])
@blp.response(204)
@_errors(400, 401, 403, 404)
def stop_instance(instance_id: str) -> Any:
    service.stop_instance(context(), instance_id)
    return no_content()


def _version(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidRequest(f"The version {where} must be an integer")


def restart_version() -> int | None:
    """``?version=`` (any case) wins over a body ``{"version": n}`` or a bare integer body (11.2)."""
    query = arg("version")
    if query is not None and query.strip() != "":
        return _version(query, "in the query")
    body = raw_json(empty=None)
    if isinstance(body, dict):
        return _version(bind(body, ("Version",)).get("Version"), "in the body")
    return _version(body, "in the body")


@blp.route("/<instance_id>/Restart", methods=["POST"])
@blp.doc(parameters=[{"name": "version", "in": "query", "schema": {"type": "integer"},
                      "description": "definition version to run (default: the published one)"}],
         requestBody={"required": False, "content": {"application/json": {"schema": s.RestartRequestSchema}}})
@blp.response(204)
@_errors(400, 401, 403, 404)
def restart_instance(instance_id: str) -> Any:
    service.restart_instance(context(), instance_id, restart_version())
    return no_content()


@blp.route("/<instance_id>/Signals", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": s.SignalRequestSchema}}})
@blp.response(204)
@_errors(400, 401, 403, 404)
def send_signal(instance_id: str) -> Any:
    body = bind(json_object(required=False), ("SignalKey", "Data"))
    signals.send_signal(context(), instance_id, body.get("SignalKey"), body.get("Data"))
    return no_content()
