"""``/job`` and ``/job-definition``: timers and failed-activity retries as Camunda jobs.

Served: ``GET|POST /job``, ``GET|POST /job/count``, ``GET|DELETE /job/{id}``,
``PUT /job/{id}/retries``, ``POST /job/{id}/execute``, ``PUT /job/{id}/suspended``,
``GET /job/{id}/stacktrace``, ``GET|POST /job-definition``, ``GET|POST /job-definition/count``,
``GET /job-definition/{id}``. Semantics: ``app/services/jobs.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api.auth import context
from app.api.camunda.common import json_body, member
from app.api.camunda.dates import parse_date
from app.api.camunda.job_schemas import JobDefinitionSchema, JobSchema
from app.api.camunda.openapi import DATE_INPUT_PATTERN, QueryBodySchema, count_doc, list_doc, query_body_schema
from app.api.camunda.params import ParsedQuery, QuerySpec
from app.api.camunda.request_schemas import JobRetriesSchema, SuspensionStateSchema
from app.api.camunda.schemas import CountSchema
from app.errors import InvalidRequest
from app.services import jobs as service

blp = Blueprint("camunda_jobs", __name__, url_prefix="/engine-rest", description="Jobs and job definitions")

JOB_QUERY = QuerySpec(
    filters={
        "jobId": "str", "jobIds": "str_list", "jobDefinitionId": "str", "processInstanceId": "str",
        "processInstanceIds": "str_list", "executionId": "str", "processDefinitionId": "str",
        "processDefinitionKey": "str", "activityId": "str", "withRetriesLeft": "true_only",
        "executable": "true_only", "timers": "true_only", "messages": "true_only", "withException": "true_only",
        "exceptionMessage": "str", "failedActivityId": "str", "noRetriesLeft": "true_only",
        "active": "true_only", "suspended": "true_only", "priorityLowerThanOrEquals": "int",
        "priorityHigherThanOrEquals": "int", "tenantIdIn": "str_list", "withoutTenantId": "true_only",
        "includeJobsWithoutTenantId": "true_only", "acquired": "true_only",
        # dueDates / createTimes have their own wire format: see _conditions().
    },
    sort_by=service.SORT_COLUMNS,
)

JOB_DEFINITION_QUERY = QuerySpec(
    filters={
        "jobDefinitionId": "str", "activityIdIn": "str_list", "processDefinitionId": "str",
        "processDefinitionKey": "str", "jobType": "str", "jobConfiguration": "str", "active": "true_only",
        "suspended": "true_only", "withOverridingJobPriority": "true_only", "tenantIdIn": "str_list",
        "withoutTenantId": "true_only", "includeJobDefinitionsWithoutTenantId": "true_only",
    },
    sort_by=service.JOB_DEFINITION_SORT,
)

_CONDITION_LABELS = {"dueDates": "due date", "createTimes": "create time"}


class DateConditionSchema(QueryBodySchema):
    operator = fields.String(required=True, validate=validate.OneOf(["gt", "lt"]))
    value = fields.String(required=True, metadata={"description": "A date (contract 3).",
                                                   "pattern": DATE_INPUT_PATTERN})


# dueDates / createTimes: GET "gt_<date>,lt_<date>"; POST [{operator, value}] (see _conditions()).
_CONDITION_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
     "style": "form", "explode": False,
     "description": f"Comma-separated `gt_<date>`/`lt_<date>` conditions on the {label}."}
    for name, label in _CONDITION_LABELS.items()
]
JOB_QUERY_BODY = query_body_schema(JOB_QUERY, "JobQuery", overrides={
    name: fields.List(fields.Nested(DateConditionSchema), allow_none=True) for name in _CONDITION_LABELS})
JOB_DEFINITION_QUERY_BODY = query_body_schema(JOB_DEFINITION_QUERY, "JobDefinitionQuery")


def _conditions(name: str, raw: Any, *, from_json: bool) -> list[tuple[str, datetime]]:
    """``dueDates`` / ``createTimes``: GET ``gt_<date>,lt_<date>``; POST ``[{operator, value}]``."""
    items: list[tuple[Any, Any]] = []
    if from_json:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(e, Mapping) for e in raw):
            raise InvalidRequest(f"Cannot deserialize member '{name}': expected an array of "
                                 "{operator, value} objects")
        items = [(e.get("operator"), e.get("value")) for e in raw]
    else:
        for text in raw:
            for expression in (part for part in text.split(",") if part):
                operator, sep, value = expression.partition("_")
                if not sep or not value:
                    raise InvalidRequest("condition query parameter has to have format OPERATOR_VALUE.")
                items.append((operator, value))
    result = []
    for operator, value in items:
        if operator not in ("gt", "lt"):
            raise InvalidRequest(f"Invalid {_CONDITION_LABELS[name]} comparator specified: {operator}")
        try:
            result.append((operator, parse_date(value)))
        except ValueError:
            raise InvalidRequest(f"Cannot set query parameter '{name}' to value '{value}'") from None
    return result


def _job_query(post: bool) -> ParsedQuery:
    body = json_body() if post else {}
    q = JOB_QUERY.from_json(body, request.args) if post else JOB_QUERY.from_args(request.args)
    for name in _CONDITION_LABELS:
        raw = body.get(name) if post else request.args.getlist(name)
        conditions = _conditions(name, raw, from_json=post)
        if conditions:
            q.filters[name] = conditions
    return q


def _list_jobs(q: ParsedQuery) -> list:
    return JobSchema(many=True).dump(service.list_jobs(context(), q.filters, q.sorting, q.first_result,
                                                       q.max_results))


def _job_list_doc(post: bool, count: bool) -> dict[str, Any]:
    if post:
        return (count_doc if count else list_doc)(JOB_QUERY, JOB_QUERY_BODY)
    doc = (count_doc if count else list_doc)(JOB_QUERY)
    doc["parameters"] = doc["parameters"] + _CONDITION_PARAMS
    return doc


@blp.route("/job", methods=["GET"])
@blp.doc(**_job_list_doc(post=False, count=False))
@blp.alt_response(200, schema=JobSchema(many=True), success=True)
def list_jobs() -> list:
    return _list_jobs(_job_query(post=False))


@blp.route("/job", methods=["POST"])
@blp.doc(**_job_list_doc(post=True, count=False))
@blp.alt_response(200, schema=JobSchema(many=True), success=True)
def query_jobs() -> list:
    return _list_jobs(_job_query(post=True))


@blp.route("/job/count", methods=["GET"])
@blp.doc(**_job_list_doc(post=False, count=True))
@blp.response(200, CountSchema)
def count_jobs() -> dict:
    return {"count": service.count_jobs(context(), _job_query(post=False).filters)}


@blp.route("/job/count", methods=["POST"])
@blp.doc(**_job_list_doc(post=True, count=True))
@blp.response(200, CountSchema)
def count_jobs_post() -> dict:
    return {"count": service.count_jobs(context(), _job_query(post=True).filters)}


@blp.route("/job/<job_id>", methods=["GET"])
@blp.response(200, JobSchema)
def get_job(job_id: str) -> object:
    return service.get_job(context(), job_id)


@blp.route("/job/<job_id>", methods=["DELETE"])
@blp.alt_response(204, success=True, description="Deleted.")
def delete_job(job_id: str) -> tuple[str, int]:
    service.delete_job(context(), job_id)
    return "", 204


@blp.route("/job/<job_id>/retries", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": JobRetriesSchema}}})
@blp.alt_response(204, success=True, description="Retries set; with retries > 0 an open incident is resolved.")
def set_retries(job_id: str) -> tuple[str, int]:
    body = json_body()
    retries = member(body, "retries", int)
    if retries is None:
        raise InvalidRequest("The member 'retries' is required")
    due_date = None
    if body.get("dueDate") is not None:
        try:
            due_date = parse_date(body["dueDate"])
        except ValueError:
            raise InvalidRequest("Cannot deserialize member 'dueDate': expected a date string") from None
    # Camunda's dto distinguishes "dueDate": null (clear it) from no member at all.
    service.set_retries(context(), job_id, retries, due_date=due_date, set_due_date="dueDate" in body)
    return "", 204


@blp.route("/job/<job_id>/execute", methods=["POST"])
@blp.alt_response(204, success=True, description="Executed.")
def execute(job_id: str) -> tuple[str, int]:
    service.execute_job(context(), job_id)
    return "", 204


@blp.route("/job/<job_id>/suspended", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": SuspensionStateSchema}}})
@blp.alt_response(204, success=True, description="Suspended or activated.")
def suspended(job_id: str) -> tuple[str, int]:
    value = member(json_body(), "suspended", bool)
    if value is None:
        raise InvalidRequest("The member 'suspended' is required")
    service.set_suspended(context(), job_id, value)
    return "", 204


@blp.route("/job/<job_id>/stacktrace", methods=["GET"])
@blp.doc(responses={"200": {"description": "The last failure's stack trace (empty if none).",
                            "content": {"text/plain": {"schema": {"type": "string"}}}}})
def stacktrace(job_id: str) -> Response:
    text = service.exception_stacktrace(context(), job_id) or ""
    return Response(text, status=200, mimetype="text/plain")


# --- job definitions ---------------------------------------------------------------------------


def _job_definition_query(post: bool) -> ParsedQuery:
    if post:
        return JOB_DEFINITION_QUERY.from_json(json_body(), request.args)
    return JOB_DEFINITION_QUERY.from_args(request.args)


def _list_job_definitions(q: ParsedQuery) -> list:
    rows = service.list_job_definitions(context(), q.filters, q.sorting, q.first_result, q.max_results)
    return JobDefinitionSchema(many=True).dump(rows)


@blp.route("/job-definition", methods=["GET"])
@blp.doc(**list_doc(JOB_DEFINITION_QUERY))
@blp.alt_response(200, schema=JobDefinitionSchema(many=True), success=True)
def list_job_definitions() -> list:
    return _list_job_definitions(_job_definition_query(post=False))


@blp.route("/job-definition", methods=["POST"])
@blp.doc(**list_doc(JOB_DEFINITION_QUERY, JOB_DEFINITION_QUERY_BODY))
@blp.alt_response(200, schema=JobDefinitionSchema(many=True), success=True)
def query_job_definitions() -> list:
    return _list_job_definitions(_job_definition_query(post=True))


@blp.route("/job-definition/count", methods=["GET"])
@blp.doc(**count_doc(JOB_DEFINITION_QUERY))
@blp.response(200, CountSchema)
def count_job_definitions() -> dict:
    filters = _job_definition_query(post=False).filters
    return {"count": service.count_job_definitions(context(), filters)}


@blp.route("/job-definition/count", methods=["POST"])
@blp.doc(**count_doc(JOB_DEFINITION_QUERY, JOB_DEFINITION_QUERY_BODY))
@blp.response(200, CountSchema)
def count_job_definitions_post() -> dict:
    filters = _job_definition_query(post=True).filters
    return {"count": service.count_job_definitions(context(), filters)}


@blp.route("/job-definition/<job_definition_id>", methods=["GET"])
@blp.response(200, JobDefinitionSchema)
def get_job_definition(job_definition_id: str) -> object:
    return service.get_job_definition(context(), job_definition_id)
