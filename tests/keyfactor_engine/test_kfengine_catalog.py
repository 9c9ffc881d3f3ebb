"""The step and workflow-type catalogs (contract 6.3, 7.4, 8)."""

from __future__ import annotations

import json

import pytest

from app.engine.keyfactor.catalog import available_steps, step_definition, workflow_types

PARAMETER_MEMBERS = ["DisplayName", "ParameterType", "Required", "DefaultValue", "ControlType", "PotentialValues",
                     "SupportTokenReplacement", "DependsOn"]
ALL_TYPES = ["Enrollment", "Revocation", "CertificateEnteredCollection", "CertificateLeftCollection", "Expiration"]


def _check_parameter(definition: dict) -> None:
    assert list(definition) == PARAMETER_MEMBERS
    assert isinstance(definition["DisplayName"], str)
    assert definition["ParameterType"] in range(8) and definition["ControlType"] in range(8)
    assert isinstance(definition["Required"], bool) and isinstance(definition["SupportTokenReplacement"], bool)
    assert definition["DefaultValue"] is None or isinstance(definition["DefaultValue"], str)
    assert isinstance(definition["PotentialValues"], dict) and definition["DependsOn"] == {}


def test_workflow_types_shape() -> None:
    types = workflow_types()
    assert [t["WorkflowType"] for t in types] == ALL_TYPES
    by_name = {t["WorkflowType"]: t for t in types}
    assert by_name["Enrollment"] == {
        "WorkflowType": "Enrollment", "KeyType": "Template", "ContextParameters": [],
        "BuiltInSteps": [{"DisplayName": "Enroll", "ExtensionName": "EnrollStep", "Outputs": ["continue"],
                          "ConfigurationParametersDefinition": {}, "SignalsDefinition": {}}]}
    assert by_name["Revocation"]["BuiltInSteps"][0]["ExtensionName"] == "RevokeStep"
    assert by_name["Revocation"]["KeyType"] == "Template"
    assert by_name["CertificateEnteredCollection"]["KeyType"] == "Collection"
    assert by_name["CertificateLeftCollection"]["BuiltInSteps"] == []
    assert by_name["Expiration"]["KeyType"] == "Alert"
    json.dumps(types)  # plain JSON data


def test_available_steps_shape() -> None:
    items = available_steps()
    names = [i["ExtensionName"] for i in items]
    assert names == ["NOOPStep", "RequireApproval", "Email", "RESTRequest", "OAuthRESTRequest", "PythonScript",
                     "EnrollStep", "RevokeStep", "UpdateMetadata"]
    assert "PowerShell" not in names and "CustomPowerShell" not in names
    for item in items:
        assert list(item) == ["DisplayName", "ExtensionName", "SupportedWorkflowTypes",
                              "ConfigurationParametersDefinition", "SignalsDefinition"]
        for definition in item["ConfigurationParametersDefinition"].values():
            _check_parameter(definition)
        for signal in item["SignalsDefinition"].values():
            assert list(signal) == ["InputParameters"]
            for definition in signal["InputParameters"].values():
                _check_parameter(definition)
    approval = items[1]
    assert approval["SupportedWorkflowTypes"] == ALL_TYPES
    assert set(approval["ConfigurationParametersDefinition"]) == {"MinimumApprovals"}
    assert approval["ConfigurationParametersDefinition"]["MinimumApprovals"]["DefaultValue"] == "1"
    inputs = approval["SignalsDefinition"]["ApprovalStatus"]["InputParameters"]
    assert inputs["Approved"]["Required"] is True and inputs["Comment"]["Required"] is False
    json.dumps(items)


def test_parameters_of_each_step_type() -> None:
    params = {i["ExtensionName"]: i["ConfigurationParametersDefinition"] for i in available_steps()}
    assert list(params["Email"]) == ["Subject", "Message", "Recipients"]
    assert all(p["Required"] and p["SupportTokenReplacement"] for p in params["Email"].values())
    assert list(params["RESTRequest"]) == ["Verb", "URL", "ContentType", "RequestContent", "Headers",
                                           "DataBucketProperty"]
    assert params["RESTRequest"]["Verb"]["PotentialValues"] == {v: v for v in ("GET", "POST", "PUT", "PATCH",
                                                                               "DELETE")}
    assert params["RESTRequest"]["URL"]["SupportTokenReplacement"] is True
    assert params["RESTRequest"]["DataBucketProperty"]["SupportTokenReplacement"] is False
    assert set(params["OAuthRESTRequest"]) == set(params["RESTRequest"]) | {
        "TokenEndpoint", "client_id", "client_secret", "scope", "audience"}
    assert params["PythonScript"]["ScriptContent"]["Required"] is True
    assert params["PythonScript"]["ScriptParameters"]["SupportTokenReplacement"] is True
    assert list(params["UpdateMetadata"]) == ["Name", "Value"]
    assert params["NOOPStep"] == {} and params["EnrollStep"] == {}


def test_available_steps_filtered_by_workflow_type() -> None:
    enrollment = [i["ExtensionName"] for i in available_steps("enrollment")]
    assert "EnrollStep" in enrollment and "RevokeStep" not in enrollment
    revocation = [i["ExtensionName"] for i in available_steps("Revocation")]
    assert "RevokeStep" in revocation and "EnrollStep" not in revocation
    expiration = [i["ExtensionName"] for i in available_steps("Expiration")]
    assert "EnrollStep" not in expiration and "RevokeStep" not in expiration and "Email" in expiration
    assert available_steps("NoSuchType") == []


def test_step_definition() -> None:
    item = step_definition("requireapproval")
    assert list(item) == ["DisplayName", "ExtensionName", "Outputs", "ConfigurationParametersDefinition",
                          "SignalsDefinition"]
    assert item["ExtensionName"] == "RequireApproval" and item["Outputs"] == ["continue"]
    assert step_definition("PythonScript")["DisplayName"] == "Python Script"
    for unknown in ("PowerShell", "CustomPowerShell", "Nope"):
        with pytest.raises(KeyError):
            step_definition(unknown)


def test_catalog_results_are_copies() -> None:
    available_steps()[0]["DisplayName"] = "changed"
    workflow_types()[0]["BuiltInSteps"].clear()
    assert available_steps()[0]["DisplayName"] == "No Operation"
    assert workflow_types()[0]["BuiltInSteps"]
