"""Validation and normalization of step lists (contract 7.5, 3.2)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from app.engine.keyfactor.catalog import (
    StepValidationError,
    executable_steps,
    minimum_approvals,
    validate_steps,
)


def noop(name: str, nxt: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"ExtensionName": "NOOPStep", "UniqueName": name, **extra}
    if nxt:
        step["Outputs"] = {"continue": nxt}
    return step


def approval(name: str, nxt: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"ExtensionName": "RequireApproval", "UniqueName": name,
            "Signals": [{"SignalName": "ApprovalStatus", "RoleIds": [3]}],
            "Outputs": {"continue": nxt} if nxt else {}, **extra}


def chain(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    """Link the steps with continue outputs in the order given."""
    steps = tuple(copy.deepcopy(s) for s in steps)
    for step, nxt in zip(steps, steps[1:], strict=False):
        step["Outputs"] = {"continue": nxt["UniqueName"]}
    return list(steps)


EMAIL = {"Subject": "s", "Message": "<p>m</p>", "Recipients": ["a@example.com"]}
REST = {"Verb": "GET", "URL": "http://127.0.0.1/x"}

# (rule, steps, workflow type, step named in the message, fragment of the message)
INVALID: list[tuple[str, Any, str, str | None, str]] = [
    ("1 array", {"UniqueName": "A"}, "Expiration", None, "must be a JSON array"),
    ("1 array", "nope", "Expiration", None, "must be a JSON array"),
    ("1 objects", [noop("A"), 5], "Expiration", None, "Step #2: must be a JSON object"),
    ("2 extension missing", [{"UniqueName": "A"}], "Expiration", "A", "ExtensionName is required"),
    ("2 extension unknown", [{"UniqueName": "A", "ExtensionName": "Teleport"}], "Expiration", "A",
     "unknown ExtensionName 'Teleport'"),
    ("2 powershell", [{"UniqueName": "PS1", "ExtensionName": "PowerShell"}], "Expiration", "PS1",
     "use a PythonScript step, Baton's replacement"),
    ("2 custom powershell", [{"UniqueName": "PS2", "ExtensionName": "custompowershell"}], "Expiration", "PS2",
     "CustomPowerShell steps are not available in Baton; use a PythonScript step"),
    ("2 type support", [{"UniqueName": "E", "ExtensionName": "EnrollStep"}], "Revocation", "E",
     "EnrollStep steps cannot be used in Revocation workflows"),
    ("2 type support", [{"UniqueName": "R", "ExtensionName": "RevokeStep"}], "Expiration", "R",
     "RevokeStep steps cannot be used in Expiration workflows"),
    ("3 name missing", [{"ExtensionName": "NOOPStep"}], "Expiration", None, "Step #1: UniqueName is required"),
    ("3 name blank", [noop("  ")], "Expiration", None, "UniqueName is required"),
    ("3 name type", [{"ExtensionName": "NOOPStep", "UniqueName": 5}], "Expiration", None, "UniqueName is required"),
    ("3 name dot", [noop("A.B")], "Expiration", "A.B", "must not contain '.'"),
    ("3 name unique", [noop("Same", "same"), noop("same")], "Expiration", "same", "more than one step"),
    ("4 display name type", [noop("A", DisplayName=5)], "Expiration", "A", "DisplayName must be a string"),
    ("5 enabled type", [noop("A", Enabled="maybe")], "Expiration", "A", "Enabled must be true or false"),
    ("6 output target", [noop("A", "Ghost")], "Expiration", "A", "names 'Ghost', which is not a step"),
    ("6 output name", [noop("A", Outputs={"next": "B"}), noop("B")], "Expiration", "A",
     "NOOPStep steps have no output 'next'"),
    ("6 output type", [noop("A", Outputs={"continue": 5})], "Expiration", "A", "must name the UniqueName"),
    ("6 outputs type", [noop("A", Outputs=["B"])], "Expiration", "A", "Outputs must be a JSON object"),
    ("7 two entries", [noop("A", "C"), noop("B", "C"), noop("C")], "Expiration", "B", "several entry steps"),
    ("7 cycle", [noop("A", "B"), noop("B", "A")], "Expiration", "A", "cycle"),
    ("7 self loop", [noop("A", "A")], "Expiration", "A", "cycle"),
    ("7 unreachable", [noop("A", "B"), noop("B"), noop("C", "D"), noop("D", "C")], "Expiration", "C",
     "cannot be reached from the entry step 'A'"),
    ("8 unknown signal", [noop("A", Signals=[{"SignalName": "ApprovalStatus", "RoleIds": []}])], "Expiration",
     "A", "NOOPStep steps have no signal 'ApprovalStatus'"),
    ("8 signal name missing", [approval("A", Signals=[{"RoleIds": [1]}])], "Expiration", "A",
     "every signal needs a SignalName"),
    ("8 approval needs signal", [approval("A", Signals=[])], "Expiration", "A",
     "must configure the signal 'ApprovalStatus'"),
    ("8 role ids integers", [approval("A", Signals=[{"SignalName": "ApprovalStatus", "RoleIds": ["3"]}])],
     "Expiration", "A", "RoleIds of the signal 'ApprovalStatus' must be a list of integers"),
    ("8 role ids not bool", [approval("A", Signals=[{"SignalName": "ApprovalStatus", "RoleIds": [True]}])],
     "Expiration", "A", "must be a list of integers"),
    ("8 signal twice", [approval("A", Signals=[{"SignalName": "ApprovalStatus"}, {"signalName": "approvalstatus"}])],
     "Expiration", "A", "configured twice"),
    ("9 two enroll", chain(noop("S"), {"UniqueName": "E1", "ExtensionName": "EnrollStep"},
                           {"UniqueName": "E2", "ExtensionName": "EnrollStep"}), "Enrollment", "E2",
     "only one EnrollStep"),
    ("9 two revoke", chain({"UniqueName": "R1", "ExtensionName": "RevokeStep"},
                           {"UniqueName": "R2", "ExtensionName": "RevokeStep"}), "Revocation", "R2",
     "only one RevokeStep"),
    ("9 enroll conditions", [{"UniqueName": "E", "ExtensionName": "EnrollStep", "Conditions": [{"Value": "true"}]}],
     "Enrollment", "E", "EnrollStep steps cannot have Conditions"),
    ("9 revoke conditions", [{"UniqueName": "R", "ExtensionName": "RevokeStep", "Conditions": [{"Value": "x"}]}],
     "Revocation", "R", "RevokeStep steps cannot have Conditions"),
    ("9 enroll disabled", [{"UniqueName": "E", "ExtensionName": "EnrollStep", "Enabled": False}], "Enrollment",
     "E", "cannot be disabled"),
    ("10 required", [{"UniqueName": "M", "ExtensionName": "Email",
                      "ConfigurationParameters": {"Subject": "s", "Message": "m"}}], "Expiration", "M",
     "the parameter 'Recipients' is required"),
    ("10 required null", [{"UniqueName": "M", "ExtensionName": "Email",
                           "ConfigurationParameters": {**EMAIL, "Subject": None}}], "Expiration", "M",
     "the parameter 'Subject' is required"),
    ("10 string type", [{"UniqueName": "M", "ExtensionName": "Email",
                         "ConfigurationParameters": {**EMAIL, "Subject": 5}}], "Expiration", "M",
     "the parameter 'Subject' must be a string"),
    ("10 list type", [{"UniqueName": "M", "ExtensionName": "Email",
                       "ConfigurationParameters": {**EMAIL, "Recipients": "a@example.com"}}], "Expiration", "M",
     "must be a list of strings"),
    ("10 empty list", [{"UniqueName": "M", "ExtensionName": "Email",
                        "ConfigurationParameters": {**EMAIL, "Recipients": []}}], "Expiration", "M",
     "'Recipients' must not be empty"),
    ("10 verb", [{"UniqueName": "R", "ExtensionName": "RESTRequest",
                  "ConfigurationParameters": {**REST, "Verb": "FETCH"}}], "Expiration", "R",
     "'Verb' must be one of GET, POST, PUT, PATCH, DELETE"),
    ("10 headers", [{"UniqueName": "R", "ExtensionName": "RESTRequest",
                     "ConfigurationParameters": {**REST, "Headers": {"X-N": 5}}}], "Expiration", "R",
     "every value of the parameter 'Headers' must be a string"),
    ("10 object", [{"UniqueName": "P", "ExtensionName": "PythonScript",
                    "ConfigurationParameters": {"ScriptContent": "x = 1", "ScriptParameters": [1]}}], "Expiration",
     "P", "'ScriptParameters' must be a JSON object"),
    ("10 blank script", [{"UniqueName": "P", "ExtensionName": "PythonScript",
                          "ConfigurationParameters": {"ScriptContent": "  "}}], "Expiration", "P", "must not be empty"),
    ("10 oauth", [{"UniqueName": "O", "ExtensionName": "OAuthRESTRequest", "ConfigurationParameters": REST}],
     "Expiration", "O", "the parameter 'TokenEndpoint' is required"),
    ("10 minimum approvals", [approval("A", ConfigurationParameters={"MinimumApprovals": 0})], "Expiration", "A",
     "'MinimumApprovals' must be at least 1"),
    ("10 minimum approvals type", [approval("A", ConfigurationParameters={"minimumApprovals": "two"})],
     "Expiration", "A", "'MinimumApprovals' must be an integer"),
    ("10 params type", [noop("A", ConfigurationParameters=[1])], "Expiration", "A",
     "ConfigurationParameters must be a JSON object"),
    ("10 param twice", [{"UniqueName": "M", "ExtensionName": "Email",
                         "ConfigurationParameters": {**EMAIL, "subject": "again"}}], "Expiration", "M",
     "given twice"),
    ("member twice", [{"UniqueName": "A", "uniqueName": "B", "ExtensionName": "NOOPStep"}], "Expiration", None,
     "twice"),
    ("condition value", [noop("A", Conditions=[{"Id": "x"}])], "Expiration", "A", "every condition needs a Value"),
    ("workflow type", [], "Nonsense", None, "Unknown workflow type 'Nonsense'"),
]


@pytest.mark.parametrize(("rule", "steps", "workflow_type", "named", "fragment"), INVALID,
                         ids=[f"{i}-{case[0]}" for i, case in enumerate(INVALID)])
def test_invalid_step_lists(rule: str, steps: Any, workflow_type: str, named: str | None, fragment: str) -> None:
    with pytest.raises(StepValidationError) as caught:
        validate_steps(steps, workflow_type)
    message = str(caught.value)
    assert fragment in message
    assert caught.value.step == named
    if named is not None:
        assert f"Step {named!r}" in message


def test_empty_list_is_valid() -> None:
    assert validate_steps([], "Enrollment") == []


def test_normalized_shape_and_defaults() -> None:
    result = validate_steps([noop("StartNOOP", "Approve"), approval("Approve")], "Enrollment")
    first, second = result
    assert list(first) == ["Id", "DisplayName", "UniqueName", "ExtensionName", "Enabled", "ConfigurationParameters",
                           "Signals", "Conditions", "Outputs"]
    uuid.UUID(first["Id"])
    assert first["DisplayName"] == "StartNOOP" and first["Enabled"] is True
    assert first["ConfigurationParameters"] == {} and first["Signals"] == [] and first["Conditions"] == []
    assert first["Outputs"] == {"continue": "Approve"} and second["Outputs"] == {}
    (signal,) = second["Signals"]
    assert list(signal) == ["SignalName", "StepSignalId", "RoleIds"]
    assert signal["SignalName"] == "ApprovalStatus" and signal["RoleIds"] == [3]
    uuid.UUID(signal["StepSignalId"])


def test_case_insensitive_input_is_normalized() -> None:
    steps = [
        {"uniquename": "start", "extensionname": "noopstep", "displayname": "Start", "enabled": "TRUE",
         "outputs": {"Continue": "Approve"}},
        {"uniqueName": "Approve", "extensionName": "requireApproval", "enabled": True,
         "configurationParameters": {"minimumApprovals": "2", "notifyEmail": "x"},
         "signals": [{"signalName": "approvalstatus", "roleIds": [1, 2]}],
         "conditions": [{"value": "$(metadata:Go)"}], "outputs": {"continue": "REST"}},
        {"UNIQUENAME": "rest", "EXTENSIONNAME": "restrequest",
         "CONFIGURATIONPARAMETERS": {"verb": "post", "url": "http://h/x", "headers": {"X-A": "1"},
                                     "databucketproperty": "Answer"}},
    ]
    start, approve, rest = validate_steps(steps, "Expiration")
    assert start["ExtensionName"] == "NOOPStep" and start["Enabled"] is True
    assert start["Outputs"] == {"continue": "Approve"}
    assert approve["ExtensionName"] == "RequireApproval"
    assert approve["ConfigurationParameters"] == {"MinimumApprovals": 2, "notifyEmail": "x"}  # unknown kept
    assert approve["Signals"][0]["SignalName"] == "ApprovalStatus"
    assert approve["Conditions"][0]["Value"] == "$(metadata:Go)"
    assert approve["Outputs"] == {"continue": "rest"}  # the target's own spelling
    assert rest["ExtensionName"] == "RESTRequest"
    assert rest["ConfigurationParameters"] == {"Verb": "POST", "URL": "http://h/x", "Headers": {"X-A": "1"},
                                               "DataBucketProperty": "Answer"}
    assert minimum_approvals(approve) == 2


def test_validation_is_idempotent_and_keeps_ids() -> None:
    first = validate_steps([noop("A", "B"), approval("B", Conditions=[{"Value": "true"}])], "Expiration")
    again = validate_steps(copy.deepcopy(first), "Expiration")
    assert again == first


def test_invalid_guids_are_replaced() -> None:
    (step,) = validate_steps([noop("A", Id="not-a-guid", Conditions=[{"Id": 5, "Value": True}])], "Expiration")
    uuid.UUID(step["Id"])
    uuid.UUID(step["Conditions"][0]["Id"])
    assert step["Conditions"][0]["Value"] == "true"


def test_null_output_means_last_step_and_unknown_members_dropped() -> None:
    (step,) = validate_steps([noop("A", Outputs={"continue": None}, Extra=1, Enabled=None)], "Expiration")
    assert step["Outputs"] == {} and "Extra" not in step and step["Enabled"] is True


def test_executable_steps_orders_and_appends_enroll_step() -> None:
    steps = validate_steps([noop("End"), noop("Start", "Middle"), noop("Middle", "End")], "Enrollment")
    ordered = executable_steps(steps, "Enrollment")
    assert [s["UniqueName"] for s in ordered] == ["Start", "Middle", "End", "EnrollStep"]
    assert ordered[2]["Outputs"] == {"continue": "EnrollStep"}
    implicit = ordered[-1]
    assert implicit["ExtensionName"] == "EnrollStep" and implicit["DisplayName"] == "Enroll"
    assert executable_steps(steps, "Enrollment")[-1]["Id"] == implicit["Id"]  # stable
    assert steps[0]["Outputs"] == {}  # the stored list is not changed


def test_executable_steps_revocation_and_name_clash() -> None:
    ordered = executable_steps([noop("RevokeStep")], "Revocation")
    assert [s["UniqueName"] for s in ordered] == ["RevokeStep", "RevokeStep2"]
    assert ordered[1]["ExtensionName"] == "RevokeStep"
    assert [s["ExtensionName"] for s in executable_steps([], "Enrollment")] == ["EnrollStep"]
    assert executable_steps([], "Expiration") == []


def test_executable_steps_keeps_an_explicit_enroll_step() -> None:
    steps = chain(noop("Start"), {"UniqueName": "Enroll", "ExtensionName": "EnrollStep"}, noop("After"))
    ordered = executable_steps(steps, "Enrollment")
    assert [s["UniqueName"] for s in ordered] == ["Start", "Enroll", "After"]


def test_minimum_approvals_default() -> None:
    assert minimum_approvals({"ConfigurationParameters": {}}) == 1
    assert minimum_approvals({}) == 1
