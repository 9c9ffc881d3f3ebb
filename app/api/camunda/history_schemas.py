"""Response schemas of ``/history/...`` (members as in Camunda's OpenAPI DTOs, contract 12.4 / 13.1).

Every member is always present; unset values dump as ``null``. The objects dumped are the
wrappers of app/services/history.py and app/services/instance_queries.py, which expose the
row's columns plus the few joined values (definition name/version, root instance id).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import fields, post_dump

from app.api.camunda.openapi import ResponseSchema
from app.api.camunda.schemas import CamundaDate, computed, null
from app.api.camunda.variables import render_variable

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _millis(dt: datetime) -> int:
    if dt.tzinfo is None:  # SQLite hands back naive UTC
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def duration_in_millis(start: datetime | None, end: datetime | None) -> int | None:
    """``end − start`` on millisecond-truncated times, as Java's Date arithmetic gives it."""
    if start is None or end is None:
        return None
    return _millis(end) - _millis(start)


class HistoricProcessInstanceSchema(ResponseSchema):
    id = fields.String()
    businessKey = fields.String(attribute="business_key", allow_none=True)
    processDefinitionId = fields.String(attribute="definition_id")
    processDefinitionKey = fields.String(attribute="definition_key")
    processDefinitionName = fields.String(attribute="definition_name", allow_none=True)
    processDefinitionVersion = fields.Integer(attribute="definition_version", allow_none=True)
    startTime = CamundaDate(attribute="start_time")
    endTime = CamundaDate(attribute="end_time", allow_none=True)
    removalTime = null("string")  # Baton has no history cleanup
    durationInMillis = computed(lambda obj: duration_in_millis(obj.start_time, obj.end_time), "integer",
                                nullable=True, format="int64")
    startUserId = fields.String(attribute="start_user_id", allow_none=True)
    startActivityId = fields.String(attribute="start_activity_id", allow_none=True)
    deleteReason = fields.String(attribute="delete_reason", allow_none=True)
    rootProcessInstanceId = computed(lambda obj: obj.root_instance_id or obj.id, "string")
    superProcessInstanceId = fields.String(attribute="super_instance_id", allow_none=True)
    superCaseInstanceId = null("string")
    caseInstanceId = null("string")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    state = fields.String()
    restartedProcessInstanceId = fields.String(attribute="restarted_from_id", allow_none=True)


class HistoricActivityInstanceSchema(ResponseSchema):
    id = fields.String()
    parentActivityInstanceId = fields.String(attribute="parent_activity_instance_id", allow_none=True)
    activityId = fields.String(attribute="activity_id")
    activityName = fields.String(attribute="activity_name", allow_none=True)
    activityType = fields.String(attribute="activity_type")
    processDefinitionKey = fields.String(attribute="definition_key")
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="process_instance_id")
    executionId = fields.String(attribute="execution_id")
    taskId = fields.String(attribute="task_id", allow_none=True)
    assignee = fields.String(allow_none=True)
    calledProcessInstanceId = fields.String(attribute="called_process_instance_id", allow_none=True)
    calledCaseInstanceId = null("string")
    startTime = CamundaDate(attribute="start_time")
    endTime = CamundaDate(attribute="end_time", allow_none=True)
    durationInMillis = computed(lambda obj: duration_in_millis(obj.start_time, obj.end_time), "integer",
                                nullable=True, format="int64")
    canceled = fields.Boolean()
    completeScope = fields.Boolean(attribute="complete_scope")
    #: Baton's addition: grafted by a restart/modification instruction, never executed.
    skipped = fields.Boolean()
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    removalTime = null("string")
    rootProcessInstanceId = fields.String(attribute="root_process_instance_id", allow_none=True)


class HistoricVariableInstanceSchema(ResponseSchema):
    id = fields.String()
    name = fields.String()
    processDefinitionKey = fields.String(attribute="definition_key")
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="process_instance_id")
    # Process-scope variables: the execution and activity instance are the process instance.
    executionId = computed(lambda obj: obj.process_instance_id, "string")
    activityInstanceId = computed(lambda obj: obj.activity_instance_id or obj.process_instance_id, "string")
    caseDefinitionKey = null("string")
    caseDefinitionId = null("string")
    caseInstanceId = null("string")
    caseExecutionId = null("string")
    taskId = null("string")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    errorMessage = null("string")
    state = fields.String()
    createTime = CamundaDate(attribute="create_time")
    removalTime = null("string")
    rootProcessInstanceId = fields.String(attribute="root_process_instance_id", allow_none=True)
    # The value object (render_variable): declared for the document, filled in by _value below.
    value = fields.Function(lambda obj: None, metadata={
        "nullable": True, "description": "Any JSON value; Json variables as JSON text, dates as Camunda date text."})
    type = computed(lambda obj: None, "string")
    valueInfo = computed(lambda obj: None, "object")

    @post_dump(pass_original=True)
    def _value(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        data.update(render_variable(original.typed))  # value, type, valueInfo
        return data
