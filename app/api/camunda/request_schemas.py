"""Request bodies of the Camunda dialect (Camunda's request DTOs, the members Baton reads).

These schemas document the bodies in ``/engine-rest/openapi.json``. The views still read
their bodies with :mod:`app.api.camunda.common`, :mod:`~app.api.camunda.variables` and
:mod:`~app.api.camunda.instructions` because those keep Camunda's exact error texts and
check order; ``tests/api/test_openapi_camunda.py`` checks that each member named here is
read by its view. Conventions of every body (contract 1.3): ``null`` means absent, unknown
members are ignored, an empty body counts as ``{}``, booleans may also be given as the
strings ``"true"``/``"false"``.

POST query bodies are generated from each endpoint's ``QuerySpec``
(:func:`app.api.camunda.openapi.query_body_schema`), not declared here.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from app.api.camunda.history import PROCESS_INSTANCE_QUERY_BODY
from app.api.camunda.openapi import DATE_INPUT_PATTERN
from app.values import VALUE_TYPES


class RequestSchema(Schema):
    """Base of request bodies: unknown members are ignored, as Camunda's mapper does (contract 1.3)."""

    class Meta:
        unknown = EXCLUDE


def _bool(**doc: Any) -> fields.Boolean:
    return fields.Boolean(allow_none=True, metadata=doc)


def _str(**doc: Any) -> fields.String:
    return fields.String(allow_none=True, metadata=doc)


class ValueInfoSchema(RequestSchema):
    transient = _bool(description="Not stored; only visible to the current transaction.")


class VariableValueRequestSchema(RequestSchema):
    """A typed value (contract 4.1); without ``type`` the type is inferred (4.3)."""

    value = fields.Raw(allow_none=True, metadata={"description": "Any JSON value."})
    type = fields.String(allow_none=True, validate=validate.OneOf(VALUE_TYPES),
                         metadata={"description": "One of the eight supported types (contract 4.2); the first "
                                                  "letter may be lower case."})
    valueInfo = fields.Nested(ValueInfoSchema, allow_none=True)


class TriggerVariableValueSchema(VariableValueRequestSchema):
    local = _bool(description="Set the variable in the scope of the instruction's activity.")


def variable_map(**doc: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Nested(VariableValueRequestSchema), allow_none=True,
                       metadata=doc)


INSTRUCTION_TYPES = ("startBeforeActivity", "startAfterActivity", "startTransition", "cancel")


class ModificationInstructionSchema(RequestSchema):
    """One modification/restart/start instruction (contract 8.6, 16.2)."""

    type = fields.String(required=True, validate=validate.OneOf(INSTRUCTION_TYPES))
    activityId = _str(description="startBeforeActivity, startAfterActivity; cancel (one of the three ids).")
    transitionId = _str(description="startTransition: the sequence flow id.")
    activityInstanceId = _str(description="cancel only.")
    transitionInstanceId = _str(description="cancel only.")
    variables = fields.Dict(keys=fields.String(), values=fields.Nested(TriggerVariableValueSchema),
                            allow_none=True)


class StartProcessInstanceSchema(RequestSchema):
    """``POST /process-definition/{id}/start`` (and by key); also ``submit-form``."""

    businessKey = _str()
    variables = variable_map()
    caseInstanceId = _str(description="Not supported: a non-null value answers 400.")
    startInstructions = fields.List(fields.Nested(ModificationInstructionSchema), allow_none=True,
                                    metadata={"description": "`cancel` instructions are refused."})
    skipCustomListeners = _bool(description="Accepted and ignored.")
    skipIoMappings = _bool(description="Accepted and ignored.")
    withVariablesInReturn = _bool()


class RestartProcessInstanceSchema(RequestSchema):
    """``POST /process-definition/{id}/restart`` and ``/restart-async`` (contract 16.1)."""

    processInstanceIds = fields.List(fields.String(), allow_none=True)
    historicProcessInstanceQuery = fields.Nested(PROCESS_INSTANCE_QUERY_BODY, allow_none=True)
    instructions = fields.List(fields.Nested(ModificationInstructionSchema), allow_none=True,
                               metadata={"description": "Omitted or null: start at the none start event; `cancel` "
                                                        "entries are ignored; `[]` answers 400."})
    initialVariables = _bool()
    skipCustomListeners = _bool(description="Accepted and ignored.")
    skipIoMappings = _bool(description="Accepted and ignored.")
    withoutBusinessKey = _bool()
    # Baton's additions.
    targetProcessDefinitionId = _str(description="Baton: restart onto another definition (by default the one in "
                                                 "the path).")
    dryRun = _bool(description="Baton: report what the restart would do, changing nothing.")


class ProcessInstanceModificationSchema(RequestSchema):
    """``POST /process-instance/{id}/modification`` (contract 8.6)."""

    skipCustomListeners = _bool(description="Accepted and ignored.")
    skipIoMappings = _bool(description="Accepted and ignored.")
    instructions = fields.List(fields.Nested(ModificationInstructionSchema), allow_none=True)
    annotation = _str(description="Accepted and ignored.")


class ProcessDefinitionKeySuspensionSchema(RequestSchema):
    """``PUT /process-definition/key/{key}/suspended``."""

    suspended = fields.Boolean(required=True)
    includeProcessInstances = _bool()


class ProcessDefinitionSuspensionSchema(ProcessDefinitionKeySuspensionSchema):
    """``PUT /process-definition/suspended`` and ``/process-definition/{id}/suspended``."""

    processDefinitionKey = _str(description="Selects the definitions by key.")


class SuspensionStateSchema(RequestSchema):
    """``{"suspended": true|false}`` (instances, jobs, batches)."""

    suspended = fields.Boolean(required=True)


class CompleteTaskSchema(RequestSchema):
    variables = variable_map()
    withVariablesInReturn = _bool(description="Answer 200 with the process variables instead of 204.")


class UserIdSchema(RequestSchema):
    userId = fields.String(allow_none=True)


class ClaimSchema(RequestSchema):
    userId = fields.String(required=True)


class PatchVariablesSchema(RequestSchema):
    modifications = variable_map()
    deletions = fields.List(fields.String(), allow_none=True)


class JobRetriesSchema(RequestSchema):
    retries = fields.Integer(required=True, metadata={"format": "int32"})
    dueDate = _str(description="A date (contract 3); `null` clears the due date, absent keeps it.",
                   pattern=DATE_INPUT_PATTERN)


class DeploymentCreateSchema(RequestSchema):
    """The multipart form of ``POST /deployment/create`` (contract 6.1).

    Every part other than the named ones is a resource and must carry a file name.
    """

    deployment_name = fields.String(data_key="deployment-name")
    enable_duplicate_filtering = fields.String(data_key="enable-duplicate-filtering",
                                               metadata={"description": "`true`/`false`, any case."})
    deploy_changed_only = fields.String(data_key="deploy-changed-only",
                                        metadata={"description": "`true`/`false`, any case."})
    deployment_source = fields.String(data_key="deployment-source")
    tenant_id = fields.String(data_key="tenant-id")
    deployment_activation_time = fields.String(data_key="deployment-activation-time",
                                               metadata={"description": "Accepted and ignored."})
    data = fields.Raw(metadata={"type": "string", "format": "binary",
                                "description": "A resource (any part name, with a file name), e.g. a `.bpmn` "
                                               "file."})


class CorrelationMessageSchema(RequestSchema):
    """``POST /message`` (contract 10.1)."""

    messageName = fields.String(required=True)
    businessKey = _str()
    tenantId = _str()
    withoutTenantId = _bool()
    processInstanceId = _str()
    correlationKeys = variable_map()
    localCorrelationKeys = variable_map()
    processVariables = variable_map()
    processVariablesLocal = variable_map()
    processVariablesToTriggeredScope = variable_map()
    all = _bool()
    resultEnabled = _bool(description="Answer 200 with the correlation results instead of 204.")
    variablesInResultEnabled = _bool()


class SignalSchema(RequestSchema):
    """``POST /signal`` (contract 11.1)."""

    name = fields.String(required=True)
    executionId = _str()
    variables = variable_map()
    tenantId = _str()
    withoutTenantId = _bool()
