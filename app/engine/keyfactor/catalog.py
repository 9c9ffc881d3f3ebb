"""The Keyfactor step catalog: GET ``/Workflow/Definitions/Steps``, ``…/Steps/{extensionName}``,
``…/Types`` items (contract 6.3, 8) and step-list validation (7.5; implemented in
:mod:`.validation`, re-exported here).

Baton's step types: ``NOOPStep``, ``RequireApproval``, ``Email``, ``RESTRequest``,
``OAuthRESTRequest``, ``PythonScript`` (replaces Keyfactor's ``PowerShell``/``CustomPowerShell``,
which validation refuses), ``EnrollStep`` (Enrollment only), ``RevokeStep`` (Revocation only),
``UpdateMetadata``. Every list returned here is a fresh copy the caller may change.

``PythonScript`` parameters: ``ScriptContent`` (Python, required) and ``ScriptParameters``
(object; token replacement on its values). The script runs in Baton's RestrictedPython sandbox
with the data bucket's keys and the parameters as variables; every top-level name it assigns
(JSON-like data only) is merged into the data bucket.
"""

from __future__ import annotations

from typing import Any

from app.engine.keyfactor.steptypes import (
    CONTROL_TYPES,
    PARAMETER_TYPES,
    STEP_TYPES,
    WORKFLOW_TYPES,
    Param,
    StepType,
    canonical_workflow_type,
    find_step_type,
)
from app.engine.keyfactor.validation import (
    StepValidationError,
    executable_steps,
    minimum_approvals,
    validate_steps,
)

__all__ = [
    "CONTROL_TYPES", "PARAMETER_TYPES", "STEP_TYPES", "WORKFLOW_TYPES", "StepValidationError",
    "available_steps", "canonical_workflow_type", "executable_steps", "find_step_type", "minimum_approvals",
    "step_definition", "validate_steps", "workflow_types",
]


def _parameter_definition(param: Param) -> dict[str, Any]:
    """ParameterDefinitionResponse (contract 6.3), members in the documented order."""
    return {
        "DisplayName": param.display_name,
        "ParameterType": PARAMETER_TYPES[param.kind],
        "Required": param.required,
        "DefaultValue": param.default,
        "ControlType": 0 if param.choices else CONTROL_TYPES[param.kind],
        "PotentialValues": {choice: choice for choice in param.choices},
        "SupportTokenReplacement": param.tokens,
        "DependsOn": {},
    }


def _definitions(step_type: StepType) -> tuple[dict[str, Any], dict[str, Any]]:
    parameters = {p.name: _parameter_definition(p) for p in step_type.parameters}
    signals = {name: {"InputParameters": {p.name: _parameter_definition(p) for p in inputs}}
               for name, inputs in step_type.signals.items()}
    return parameters, signals


def _available_step(step_type: StepType) -> dict[str, Any]:
    """AvailableStepResponse: ``{DisplayName, ExtensionName, Outputs, ConfigurationParametersDefinition,
    SignalsDefinition}``."""
    parameters, signals = _definitions(step_type)
    return {"DisplayName": step_type.display_name, "ExtensionName": step_type.extension_name,
            "Outputs": list(step_type.outputs), "ConfigurationParametersDefinition": parameters,
            "SignalsDefinition": signals}


def available_steps(workflow_type: str | None = None) -> list[dict[str, Any]]:
    """Items of GET /Workflow/Definitions/Steps (AvailableStepQueryResponse), in catalog order.

    ``workflow_type`` (case-insensitive) keeps only the step types usable in that type; an
    unknown type gives ``[]``. Shape: ``{DisplayName, ExtensionName, SupportedWorkflowTypes,
    ConfigurationParametersDefinition, SignalsDefinition}``.
    """
    wanted = canonical_workflow_type(workflow_type) if workflow_type is not None else None
    if workflow_type is not None and wanted is None:
        return []
    items = []
    for step_type in STEP_TYPES.values():
        if wanted is not None and wanted not in step_type.workflow_types:
            continue
        parameters, signals = _definitions(step_type)
        items.append({"DisplayName": step_type.display_name, "ExtensionName": step_type.extension_name,
                      "SupportedWorkflowTypes": list(step_type.workflow_types),
                      "ConfigurationParametersDefinition": parameters, "SignalsDefinition": signals})
    return items


def step_definition(extension_name: str) -> dict[str, Any]:
    """GET /Workflow/Definitions/Steps/{extensionName} (case-insensitive).

    Raises KeyError for an unknown name (answer 404); ``PowerShell``/``CustomPowerShell`` are unknown.
    """
    step_type = find_step_type(extension_name)
    if step_type is None:
        raise KeyError(extension_name)
    return _available_step(step_type)


def workflow_types() -> list[dict[str, Any]]:
    """Items of GET /Workflow/Definitions/Types (WorkflowTypeQueryResponse), contract 8:
    ``{WorkflowType, KeyType, ContextParameters: [], BuiltInSteps: [AvailableStepResponse]}``."""
    return [{"WorkflowType": wt.name, "KeyType": wt.key_type, "ContextParameters": [],
             "BuiltInSteps": [_available_step(STEP_TYPES[name]) for name in wt.built_in_steps]}
            for wt in WORKFLOW_TYPES.values()]
