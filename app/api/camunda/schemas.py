"""Response schemas of the Camunda dialect (members and names as in Camunda's OpenAPI document).

Every documented member is always present; unset values dump as ``null``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.api.camunda.dates import format_date


class CamundaDate(fields.Field):
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return format_date(value)


class Link(Schema):
    method = fields.String()
    href = fields.String()
    rel = fields.String()


class CountSchema(Schema):
    count = fields.Integer()


class DeploymentSchema(Schema):
    links = fields.Function(lambda obj: getattr(obj, "links", []), dump_default=list)
    id = fields.String()
    name = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    deploymentTime = CamundaDate(attribute="deployment_time")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)


class ProcessDefinitionSchema(Schema):
    id = fields.String()
    key = fields.String()
    category = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    version = fields.Integer()
    resource = fields.String(attribute="resource_name")
    deploymentId = fields.String(attribute="deployment_id")
    diagram = fields.Constant(None)
    suspended = fields.Boolean()
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    versionTag = fields.String(attribute="version_tag", allow_none=True)
    historyTimeToLive = fields.Integer(attribute="history_ttl", allow_none=True)
    startableInTasklist = fields.Boolean(attribute="startable")


class ProcessInstanceSchema(Schema):
    links = fields.Function(lambda obj: getattr(obj, "links", []))
    id = fields.String()
    definitionId = fields.String(attribute="definition_id")
    definitionKey = fields.String(attribute="definition_key")
    businessKey = fields.String(attribute="business_key", allow_none=True)
    caseInstanceId = fields.Constant(None)
    ended = fields.Function(lambda obj: obj.end_time is not None)
    suspended = fields.Function(lambda obj: obj.state == "SUSPENDED")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)


class TaskSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    created = CamundaDate()
    lastUpdated = CamundaDate(attribute="last_updated")
    due = CamundaDate()
    followUp = CamundaDate(attribute="follow_up")
    delegationState = fields.Constant(None)
    description = fields.String(allow_none=True)
    executionId = fields.String(attribute="execution_id")
    parentTaskId = fields.Constant(None)
    priority = fields.Integer()
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="process_instance_id")
    caseExecutionId = fields.Constant(None)
    caseDefinitionId = fields.Constant(None)
    caseInstanceId = fields.Constant(None)
    taskDefinitionKey = fields.String(attribute="task_definition_key")
    suspended = fields.Boolean()
    formKey = fields.String(attribute="form_key", allow_none=True)
    camundaFormRef = fields.Constant(None)
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    taskState = fields.Constant("Created")


class ActivityInstanceTreeSchema(Schema):
    id = fields.String()
    parentActivityInstanceId = fields.String(attribute="parent_id", allow_none=True)
    activityId = fields.String(attribute="activity_id")
    activityType = fields.String(attribute="activity_type")
    activityName = fields.String(attribute="activity_name", allow_none=True)
    # Deprecated duplicate of activityName that pycamunda still reads.
    name = fields.Function(lambda obj: obj.activity_name)
    processInstanceId = fields.Constant(None)
    processDefinitionId = fields.Constant(None)
    executionIds = fields.List(fields.String(), attribute="execution_ids")
    incidentIds = fields.List(fields.String(), attribute="incident_ids")
    incidents = fields.Function(lambda obj: [])
    childTransitionInstances = fields.Function(lambda obj: [])
    childActivityInstances = fields.List(fields.Nested(lambda: ActivityInstanceTreeSchema()),
                                         attribute="children")


def dump_activity_tree(node: Any, instance_id: str, definition_id: str) -> dict[str, Any]:
    data = ActivityInstanceTreeSchema().dump(node)

    def fill(item: dict[str, Any], node: Any) -> None:
        item["processInstanceId"] = instance_id
        item["processDefinitionId"] = definition_id
        item["incidents"] = [{"id": i, "activityId": node.activity_id} for i in node.incident_ids]
        for child_item, child in zip(item["childActivityInstances"], node.children, strict=True):
            fill(child_item, child)

    fill(data, node)
    return data
