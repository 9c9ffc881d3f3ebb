"""Restart (``/process-definition/{id}/restart[-async]``) and ``/process-instance/{id}/modification``."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from werkzeug.datastructures import MultiDict

from app.api.auth import context
from app.api.camunda.batch_schemas import BatchSchema
from app.api.camunda.common import json_body, member
from app.api.camunda.history import PROCESS_INSTANCE_QUERY as HISTORIC_INSTANCE_QUERY
from app.api.camunda.instructions import parse_instructions
from app.api.camunda.openapi import request_body
from app.api.camunda.request_schemas import ProcessInstanceModificationSchema, RestartProcessInstanceSchema
from app.api.camunda.schemas import RestartDryRunSchema
from app.errors import InvalidRequest
from app.services import modification, restart

blp = Blueprint("camunda_restart", __name__, url_prefix="/engine-rest", description="Restart and modification")


def _restart_request(definition_id: str) -> restart.RestartRequest:
    body = json_body()
    ids = member(body, "processInstanceIds", list)
    if ids is not None and any(i is not None and not isinstance(i, str) for i in ids):
        raise InvalidRequest("Cannot deserialize member 'processInstanceIds': expected an array of strings")
    raw_query = member(body, "historicProcessInstanceQuery", dict)
    query = None
    if raw_query is not None:
        parsed = HISTORIC_INSTANCE_QUERY.from_json(raw_query, MultiDict())
        query = restart.HistoricQuery(parsed.filters, parsed.or_queries, parsed.sorting)
    raw_instructions: Any = body.get("instructions")
    instructions = None
    if raw_instructions is not None:
        instructions = [p.instruction for p in parse_instructions(raw_instructions, allow_cancel=False)]
    for flag in ("skipCustomListeners", "skipIoMappings"):
        member(body, flag, bool, False)
    return restart.RestartRequest(
        definition_id=definition_id, instance_ids=ids, query=query, instructions=instructions,
        initial_variables=member(body, "initialVariables", bool, False),
        without_business_key=member(body, "withoutBusinessKey", bool, False),
        target_definition_id=member(body, "targetProcessDefinitionId", str),
        dry_run=member(body, "dryRun", bool, False),
    )


_RESTART = {"requestBody": request_body(RestartProcessInstanceSchema)}
_DRY_RUN = "With `dryRun` (Baton): what the restart would do; nothing changes."


def _dry_run(req: restart.RestartRequest) -> dict[str, Any]:
    # Dumped through its schema so that the answer is exactly what the document says.
    return RestartDryRunSchema().dump(restart.dry_run(context(), req))


@blp.route("/process-definition/<definition_id>/restart", methods=["POST"])
@blp.doc(**_RESTART)
@blp.alt_response(200, schema=RestartDryRunSchema, success=True, description=_DRY_RUN)
@blp.alt_response(204, success=True, description="Restarted (all selected instances, or none).")
def restart_sync(definition_id: str) -> Any:
    req = _restart_request(definition_id)
    if req.dry_run:
        return _dry_run(req)
    restart.restart_sync(context(), req)
    return "", 204


@blp.route("/process-definition/<definition_id>/restart-async", methods=["POST"])
@blp.doc(**_RESTART)
@blp.alt_response(200, schema={"oneOf": [BatchSchema, RestartDryRunSchema]}, success=True,
                  description="The restart batch; with `dryRun` (Baton) what the restart would do.")
def restart_async(definition_id: str) -> Any:
    req = _restart_request(definition_id)
    if req.dry_run:
        return _dry_run(req)
    return BatchSchema().dump(restart.restart_async(context(), req))


@blp.route("/process-instance/<instance_id>/modification", methods=["POST"])
@blp.doc(requestBody=request_body(ProcessInstanceModificationSchema))
@blp.alt_response(204, success=True, description="Modified.")
def modify(instance_id: str) -> tuple[str, int]:
    body = json_body()
    for flag in ("skipCustomListeners", "skipIoMappings"):
        member(body, flag, bool, False)
    member(body, "annotation", str)
    items = parse_instructions(body.get("instructions"), allow_cancel=True)
    modification.modify_instance(context(), instance_id, items)
    return "", 204
