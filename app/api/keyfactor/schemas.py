"""marshmallow schemas of the Keyfactor dialect: every response model, members PascalCase and in
the contract's order (section 3.1: always present; lists ``[]`` and objects ``{}``, never null).

``Status`` is the name (default) or the integer, per ``BATON_KEYFACTOR_STATUS``; dates are
ISO 8601 UTC with milliseconds and ``Z``. Request schemas document the bodies; the views bind
members case-insensitively (params.bind) before the services check them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from marshmallow import Schema, fields

from app.services.keyfactor_query import STATUS_NAMES


class KeyfactorDate(fields.Field):
    """``2024-05-01T12:30:00.123Z``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
            return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        return str(value)


def status_output(status: int) -> int | str:
    settings = current_app.extensions["baton"].settings
    return status if settings.keyfactor_status == "int" else STATUS_NAMES[status]


class StatusField(fields.Field):
    """Name or integer (contract 9.3)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> int | str:
        return status_output(int(value))


def _list(inner: fields.Field | type[Schema] | Schema, **kwargs: Any) -> fields.Field:
    if isinstance(inner, type) and issubclass(inner, Schema):
        return fields.List(fields.Nested(inner), dump_default=list, **kwargs)
    if isinstance(inner, Schema):
        return fields.List(fields.Nested(inner), dump_default=list, **kwargs)
    return fields.List(inner, dump_default=list, **kwargs)


def _object(**kwargs: Any) -> fields.Field:
    return fields.Dict(keys=fields.String(), dump_default=dict, **kwargs)


class KeyfactorErrorSchema(Schema):
    ErrorCode = fields.String()
    Message = fields.String()


def error_docs(blueprint: Any, *statuses: int) -> Any:
    """A decorator documenting the error body for each status (flask-smorest ``alt_response``)."""
    def decorate(view: Any) -> Any:
        for status in statuses:
            view = blueprint.alt_response(status, schema=KeyfactorErrorSchema)(view)
        return view
    return decorate


# --------------------------------------------------------------------------------------------
# Definitions


class SignalSchema(Schema):
    RoleIds = _list(fields.Integer())
    SignalName = fields.String()


class ConditionSchema(Schema):
    Id = fields.String()
    Value = fields.String()


class DefinitionStepSchema(Schema):
    """DefinitionStepResponse (the stored step dicts are in Keyfactor spelling already)."""

    Id = fields.String()
    DisplayName = fields.String()
    UniqueName = fields.String()
    ExtensionName = fields.String()
    Enabled = fields.Boolean(dump_default=True)
    ConfigurationParameters = _object()
    Signals = _list(SignalSchema)
    Conditions = _list(ConditionSchema)
    Outputs = _object(values=fields.String())


class DefinitionQuerySchema(Schema):
    """DefinitionQueryResponse (items of GET /Workflow/Definitions)."""

    Id = fields.String(attribute="id")
    DisplayName = fields.String(attribute="display_name")
    Key = fields.String(attribute="key")
    KeyDisplayName = fields.String(attribute="key_display_name", allow_none=True)
    WorkflowType = fields.String(attribute="workflow_type")
    DraftVersion = fields.Integer(attribute="draft_version")
    PublishedVersion = fields.Integer(attribute="published_version", allow_none=True)


class DefinitionSchema(Schema):
    """DefinitionResponse."""

    Id = fields.String(attribute="id")
    DisplayName = fields.String(attribute="display_name")
    Description = fields.String(attribute="description", allow_none=True)
    Key = fields.String(attribute="key")
    KeyDisplayName = fields.String(attribute="key_display_name", allow_none=True)
    IsPublished = fields.Boolean(attribute="is_published")
    WorkflowType = fields.String(attribute="workflow_type")
    Steps = _list(DefinitionStepSchema, attribute="steps")
    DraftVersion = fields.Integer(attribute="draft_version")
    PublishedVersion = fields.Integer(attribute="published_version", allow_none=True)


class ParameterDefinitionSchema(Schema):
    DisplayName = fields.String()
    ParameterType = fields.Integer()
    Required = fields.Boolean(dump_default=False)
    DefaultValue = fields.String(allow_none=True, dump_default=None)
    ControlType = fields.Integer()
    PotentialValues = _object(values=fields.String())
    SupportTokenReplacement = fields.Boolean(dump_default=False)
    DependsOn = _object(values=fields.String())


class SignalDefinitionSchema(Schema):
    InputParameters = fields.Dict(keys=fields.String(), values=fields.Nested(ParameterDefinitionSchema),
                                  dump_default=dict)


def _parameter_map() -> fields.Field:
    return fields.Dict(keys=fields.String(), values=fields.Nested(ParameterDefinitionSchema), dump_default=dict)


class AvailableStepQuerySchema(Schema):
    """AvailableStepQueryResponse (items of GET /Workflow/Definitions/Steps)."""

    DisplayName = fields.String()
    ExtensionName = fields.String()
    SupportedWorkflowTypes = _list(fields.String())
    ConfigurationParametersDefinition = _parameter_map()
    SignalsDefinition = fields.Dict(keys=fields.String(), values=fields.Nested(SignalDefinitionSchema),
                                    dump_default=dict)


class AvailableStepSchema(Schema):
    """AvailableStepResponse (GET /Workflow/Definitions/Steps/{extensionName})."""

    DisplayName = fields.String()
    ExtensionName = fields.String()
    Outputs = _list(fields.String())
    ConfigurationParametersDefinition = _parameter_map()
    SignalsDefinition = fields.Dict(keys=fields.String(), values=fields.Nested(SignalDefinitionSchema),
                                    dump_default=dict)


class WorkflowTypeSchema(Schema):
    """WorkflowTypeQueryResponse (items of GET /Workflow/Definitions/Types)."""

    WorkflowType = fields.String()
    KeyType = fields.String()
    ContextParameters = _list(fields.String())
    BuiltInSteps = _list(AvailableStepSchema)


# --------------------------------------------------------------------------------------------
# Instances


class InstanceSignalSchema(Schema):
    SignalName = fields.String()
    StepSignalId = fields.String(allow_none=True)
    SignalReceived = fields.Boolean()


class DefinitionSnapshotSchema(Schema):
    Id = fields.String()
    DisplayName = fields.String()
    Version = fields.Integer()
    WorkflowType = fields.String()


class InstanceQuerySchema(Schema):
    """InstanceQueryResponse (items of the three instance lists)."""

    Id = fields.String(attribute="id")
    Status = StatusField(attribute="status")
    CurrentStepId = fields.String(attribute="current_step_id", allow_none=True)
    StatusMessage = fields.String(attribute="status_message", allow_none=True)
    Definition = fields.Nested(DefinitionSnapshotSchema, attribute="definition")
    CurrentStepDisplayName = fields.String(attribute="current_step_display_name", allow_none=True)
    CurrentStepUniqueName = fields.String(attribute="current_step_unique_name", allow_none=True)
    Title = fields.String(attribute="title", allow_none=True)
    LastModified = KeyfactorDate(attribute="last_modified")
    StartDate = KeyfactorDate(attribute="start_date")
    ReferenceId = fields.Integer(attribute="reference_id")


class InstanceSchema(Schema):
    """InstanceResponse (GET /Workflow/Instances/{id} and the start call)."""

    Id = fields.String(attribute="id")
    Status = StatusField(attribute="status")
    CurrentStepId = fields.String(attribute="current_step_id", allow_none=True)
    StatusMessage = fields.String(attribute="status_message", allow_none=True)
    Signals = _list(InstanceSignalSchema, attribute="signals")
    Definition = fields.Nested(DefinitionSnapshotSchema, attribute="definition")
    CurrentStepDisplayName = fields.String(attribute="current_step_display_name", allow_none=True)
    CurrentStepUniqueName = fields.String(attribute="current_step_unique_name", allow_none=True)
    Title = fields.String(attribute="title", allow_none=True)
    LastModified = KeyfactorDate(attribute="last_modified")
    StartDate = KeyfactorDate(attribute="start_date")
    InitialData = fields.Raw(attribute="initial_data")
    CurrentStateData = fields.Raw(attribute="current_state_data")
    ReferenceId = fields.Integer(attribute="reference_id")


# --------------------------------------------------------------------------------------------
# Requests (documentation; members are bound case-insensitively by the views)


class DefinitionCreateRequestSchema(Schema):
    DisplayName = fields.String(required=True)
    Description = fields.String(allow_none=True)
    Key = fields.String(required=True)
    WorkflowType = fields.String(required=True)


class DefinitionUpdateRequestSchema(Schema):
    DisplayName = fields.String(required=True)
    Description = fields.String(allow_none=True)


class StepSignalRequestSchema(Schema):
    SignalName = fields.String()
    RoleIds = fields.List(fields.Integer())


class ConditionRequestSchema(Schema):
    Value = fields.String()


class DefinitionStepRequestSchema(Schema):
    ExtensionName = fields.String(required=True)
    UniqueName = fields.String(required=True)
    DisplayName = fields.String()
    Enabled = fields.Boolean()
    ConfigurationParameters = fields.Dict()
    Signals = fields.List(fields.Nested(StepSignalRequestSchema))
    Conditions = fields.List(fields.Nested(ConditionRequestSchema))
    Outputs = fields.Dict(keys=fields.String(), values=fields.String())


class SignalRequestSchema(Schema):
    SignalKey = fields.String(required=True)
    Data = fields.Dict()


class InstanceStartRequestSchema(Schema):
    DefinitionId = fields.String(required=True)
    InitialData = fields.Dict()
    Title = fields.String()


class RestartRequestSchema(Schema):
    Version = fields.Integer()
