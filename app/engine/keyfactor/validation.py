"""Validation and normalization of a Keyfactor step list (contract 7.5, 3.2).

Input keys are matched case-insensitively (``UniqueName``, ``uniqueName``, ``uniquename``), for
step members, inside ``ConfigurationParameters`` (known parameters only), ``Signals``,
``Conditions`` and ``Outputs``. Output uses Keyfactor's spelling, in DefinitionStepResponse order::

    {"Id": guid, "DisplayName": str, "UniqueName": str, "ExtensionName": str, "Enabled": bool,
     "ConfigurationParameters": {...}, "Signals": [{"SignalName", "StepSignalId", "RoleIds"}],
     "Conditions": [{"Id", "Value"}], "Outputs": {"continue": "<UniqueName>"} or {}}

Normalization details (Baton choices): a valid GUID given as ``Id``/``StepSignalId``/condition
``Id`` is kept (lower-cased), anything else gets a new one, so validating stored steps again
changes nothing; ``ExtensionName``, signal names, known parameter names and ``Outputs`` targets
take their canonical spelling; ``Outputs`` entries whose target is null or empty are dropped;
``MinimumApprovals`` given as a numeric string becomes an integer, booleans given as
``"true"``/``"false"`` become booleans, ``Verb`` is upper-cased; unknown parameters are stored
as sent; unknown step members are dropped. Beyond 7.5, Baton refuses a disabled
``EnrollStep``/``RevokeStep`` (like conditions, disabling would skip the enrollment).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.engine.keyfactor.steptypes import (
    POWERSHELL_NAMES,
    STEP_TYPES,
    WORKFLOW_TYPES,
    Param,
    StepType,
    canonical_workflow_type,
    find_step_type,
)

__all__ = ["StepValidationError", "executable_steps", "minimum_approvals", "validate_steps"]

_BOOL_TEXT = {"true": True, "false": False}


class StepValidationError(ValueError):
    """A step list breaks a rule of contract 7.5; the message names the step (``step``)."""

    def __init__(self, message: str, step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step


def _guid(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    return str(uuid.uuid4())


class _Step:
    """Validation of one step; ``label`` names it in messages."""

    def __init__(self, raw: Any, index: int) -> None:
        self.label = f"Step #{index + 1}"
        self.name: str | None = None
        if not isinstance(raw, dict):
            raise self.fail("must be a JSON object")
        self.members = self.fold(raw, "The step")

    def fail(self, text: str) -> StepValidationError:
        return StepValidationError(f"{self.label}: {text}", self.name)

    def fold(self, obj: dict[Any, Any], where: str) -> dict[str, Any]:
        """casefolded key → value; two spellings of one key are refused (which one would win?)."""
        folded: dict[str, Any] = {}
        for key, value in obj.items():
            key_text = str(key)
            if key_text.casefold() in folded:
                raise self.fail(f"{where} has the member {key_text!r} twice (member names are case-insensitive)")
            folded[key_text.casefold()] = value
        return folded

    def unique_name(self) -> str:
        value = self.members.get("uniquename")
        if not isinstance(value, str) or not value.strip():
            raise self.fail("UniqueName is required (a non-empty string)")
        self.name = value
        self.label = f"Step {value!r}"
        if "." in value:
            raise self.fail("UniqueName must not contain '.' (it is the first part of a SignalKey)")
        return value

    def step_type(self, workflow_type: str) -> StepType:
        value = self.members.get("extensionname")
        if not isinstance(value, str) or not value.strip():
            raise self.fail("ExtensionName is required")
        if value.strip().casefold() in POWERSHELL_NAMES:
            raise self.fail(f"{POWERSHELL_NAMES[value.strip().casefold()]} steps are not available in Baton; "
                            "use a PythonScript step, Baton's replacement (sandboxed Python)")
        step_type = find_step_type(value)
        if step_type is None:
            raise self.fail(f"unknown ExtensionName {value!r} (known: {', '.join(STEP_TYPES)})")
        if workflow_type not in step_type.workflow_types:
            raise self.fail(f"{step_type.extension_name} steps cannot be used in {workflow_type} workflows "
                            f"(only in: {', '.join(step_type.workflow_types)})")
        return step_type

    def text_member(self, key: str, label: str, default: str) -> str:
        value = self.members.get(key)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            raise self.fail(f"{label} must be a string")
        return value

    def enabled(self) -> bool:
        value = self.members.get("enabled")
        if value is None:
            return True
        if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
            return _BOOL_TEXT[value.strip().lower()]
        if not isinstance(value, bool):
            raise self.fail("Enabled must be true or false")
        return value

    def container(self, key: str, label: str, kind: type) -> Any:
        value = self.members.get(key)
        if value is None:
            return kind()
        if not isinstance(value, kind):
            raise self.fail(f"{label} must be a JSON {'object' if kind is dict else 'array'}")
        return value

    # -- ConfigurationParameters (rule 10) ---------------------------------------------------

    def parameters(self, step_type: StepType) -> dict[str, Any]:
        raw = self.container("configurationparameters", "ConfigurationParameters", dict)
        known = {p.name.casefold(): p for p in step_type.parameters}
        result: dict[str, Any] = {}
        for key, value in raw.items():
            param = known.get(str(key).casefold())
            name = param.name if param else str(key)
            if any(existing.casefold() == name.casefold() for existing in result):
                raise self.fail(f"the parameter {name!r} is given twice (parameter names are case-insensitive)")
            result[name] = self.parameter(param, value) if param else value
        for param in step_type.parameters:
            if param.required and result.get(param.name) is None:
                raise self.fail(f"the parameter {param.name!r} is required")
        return result

    def parameter(self, param: Param, value: Any) -> Any:
        where = f"the parameter {param.name!r}"
        if value is None:
            return None
        kind = param.kind
        if kind in ("string", "html", "script", "secret"):
            if not isinstance(value, str):
                raise self.fail(f"{where} must be a string")
            if param.required and not value.strip():
                raise self.fail(f"{where} must not be empty")
            if param.choices:
                match = next((c for c in param.choices if c.casefold() == value.strip().casefold()), None)
                if match is None:
                    raise self.fail(f"{where} must be one of {', '.join(param.choices)} (got {value!r})")
                return match
            return value
        if kind == "int":
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                value = int(value.strip())
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.fail(f"{where} must be an integer")
            if param.minimum is not None and value < param.minimum:
                raise self.fail(f"{where} must be at least {param.minimum}")
            return value
        if kind == "bool":
            if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
                return _BOOL_TEXT[value.strip().lower()]
            if not isinstance(value, bool):
                raise self.fail(f"{where} must be true or false")
            return value
        if kind == "string_list":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise self.fail(f"{where} must be a list of strings")
            if param.required and not any(item.strip() for item in value):
                raise self.fail(f"{where} must not be empty")
            return value
        # object
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a JSON object")
        if param.string_values and not all(isinstance(v, str) for v in value.values()):
            raise self.fail(f"every value of {where} must be a string")
        return value

    # -- Signals (rule 8) --------------------------------------------------------------------

    def signals(self, step_type: StepType) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for item in self.container("signals", "Signals", list):
            if not isinstance(item, dict):
                raise self.fail("every entry of Signals must be an object")
            members = self.fold(item, "A signal")
            name = members.get("signalname")
            if not isinstance(name, str) or not name.strip():
                raise self.fail("every signal needs a SignalName")
            canonical = next((s for s in step_type.signals if s.casefold() == name.strip().casefold()), None)
            if canonical is None:
                offered = ", ".join(step_type.signals) or "none"
                raise self.fail(f"{step_type.extension_name} steps have no signal {name!r} (signals: {offered})")
            if any(s["SignalName"] == canonical for s in result):
                raise self.fail(f"the signal {canonical!r} is configured twice")
            role_ids = members.get("roleids")
            if role_ids is None:
                role_ids = []
            if not isinstance(role_ids, list) or not all(
                    isinstance(r, int) and not isinstance(r, bool) for r in role_ids):
                raise self.fail(f"RoleIds of the signal {canonical!r} must be a list of integers")
            result.append({"SignalName": canonical, "StepSignalId": _guid(members.get("stepsignalid")),
                           "RoleIds": list(role_ids)})
        for required in step_type.required_signals:
            if not any(s["SignalName"] == required for s in result):
                raise self.fail(f"{step_type.extension_name} steps must configure the signal {required!r}")
        return result

    # -- Conditions (rule 9 for Enroll/Revoke) --------------------------------------------------

    def conditions(self, step_type: StepType) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for item in self.container("conditions", "Conditions", list):
            if isinstance(item, str):  # a bare value is accepted as {"Value": ...}
                item = {"Value": item}
            if not isinstance(item, dict):
                raise self.fail("every entry of Conditions must be an object with a Value")
            members = self.fold(item, "A condition")
            value = members.get("value")
            if isinstance(value, bool | int | float):
                value = json.dumps(value)
            if not isinstance(value, str):
                raise self.fail("every condition needs a Value (a string such as $(metadata:Field))")
            result.append({"Id": _guid(members.get("id")), "Value": value})
        if result and step_type.built_in:
            raise self.fail(f"{step_type.extension_name} steps cannot have Conditions")
        return result

    # -- Outputs (rule 6; targets are resolved once every name is known) -----------------------

    def outputs(self, step_type: StepType) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, target in self.container("outputs", "Outputs", dict).items():
            output = next((o for o in step_type.outputs if o.casefold() == str(key).casefold()), None)
            if output is None:
                raise self.fail(f"{step_type.extension_name} steps have no output {key!r} "
                                f"(outputs: {', '.join(step_type.outputs)})")
            if output in result:
                raise self.fail(f"the output {output!r} is given twice")
            if target is None or target == "":
                continue
            if not isinstance(target, str):
                raise self.fail(f"the output {output!r} must name the UniqueName of a step")
            result[output] = target
        return result

    def normalize(self, workflow_type: str) -> dict[str, Any]:
        unique_name = self.unique_name()
        step_type = self.step_type(workflow_type)
        enabled = self.enabled()
        if step_type.built_in and not enabled:
            raise self.fail(f"{step_type.extension_name} steps cannot be disabled (remove the step instead; the "
                            f"{'enrollment' if step_type.extension_name == 'EnrollStep' else 'revocation'} "
                            "then happens after the last step)")
        return {
            "Id": _guid(self.members.get("id")),
            "DisplayName": self.text_member("displayname", "DisplayName", unique_name),
            "UniqueName": unique_name,
            "ExtensionName": step_type.extension_name,
            "Enabled": enabled,
            "ConfigurationParameters": self.parameters(step_type),
            "Signals": self.signals(step_type),
            "Conditions": self.conditions(step_type),
            "Outputs": self.outputs(step_type),
        }


def _workflow_type(workflow_type: str) -> str:
    canonical = canonical_workflow_type(workflow_type)
    if canonical is None:
        raise StepValidationError(f"Unknown workflow type {workflow_type!r} (known: {', '.join(WORKFLOW_TYPES)})")
    return canonical


def validate_steps(steps: Any, workflow_type: str) -> list[dict[str, Any]]:
    """Check a step list against every rule of contract 7.5 and return it normalized (input order).

    Raises :class:`StepValidationError` naming the offending step.
    """
    workflow_type = _workflow_type(workflow_type)
    if not isinstance(steps, list):
        raise StepValidationError("The steps must be a JSON array")
    result = [_Step(raw, index).normalize(workflow_type) for index, raw in enumerate(steps)]

    by_name: dict[str, dict[str, Any]] = {}
    for step in result:
        folded = step["UniqueName"].casefold()
        if folded in by_name:
            raise StepValidationError(f"Step {step['UniqueName']!r}: UniqueName is used by more than one step "
                                      "(names are compared case-insensitively)", step["UniqueName"])
        by_name[folded] = step
    for step in result:
        for output, target in step["Outputs"].items():
            found = by_name.get(target.casefold())
            if found is None:
                raise StepValidationError(f"Step {step['UniqueName']!r}: the output {output!r} names {target!r}, "
                                          "which is not a step of this definition", step["UniqueName"])
            step["Outputs"][output] = found["UniqueName"]
    _check_graph(result)
    _check_built_ins(result)
    return result


def _check_graph(steps: list[dict[str, Any]]) -> None:
    """Rule 7: one entry step, everything reachable from it, no cycles."""
    if not steps:
        return
    targets = {t for step in steps for t in step["Outputs"].values()}
    entries = [s for s in steps if s["UniqueName"] not in targets]
    if not entries:
        name = steps[0]["UniqueName"]
        raise StepValidationError(f"Step {name!r}: the steps form a cycle; exactly one step must have no step "
                                  "leading to it (the entry step)", name)
    if len(entries) > 1:
        names = ", ".join(repr(s["UniqueName"]) for s in entries)
        raise StepValidationError(f"Step {entries[1]['UniqueName']!r}: no step leads to it, so there are several "
                                  f"entry steps ({names}); a workflow has exactly one", entries[1]["UniqueName"])
    by_name = {s["UniqueName"]: s for s in steps}
    seen: set[str] = set()
    current: dict[str, Any] | None = entries[0]
    while current is not None:
        if current["UniqueName"] in seen:
            name = current["UniqueName"]
            raise StepValidationError(f"Step {name!r}: the steps form a cycle through this step", name)
        seen.add(current["UniqueName"])
        nxt = current["Outputs"].get("continue")
        current = by_name[nxt] if nxt else None
    for step in steps:
        if step["UniqueName"] not in seen:
            name = step["UniqueName"]
            raise StepValidationError(f"Step {name!r}: cannot be reached from the entry step "
                                      f"{entries[0]['UniqueName']!r}", name)


def _check_built_ins(steps: list[dict[str, Any]]) -> None:
    """Rule 9: at most one EnrollStep / RevokeStep (the workflow type was checked per step)."""
    for extension in ("EnrollStep", "RevokeStep"):
        found = [s for s in steps if s["ExtensionName"] == extension]
        if len(found) > 1:
            name = found[1]["UniqueName"]
            raise StepValidationError(f"Step {name!r}: only one {extension} is allowed per definition "
                                      f"({found[0]['UniqueName']!r} is one already)", name)


def executable_steps(steps: list[dict[str, Any]], workflow_type: str) -> list[dict[str, Any]]:
    """The steps in run order (entry step first), as copies, validated.

    An Enrollment (Revocation) definition without an ``EnrollStep`` (``RevokeStep``) gets one
    appended after the last step (contract 7.4): UniqueName ``EnrollStep`` (``RevokeStep``; with a
    number appended if taken), DisplayName ``Enroll`` (``Revoke``), an ``Id`` derived from the
    other steps' ids (stable for the same list), and the old last step's ``continue`` output
    pointing to it. The stored step list never contains this implicit step.
    """
    workflow_type = _workflow_type(workflow_type)
    normalized = validate_steps(json.loads(json.dumps(steps)), workflow_type)
    by_name = {s["UniqueName"]: s for s in normalized}
    ordered: list[dict[str, Any]] = []
    if normalized:
        targets = {t for s in normalized for t in s["Outputs"].values()}
        current: dict[str, Any] | None = next(s for s in normalized if s["UniqueName"] not in targets)
        while current is not None:
            ordered.append(current)
            nxt = current["Outputs"].get("continue")
            current = by_name[nxt] if nxt else None
    for extension in WORKFLOW_TYPES[workflow_type].built_in_steps:
        if any(s["ExtensionName"] == extension for s in ordered):
            continue
        taken = {s["UniqueName"].casefold() for s in ordered}
        name, n = extension, 1
        while name.casefold() in taken:
            n += 1
            name = f"{extension}{n}"
        seed = workflow_type + ":" + ",".join(s["Id"] for s in ordered)
        implicit = {"Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"baton:implicit:{seed}")),
                    "DisplayName": STEP_TYPES[extension].display_name, "UniqueName": name,
                    "ExtensionName": extension, "Enabled": True, "ConfigurationParameters": {}, "Signals": [],
                    "Conditions": [], "Outputs": {}}
        if ordered:
            ordered[-1]["Outputs"] = {"continue": name}
        ordered.append(implicit)
    return ordered


def minimum_approvals(step: dict[str, Any]) -> int:
    """``MinimumApprovals`` of a (normalized) RequireApproval step; 1 when not configured."""
    params = step.get("ConfigurationParameters") or {}
    value = next((v for k, v in params.items() if str(k).casefold() == "minimumapprovals"), None)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1
