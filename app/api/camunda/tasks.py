"""``/task``: query, read, claim, assign, complete, submit-form, task variables."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.common import json_body, member, string_list
from app.api.camunda.openapi import count_doc, list_doc, query_body_schema, request_body
from app.api.camunda.request_schemas import (
    ClaimSchema,
    CompleteTaskSchema,
    PatchVariablesSchema,
    UserIdSchema,
    VariableValueRequestSchema,
)
from app.api.camunda.schemas import VARIABLE_MAP, CountSchema, TaskSchema, VariableValueSchema
from app.api.camunda.task_query import QUERY
from app.api.camunda.variables import parse_variable, parse_variable_map, render_variable, render_variable_map
from app.errors import InvalidRequest, NotFound
from app.services import instances
from app.services import task_queries as queries
from app.services import tasks as service

blp = Blueprint("camunda_tasks", __name__, url_prefix="/engine-rest/task", description="User tasks")

QUERY_BODY = query_body_schema(QUERY, "TaskQuery")


def _list(q) -> list:  # type: ignore[no-untyped-def]
    return queries.list_tasks(context(), q.filters, q.or_queries, q.sorting, q.first_result, q.max_results)


@blp.route("", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.response(200, TaskSchema(many=True))
def list_tasks() -> list:
    return _list(QUERY.from_args(request.args))


@blp.route("", methods=["POST"])
@blp.doc(**list_doc(QUERY, QUERY_BODY))
@blp.response(200, TaskSchema(many=True))
def query_tasks() -> list:
    return _list(QUERY.from_json(json_body(), request.args))


@blp.route("/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.response(200, CountSchema)
def count() -> dict:
    q = QUERY.from_args(request.args)
    return {"count": queries.count_tasks(context(), q.filters, q.or_queries)}


@blp.route("/count", methods=["POST"])
@blp.doc(**count_doc(QUERY, QUERY_BODY))
@blp.response(200, CountSchema)
def count_post() -> dict:
    q = QUERY.from_json(json_body(), request.args)
    return {"count": queries.count_tasks(context(), q.filters, q.or_queries)}


@blp.route("/<task_id>", methods=["GET"])
@blp.response(200, TaskSchema)
def get(task_id: str) -> object:
    return service.get_task(context(), task_id)


@blp.route("/<task_id>/claim", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ClaimSchema}}})
@blp.alt_response(204, success=True, description="Claimed.")
def claim(task_id: str) -> tuple[str, int]:
    user_id = member(json_body(), "userId", str)
    if not user_id:
        raise InvalidRequest("The member 'userId' is required")
    service.claim(context(), task_id, user_id)
    return "", 204


@blp.route("/<task_id>/unclaim", methods=["POST"])
@blp.alt_response(204, success=True, description="Unclaimed.")
def unclaim(task_id: str) -> tuple[str, int]:
    service.unclaim(context(), task_id)
    return "", 204


@blp.route("/<task_id>/assignee", methods=["POST"])
@blp.doc(requestBody=request_body(UserIdSchema, "`userId` null or absent removes the assignee."))
@blp.alt_response(204, success=True, description="Assignee set.")
def assignee(task_id: str) -> tuple[str, int]:
    service.set_assignee(context(), task_id, member(json_body(), "userId", str))
    return "", 204


def _complete(task_id: str, action: str) -> tuple[object, int]:
    body = json_body()
    prefix = "Cannot complete task" if action == "complete" else "Cannot submit task form"
    try:
        variables = parse_variable_map(body.get("variables"))
    except InvalidRequest as error:
        raise InvalidRequest(f"{prefix} {task_id}: {error.message}", camunda_type=error.camunda_type) from None
    with_variables = member(body, "withVariablesInReturn", bool, False)
    result = service.complete(context(), task_id, variables, action=action)
    if with_variables:
        return render_variable_map(result), 200
    return "", 204


_COMPLETE = {"requestBody": request_body(CompleteTaskSchema)}
_COMPLETED_WITH_VARIABLES = {"schema": VARIABLE_MAP, "success": True,
                             "description": "With `withVariablesInReturn`: the process variables."}
_COMPLETED = {"success": True, "description": "Completed."}


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.doc(**_COMPLETE)
@blp.alt_response(200, **_COMPLETED_WITH_VARIABLES)
@blp.alt_response(204, **_COMPLETED)
def complete(task_id: str) -> tuple[object, int]:
    return _complete(task_id, "complete")


@blp.route("/<task_id>/submit-form", methods=["POST"])
@blp.doc(**_COMPLETE)
@blp.alt_response(200, **_COMPLETED_WITH_VARIABLES)
@blp.alt_response(204, **_COMPLETED)
def submit_form(task_id: str) -> tuple[object, int]:
    return _complete(task_id, "submit")


@blp.route("/<task_id>/variables", methods=["GET"])
@blp.alt_response(200, schema=VARIABLE_MAP, success=True, description="The variables visible from the task.")
def variables(task_id: str) -> dict:
    return render_variable_map(service.task_variables(context(), task_id))


@blp.route("/<task_id>/variables", methods=["POST"])
@blp.doc(requestBody=request_body(PatchVariablesSchema))
@blp.alt_response(204, success=True, description="Variables set and deleted.")
def modify_variables(task_id: str) -> tuple[str, int]:
    body = json_body()
    task = service.get_task(context(), task_id)
    modifications = parse_variable_map(body.get("modifications"), member="modifications")
    instances.modify_variables(context(), task.process_instance_id, modifications, string_list(body, "deletions"))
    return "", 204


@blp.route("/<task_id>/variables/<name>", methods=["GET"])
@blp.alt_response(200, schema=VariableValueSchema, success=True, description="The variable's value object.")
def variable(task_id: str, name: str) -> dict:
    found = service.task_variables(context(), task_id)
    if name not in found:
        raise NotFound(f"task variable with name {name} does not exist")
    return render_variable(found[name])


@blp.route("/<task_id>/variables/<name>", methods=["PUT"])
@blp.doc(requestBody=request_body(VariableValueRequestSchema))
@blp.alt_response(204, success=True, description="Variable set.")
def put_variable(task_id: str, name: str) -> tuple[str, int]:
    task = service.get_task(context(), task_id)
    instances.modify_variables(context(), task.process_instance_id, {name: parse_variable(name, json_body()).typed})
    return "", 204


@blp.route("/<task_id>/variables/<name>", methods=["DELETE"])
@blp.alt_response(204, success=True, description="Variable deleted.")
def delete_variable(task_id: str, name: str) -> tuple[str, int]:
    task = service.get_task(context(), task_id)
    instances.modify_variables(context(), task.process_instance_id, {}, [name])
    return "", 204
