"""``/batch`` and ``/history/batch``."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from app.api.auth import context
from app.api.camunda.batch_schemas import BatchSchema, BatchStatisticsSchema, HistoricBatchSchema
from app.api.camunda.common import json_body, member
from app.api.camunda.openapi import count_doc, list_doc
from app.api.camunda.params import QuerySpec
from app.api.camunda.request_schemas import SuspensionStateSchema
from app.api.camunda.schemas import CountSchema
from app.errors import InvalidRequest
from app.services import batches as service

blp = Blueprint("camunda_batches", __name__, url_prefix="/engine-rest", description="Batches")

_FILTERS = {"batchId": "str", "type": "str", "tenantIdIn": "str_list", "withoutTenantId": "true_only",
            "suspended": "bool", "createdBy": "str", "startedBefore": "date", "startedAfter": "date",
            "withFailures": "true_only", "withoutFailures": "true_only"}
QUERY = QuerySpec(filters=_FILTERS, sort_by=service.SORT_COLUMNS.keys())
HISTORY_QUERY = QuerySpec(filters={"batchId": "str", "type": "str", "completed": "bool",
                                   "tenantIdIn": "str_list", "withoutTenantId": "true_only"},
                          sort_by=["batchId", "startTime", "endTime", "tenantId"])


@blp.route("/batch", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.response(200, BatchSchema(many=True))
def list_batches() -> list:
    q = QUERY.from_args(request.args)
    return service.list_batches(context(), q.filters, q.sorting, q.first_result, q.max_results)


def _count() -> dict:
    return CountSchema().dump({"count": service.count_batches(context(), QUERY.from_args(request.args).filters)})


@blp.route("/batch/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.alt_response(200, schema=CountSchema, success=True)
def count() -> dict:
    return _count()


@blp.route("/batch/statistics", methods=["GET"])
@blp.doc(**list_doc(QUERY))
@blp.alt_response(200, schema=BatchStatisticsSchema(many=True), success=True,
                  description="The batches with their job counters.")
def statistics() -> list:
    q = QUERY.from_args(request.args)
    rows = service.statistics(context(), q.filters, q.sorting, q.first_result, q.max_results)
    result = []
    for stats in rows:
        item = BatchSchema().dump(stats.batch)
        item.update({"remainingJobs": stats.remaining, "completedJobs": stats.completed,
                     "failedJobs": stats.failed})
        result.append(item)
    return result


@blp.route("/batch/statistics/count", methods=["GET"])
@blp.doc(**count_doc(QUERY))
@blp.alt_response(200, schema=CountSchema, success=True)
def statistics_count() -> dict:
    return _count()


@blp.route("/batch/<batch_id>", methods=["GET"])
@blp.response(200, BatchSchema)
def get(batch_id: str) -> object:
    return service.get_batch(context(), batch_id)


@blp.route("/batch/<batch_id>", methods=["DELETE"])
@blp.alt_response(204, success=True, description="Deleted with its jobs.")
def delete(batch_id: str) -> tuple[str, int]:
    service.delete_batch(context(), batch_id)
    return "", 204


@blp.route("/batch/<batch_id>/suspended", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": SuspensionStateSchema}}})
@blp.alt_response(204, success=True, description="Suspended or activated.")
def suspended(batch_id: str) -> tuple[str, int]:
    value = member(json_body(), "suspended", bool)
    if value is None:
        raise InvalidRequest("The member 'suspended' is required")
    service.set_suspended(context(), batch_id, value)
    return "", 204


@blp.route("/history/batch", methods=["GET"])
@blp.doc(**list_doc(HISTORY_QUERY))
@blp.response(200, HistoricBatchSchema(many=True))
def history() -> list:
    q = HISTORY_QUERY.from_args(request.args)
    return service.list_batches(context(), q.filters, q.sorting, q.first_result, q.max_results, history=True)


@blp.route("/history/batch/count", methods=["GET"])
@blp.doc(**count_doc(HISTORY_QUERY))
@blp.response(200, CountSchema)
def history_count() -> dict:
    q = HISTORY_QUERY.from_args(request.args)
    return {"count": service.count_batches(context(), q.filters, history=True)}


@blp.route("/history/batch/<batch_id>", methods=["GET"])
@blp.response(200, HistoricBatchSchema)
def historic(batch_id: str) -> object:
    return service.get_historic_batch(context(), batch_id)


@blp.route("/history/batch/<batch_id>", methods=["DELETE"])
@blp.alt_response(204, success=True, description="Deleted.")
def delete_historic(batch_id: str) -> tuple[str, int]:
    service.delete_historic_batch(context(), batch_id)
    return "", 204
