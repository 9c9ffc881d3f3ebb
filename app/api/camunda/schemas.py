"""Response schemas of the Camunda dialect (members and names as in Camunda's OpenAPI document).

Every documented member is always present; unset values dump as ``null``. The schemas dump
the responses and document them (``/engine-rest/openapi.json``): ``allow_none`` marks the
members that can be ``null``, and computed members carry their JSON type in ``metadata``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import fields, validate

from app.api.camunda.dates import format_date
from app.api.camunda.openapi import ResponseSchema

#: Camunda's output date pattern (contract 3): not RFC 3339 (no colon in the offset).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4}$"


class CamundaDate(fields.String):
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in UTC."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": DATE_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return format_date(value)


def null(json_type: str, **doc: Any) -> fields.Constant:
    """A member Baton always sends as ``null`` (cases, removal times...), typed as Camunda's."""
    return fields.Constant(None, metadata={"type": json_type, "nullable": True, **doc})


def computed(function: Callable[[Any], Any], json_type: str, *, nullable: bool = False,
             **doc: Any) -> fields.Function:
    """A member computed from the dumped object, with its JSON type for the document."""
    metadata: dict[str, Any] = {"type": json_type, **doc}
    if nullable:
        metadata["nullable"] = True
    return fields.Function(function, metadata=metadata)


class Link(ResponseSchema):
    method = fields.String()
    href = fields.String()
    rel = fields.String()


#: ``links``: ``[]``, or one ``self`` link on create/start responses (contract 1.4).
LINKS_DOC = {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}


class CountSchema(ResponseSchema):
    count = fields.Integer()


class DeploymentSchema(ResponseSchema):
    links = fields.Function(lambda obj: getattr(obj, "links", []), dump_default=list, metadata=LINKS_DOC)
    id = fields.String()
    name = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    deploymentTime = CamundaDate(attribute="deployment_time")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)


class ProcessDefinitionSchema(ResponseSchema):
    id = fields.String()
    key = fields.String()
    category = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    version = fields.Integer()
    resource = fields.String(attribute="resource_name")
    deploymentId = fields.String(attribute="deployment_id")
    diagram = null("string")
    suspended = fields.Boolean()
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    versionTag = fields.String(attribute="version_tag", allow_none=True)
    historyTimeToLive = fields.Integer(attribute="history_ttl", allow_none=True)
    startableInTasklist = fields.Boolean(attribute="startable")


class ProcessInstanceSchema(ResponseSchema):
    links = fields.Function(lambda obj: getattr(obj, "links", []), metadata=LINKS_DOC)
    id = fields.String()
    definitionId = fields.String(attribute="definition_id")
    definitionKey = fields.String(attribute="definition_key")
    businessKey = fields.String(attribute="business_key", allow_none=True)
    caseInstanceId = null("string")
    ended = computed(lambda obj: obj.end_time is not None, "boolean")
    suspended = computed(lambda obj: obj.state == "SUSPENDED", "boolean")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)


class TaskSchema(ResponseSchema):
    id = fields.String()
    name = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    created = CamundaDate()
    lastUpdated = CamundaDate(attribute="last_updated", allow_none=True)
    due = CamundaDate(allow_none=True)
    followUp = CamundaDate(attribute="follow_up", allow_none=True)
    delegationState = null("string")
    description = fields.String(allow_none=True)
    executionId = fields.String(attribute="execution_id")
    parentTaskId = null("string")
    priority = fields.Integer()
    processDefinitionId = fields.String(attribute="definition_id")
    processInstanceId = fields.String(attribute="process_instance_id")
    caseExecutionId = null("string")
    caseDefinitionId = null("string")
    caseInstanceId = null("string")
    taskDefinitionKey = fields.String(attribute="task_definition_key")
    suspended = fields.Boolean()
    formKey = fields.String(attribute="form_key", allow_none=True)
    camundaFormRef = null("object")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    taskState = fields.Constant("Created", metadata={"type": "string"})


class ActivityInstanceTreeSchema(ResponseSchema):
    id = fields.String()
    parentActivityInstanceId = fields.String(attribute="parent_id", allow_none=True)
    activityId = fields.String(attribute="activity_id")
    activityType = fields.String(attribute="activity_type")
    activityName = fields.String(attribute="activity_name", allow_none=True)
    # Deprecated duplicate of activityName that pycamunda still reads.
    name = computed(lambda obj: obj.activity_name, "string", nullable=True)
    # Filled in by dump_activity_tree.
    processInstanceId = null("string")
    processDefinitionId = null("string")
    executionIds = fields.List(fields.String(), attribute="execution_ids")
    incidentIds = fields.List(fields.String(), attribute="incident_ids")
    incidents = computed(lambda obj: [], "array", items={"$ref": "#/components/schemas/ActivityInstanceIncident"})
    # Baton has no asynchronous continuations inside instances: never any transition instances.
    childTransitionInstances = computed(lambda obj: [], "array", items={"type": "object"})
    childActivityInstances = fields.List(fields.Nested(lambda: ActivityInstanceTreeSchema()),
                                         attribute="children")


class ActivityInstanceIncidentSchema(ResponseSchema):
    """An entry of ``incidents`` in the activity instance tree (only documented; built by hand)."""

    id = fields.String()
    activityId = fields.String()


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


class VariableValueSchema(ResponseSchema):
    """A value object as rendered by ``variables.render_variable`` (contract 4.4)."""

    value = fields.Raw(allow_none=True, metadata={"description": "Any JSON value; Json variables as JSON text, "
                                                                 "dates as Camunda date text."})
    type = fields.String()
    valueInfo = fields.Dict(metadata={"description": "Always `{}`."})


#: A variable map: ``{}`` when empty, never ``null``.
VARIABLE_MAP = {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/VariableValue"}}


class ProcessInstanceWithVariablesSchema(ProcessInstanceSchema):
    """The start response: ``variables`` only with ``withVariablesInReturn``."""

    optional_members = frozenset({"variables"})
    variables = fields.Dict(keys=fields.String(), values=fields.Nested(VariableValueSchema))


class DeploymentWithDefinitionsSchema(DeploymentSchema):
    """The ``POST /deployment/create`` response (contract 6.2)."""

    deployedProcessDefinitions = fields.Dict(keys=fields.String(), values=fields.Nested(ProcessDefinitionSchema),
                                             allow_none=True)
    deployedCaseDefinitions = null("object")
    deployedDecisionDefinitions = null("object")
    deployedDecisionRequirementsDefinitions = null("object")


class DeploymentResourceSchema(ResponseSchema):
    id = fields.String()
    name = fields.String()
    deploymentId = fields.String(attribute="deployment_id")


class ProcessDefinitionDiagramSchema(ResponseSchema):
    id = fields.String()
    bpmn20Xml = fields.String()


class ProcessEngineSchema(ResponseSchema):
    name = fields.String()


class RefusedInstanceSchema(ResponseSchema):
    id = fields.String()
    reason = fields.String()


class RestartDryRunSchema(ResponseSchema):
    """Baton's restart ``dryRun`` answer: what the restart would do (``app.services.restart.dry_run``)."""

    selectedInstances = fields.Integer()
    firstInstanceIds = fields.List(fields.String())
    refusedInstances = fields.List(fields.Nested(RefusedInstanceSchema))
    refusedCount = fields.Integer()
    sampleActiveActivityIds = fields.List(fields.String())
    processDefinitionId = fields.String()


class ExecutionSchema(ResponseSchema):
    id = fields.String()
    processInstanceId = fields.String()
    ended = fields.Boolean()
    tenantId = fields.String(allow_none=True)


class MessageCorrelationResultSchema(ResponseSchema):
    """One entry of ``POST /message`` with ``resultEnabled`` (built in ``messages._render``)."""

    optional_members = frozenset({"variables"})
    resultType = fields.String(validate=validate.OneOf(["Execution", "ProcessDefinition"]))
    execution = fields.Nested(ExecutionSchema, allow_none=True)
    processInstance = fields.Nested(ProcessInstanceSchema, allow_none=True)
    variables = fields.Dict(keys=fields.String(), values=fields.Nested(VariableValueSchema),
                            metadata={"description": "With `variablesInResultEnabled`."})
