"""``POST /message`` (contract 10.1) and ``POST /signal`` (contract 11.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.common import json_body, member
from app.api.camunda.openapi import request_body
from app.api.camunda.request_schemas import CorrelationMessageSchema, SignalSchema
from app.api.camunda.schemas import MessageCorrelationResultSchema, ProcessInstanceSchema
from app.api.camunda.variables import parse_variable_map, parse_variables, render_variable_map
from app.errors import InvalidRequest
from app.services import correlation as service

blp = Blueprint("camunda_messages", __name__, url_prefix="/engine-rest", description="Messages and signals")


def _tenant(body: dict[str, Any]) -> tuple[str | None, bool]:
    return member(body, "tenantId", str), member(body, "withoutTenantId", bool, False)


def _keys(body: dict[str, Any], name: str) -> dict[str, service.CorrelationKey]:
    raw = body.get(name)
    parsed = parse_variables(raw, member=name)
    # Whether a type was named decides how strictly the key matches (see the service docstring).
    return {key: service.CorrelationKey(item.typed, isinstance(raw[key], Mapping) and raw[key].get("type")
                                        is not None)
            for key, item in parsed.items()}


@blp.route("/message", methods=["POST"])
@blp.doc(requestBody=request_body(CorrelationMessageSchema))
@blp.alt_response(200, schema=MessageCorrelationResultSchema(many=True), success=True,
                  description="With `resultEnabled`: what the message was correlated to.")
@blp.alt_response(204, success=True, description="Correlated.")
def correlate() -> Any:
    body = json_body()
    # Camunda's order of checks: name, tenant clash, result flags.
    name = member(body, "messageName", str)
    if name is None:
        raise InvalidRequest("No message name supplied")
    tenant_id, without_tenant_id = _tenant(body)
    if tenant_id is not None and without_tenant_id:
        raise InvalidRequest("Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.")
    result_enabled = member(body, "resultEnabled", bool, False)
    with_variables = member(body, "variablesInResultEnabled", bool, False)
    if with_variables and not result_enabled:
        raise InvalidRequest("Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' "
                             "set to true.")
    local = parse_variable_map(body.get("processVariablesLocal"), member="processVariablesLocal")
    local.update(parse_variable_map(body.get("processVariablesToTriggeredScope"),
                                    member="processVariablesToTriggeredScope"))
    request = service.MessageRequest(
        message_name=name,
        business_key=member(body, "businessKey", str),
        process_instance_id=member(body, "processInstanceId", str),
        tenant_id=tenant_id,
        without_tenant_id=without_tenant_id,
        correlation_keys=_keys(body, "correlationKeys"),
        local_correlation_keys=_keys(body, "localCorrelationKeys"),
        process_variables=parse_variable_map(body.get("processVariables"), member="processVariables"),
        process_variables_local=local,
        all=member(body, "all", bool, False),
        variables_in_result=with_variables,
    )
    results = service.correlate_message(context(), request)
    if not result_enabled:
        return "", 204
    return [_render(result, with_variables) for result in results]


def _render(result: service.CorrelationResult, with_variables: bool) -> dict[str, Any]:
    if result.result_type == "Execution":
        item: dict[str, Any] = {
            "resultType": "Execution",
            "execution": {"id": result.execution_id, "processInstanceId": result.instance.id,
                          "ended": result.ended, "tenantId": result.instance.tenant_id},
            "processInstance": None,
        }
    else:
        item = {"resultType": "ProcessDefinition", "execution": None,
                "processInstance": ProcessInstanceSchema().dump(result.instance)}
    if with_variables:
        item["variables"] = render_variable_map(result.variables or {})
    return item


@blp.route("/signal", methods=["POST"])
@blp.doc(requestBody=request_body(SignalSchema),
         description="An `executionId` that does not exist or does not wait for the signal answers 500, as in "
                     "Camunda.")
@blp.alt_response(204, success=True, description="Delivered (also when nothing was waiting for it).")
def signal() -> Any:
    body = json_body()
    name = member(body, "name", str)
    if name is None:
        raise InvalidRequest("No signal name given")
    execution_id = member(body, "executionId", str)
    tenant_id, without_tenant_id = _tenant(body)
    if execution_id is not None and (tenant_id is not None or without_tenant_id):
        raise InvalidRequest("Cannot specify a tenant-id when deliver a signal to a single execution.")
    service.throw_signal(context(), service.SignalRequest(
        name=name, execution_id=execution_id, tenant_id=tenant_id, without_tenant_id=without_tenant_id,
        variables=parse_variable_map(body.get("variables"), member="variables")))
    return "", 204
