"""Keyfactor workflows end to end through the Flask test client: approvals, denial, failure and
restart, stop, delete, versions of definitions."""

from __future__ import annotations

from typing import Any

from kf_helpers import (
    KfClient,
    approval_steps,
    approve,
    camel_case,
    create_published,
    refused_port,
    start,
)

SUSPENDED_KEYS = {"Id", "Status", "CurrentStepId", "StatusMessage", "Signals", "Definition", "CurrentStepDisplayName",
                  "CurrentStepUniqueName", "Title", "LastModified", "StartDate", "InitialData", "CurrentStateData",
                  "ReferenceId"}


PENDING = ("/workflows/instances/read/pending/",)


def test_enrollment_approval_lifecycle(kf: KfClient, make_user: Any, approver_role: int) -> None:
    alice = make_user("alice", PENDING, roles=(approver_role,))
    bob = make_user("bob", PENDING, roles=(approver_role,))
    definition = kf.ok("post", "/Workflow/Definitions", json=camel_case(
        {"DisplayName": "Web server enrollment", "Description": "needs two approvers", "Key": "5",
         "WorkflowType": "Enrollment"}))
    assert definition["DraftVersion"] == 1 and definition["PublishedVersion"] is None
    assert definition["IsPublished"] is False and definition["Steps"] == []
    definition_id = definition["Id"]

    steps = kf.ok("put", f"/Workflow/Definitions/{definition_id}/Steps", json=approval_steps(2, [approver_role]))
    approval = steps["Steps"][1]
    assert approval["ConfigurationParameters"] == {"MinimumApprovals": 2}  # canonical key spelling
    assert approval["Signals"] == [{"RoleIds": [approver_role], "SignalName": "ApprovalStatus"}]
    published = kf.ok("post", f"/Workflow/Definitions/{definition_id}/Publish")
    assert published["IsPublished"] is True and published["PublishedVersion"] == 1

    instance = start(kf, definition_id, {"cn": "appsrvr12.keyexample.com", "Metadata": {"Owner": "ops"}},
                     title="Enroll appsrvr12")
    assert set(instance) == SUSPENDED_KEYS
    assert instance["Status"] == "Suspended"
    assert instance["CurrentStepUniqueName"] == "RequireApproval1"
    assert instance["CurrentStepDisplayName"] == "Approve"
    assert instance["CurrentStepId"] == approval["Id"]
    assert instance["Definition"] == {"Id": definition_id, "DisplayName": "Web server enrollment", "Version": 1,
                                      "WorkflowType": "Enrollment"}
    assert instance["Signals"][0]["SignalName"] == "ApprovalStatus"
    assert instance["Signals"][0]["SignalReceived"] is False
    assert instance["Title"] == "Enroll appsrvr12"
    assert instance["LastModified"] == instance["StartDate"]
    assert instance["StartDate"].endswith("Z") and len(instance["StartDate"]) == 24
    assert instance["CurrentStateData"] == instance["InitialData"]
    instance_id = instance["Id"]

    # alice's answer counts but is not enough; she drops out of her AssignedToMe list.
    assert [i["Id"] for i in alice.ok("get", "/Workflow/Instances/AssignedToMe")] == [instance_id]
    assert approve(alice, instance_id, "True", "looks fine").status_code == 204
    after_one = kf.ok("get", f"/Workflow/Instances/{instance_id}")
    assert after_one["Status"] == "Suspended"
    assert after_one["Signals"][0]["SignalReceived"] is True
    assert after_one["CurrentStateData"]["approval signal cmnts"] == "looks fine"
    assert alice.ok("get", "/Workflow/Instances/AssignedToMe") == []
    assert [i["Id"] for i in bob.ok("get", "/Workflow/Instances/AssignedToMe")] == [instance_id]

    # the v11 SDK lower-cases keys inside Data
    response = bob.post(f"/Workflow/Instances/{instance_id}/Signals",
                        json={"signalKey": "requireapproval1.approvalstatus", "data": {"approved": True}})
    assert response.status_code == 204
    done = kf.ok("get", f"/Workflow/Instances/{instance_id}")
    assert done["Status"] == "Complete"
    assert done["Signals"] == []
    assert done["CurrentStepUniqueName"] == "EnrollStep"  # the implicit enrollment ran last
    assert done["CurrentStateData"]["cn"] == "appsrvr12.keyexample.com"
    assert "kf_approved" not in done["CurrentStateData"]
    assert done["InitialData"] == {"cn": "appsrvr12.keyexample.com", "Metadata": {"Owner": "ops"}}
    assert bob.ok("get", "/Workflow/Instances/AssignedToMe") == []


def test_one_denial_rejects(kf: KfClient, make_user: Any, approver_role: int) -> None:
    alice = make_user("alice", roles=(approver_role,))
    bob = make_user("bob", roles=(approver_role,))
    definition_id = create_published(kf, approval_steps(2, [approver_role]))
    instance_id = start(kf, definition_id)["Id"]
    assert approve(alice, instance_id, True).status_code == 204
    assert approve(bob, instance_id, "false", "not this one").status_code == 204
    rejected = kf.ok("get", f"/Workflow/Instances/{instance_id}")
    assert rejected["Status"] == "Rejected"
    assert "bob" in rejected["StatusMessage"] and "not this one" in rejected["StatusMessage"]
    assert rejected["CurrentStepUniqueName"] == "RequireApproval1"
    assert rejected["CurrentStateData"]["approval signal cmnts"] == "not this one"
    # nothing after the approval ran
    history = kf.raw.get(f"/engine-rest/history/activity-instance?processInstanceId={instance_id}",
                         headers={"Authorization": kf.headers["Authorization"]}).get_json()
    activities = {a["activityId"] for a in history}
    assert "Step_EndNOOP" not in activities and "kf_rejected" in activities


def test_failed_rest_step_fix_and_restart(kf: KfClient, http_target: str) -> None:
    port = refused_port()

    def rest_steps(url: str) -> list[dict[str, Any]]:
        return [
            {"ExtensionName": "NOOPStep", "UniqueName": "StartNOOP", "Outputs": {"continue": "CallCA"}},
            {"ExtensionName": "RESTRequest", "UniqueName": "CallCA", "DisplayName": "Call the CA",
             "ConfigurationParameters": {"verb": "POST", "url": url, "requestContent": "cn=$(cn)",
                                         "dataBucketProperty": "CAAnswer"},
             "Outputs": {"continue": "EndNOOP"}},
            {"ExtensionName": "NOOPStep", "UniqueName": "EndNOOP"},
        ]
    definition_id = create_published(kf, rest_steps(f"http://127.0.0.1:{port}/enroll"),
                                     workflow_type="CertificateEnteredCollection", key="12")
    failed = start(kf, definition_id, {"cn": "host1"}, title="Collect host1")
    assert failed["Status"] == "Failed"
    assert "CallCA" in failed["StatusMessage"] and str(port) in failed["StatusMessage"]
    assert failed["CurrentStepUniqueName"] == "CallCA"

    # fix the definition: version 1 is published, so PUT Steps creates version 2
    fixed = kf.ok("put", f"/Workflow/Definitions/{definition_id}/Steps", json=rest_steps(f"{http_target}/enroll"))
    assert fixed["DraftVersion"] == 2 and fixed["PublishedVersion"] == 1 and fixed["IsPublished"] is False
    old_steps = kf.ok("get", f"/Workflow/Definitions/{definition_id}?definitionVersion=1")["Steps"]
    assert str(port) in old_steps[1]["ConfigurationParameters"]["URL"]
    assert {s["Id"] for s in old_steps}.isdisjoint({s["Id"] for s in fixed["Steps"]})

    kf.ok("post", f"/Workflow/Instances/{failed['Id']}/Restart?version=2", status=204)
    old = kf.ok("get", f"/Workflow/Instances/{failed['Id']}")
    assert old["Status"] == "CanceledForRestart"
    assert old["InitialData"] == {"cn": "host1"}
    new = kf.ok("get", "/Workflow/Instances", query_string={
        "QueryString": 'Title -eq "Collect host1" AND Status -ne "CanceledForRestart"'})
    assert len(new) == 1
    assert new[0]["Id"] != failed["Id"] and new[0]["ReferenceId"] > failed["ReferenceId"]
    restarted = kf.ok("get", f"/Workflow/Instances/{new[0]['Id']}")
    assert restarted["Status"] == "Complete"
    assert restarted["Definition"]["Version"] == 2
    assert restarted["CurrentStateData"]["CAAnswer"]["ok"] is True
    assert restarted["InitialData"] == {"cn": "host1"}

    # a Complete instance cannot be restarted
    response = kf.post(f"/Workflow/Instances/{restarted['Id']}/Restart")
    assert response.status_code == 400
    assert response.get_json()["ErrorCode"].startswith("0x")


def test_restart_suspended_without_version_uses_published(kf: KfClient, approver_role: int) -> None:
    definition_id = create_published(kf, approval_steps(1, [approver_role]))
    first = start(kf, definition_id, {"n": 1}, title="t")
    # a draft version 2 exists but is not published: the restart uses version 1
    kf.ok("put", f"/Workflow/Definitions/{definition_id}", json={"DisplayName": "renamed"})
    kf.ok("post", f"/Workflow/Instances/{first['Id']}/Restart", status=204)
    instances = kf.ok("get", "/Workflow/Instances", query_string={"SortField": "ReferenceId"})
    assert [i["Status"] for i in instances] == ["CanceledForRestart", "Suspended"]
    assert instances[1]["Definition"]["Version"] == 1
    # a bare integer body names the version; an unknown version is refused
    kf.ok("post", f"/Workflow/Instances/{instances[1]['Id']}/Restart", data="2",
          content_type="application/json", status=204)
    latest = kf.ok("get", "/Workflow/Instances", query_string={"SortField": "ReferenceId", "SortAscending": "1"})[0]
    assert latest["Definition"]["Version"] == 2 and latest["Definition"]["DisplayName"] == "renamed"
    response = kf.post(f"/Workflow/Instances/{latest['Id']}/Restart", json={"Version": 9})
    assert response.status_code == 400
    response = kf.post(f"/Workflow/Instances/{latest['Id']}/Restart?version=abc")
    assert response.status_code == 400


def test_stop_only_suspended(kf: KfClient, approver_role: int) -> None:
    definition_id = create_published(kf, approval_steps(1, [approver_role]))
    instance_id = start(kf, definition_id)["Id"]
    kf.ok("post", f"/Workflow/Instances/{instance_id}/Stop", status=204)
    stopped = kf.ok("get", f"/Workflow/Instances/{instance_id}")
    assert stopped["Status"] == "Rejected"
    assert "admin" in stopped["StatusMessage"]
    assert stopped["LastModified"] >= stopped["StartDate"]
    response = kf.post(f"/Workflow/Instances/{instance_id}/Stop")
    assert response.status_code == 400
    assert "not suspended" in response.get_json()["Message"]
    assert kf.post(f"/Workflow/Instances/{instance_id}/Restart").status_code == 400


def test_delete_instance_and_definition(kf: KfClient, approver_role: int) -> None:
    definition_id = create_published(kf, approval_steps(1, [approver_role]))
    instance_id = start(kf, definition_id)["Id"]
    # a definition with a suspended instance cannot be deleted
    assert kf.delete(f"/Workflow/Definitions/{definition_id}").status_code == 400
    kf.ok("delete", f"/Workflow/Instances/{instance_id}", status=204)
    assert kf.get(f"/Workflow/Instances/{instance_id}").status_code == 404
    assert kf.delete(f"/Workflow/Instances/{instance_id}").status_code == 404
    kf.ok("delete", f"/Workflow/Definitions/{definition_id}", status=204)
    assert kf.get(f"/Workflow/Definitions/{definition_id}").status_code == 404
    # the same WorkflowType + Key can be used again
    kf.ok("post", "/Workflow/Definitions", json={"DisplayName": "again", "Key": "5", "WorkflowType": "Enrollment"})


def test_finished_instance_keeps_snapshot_after_definition_delete(kf: KfClient) -> None:
    steps = [{"ExtensionName": "NOOPStep", "UniqueName": "OnlyStep"}]
    definition_id = create_published(kf, steps, workflow_type="Expiration", key="alert-1", name="Expiry")
    instance = start(kf, definition_id, {"a": 1})
    assert instance["Status"] == "Complete" and instance["CurrentStepUniqueName"] == "OnlyStep"
    kf.ok("delete", f"/Workflow/Definitions/{definition_id}", status=204)
    kept = kf.ok("get", f"/Workflow/Instances/{instance['Id']}")
    assert kept["Definition"]["DisplayName"] == "Expiry" and kept["CurrentStepUniqueName"] == "OnlyStep"
    assert kf.post("/Workflow/Instances", json={"DefinitionId": definition_id}).status_code == 400


def test_definition_versions_and_publish(kf: KfClient, approver_role: int) -> None:
    created = kf.ok("post", "/Workflow/Definitions",
                    json={"displayname": "Revoke", "KEY": "7", "workflowtype": "revocation", "Enabled": True})
    assert created["WorkflowType"] == "Revocation"
    definition_id = created["Id"].upper()  # ids compare case-insensitively
    # draft changes happen in place
    kf.ok("put", f"/Workflow/Definitions/{definition_id}", json={"DisplayName": "Revoke v1", "Description": "d"})
    updated = kf.ok("put", f"/Workflow/Definitions/{definition_id}",
                    data="DisplayName=Revoke+form", content_type="application/x-www-form-urlencoded")
    assert updated["DraftVersion"] == 1 and updated["DisplayName"] == "Revoke form"
    assert updated["Description"] is None  # PUT replaces
    kf.ok("put", f"/Workflow/Definitions/{definition_id}/Steps", json=approval_steps(1, [approver_role]))
    first = kf.ok("post", f"/Workflow/Definitions/{definition_id}/Publish")
    again = kf.ok("post", f"/Workflow/Definitions/{definition_id}/Publish")
    assert first == again  # publishing the published version changes nothing
    second = kf.ok("put", f"/Workflow/Definitions/{definition_id}", json={"DisplayName": "Revoke v2"})
    assert second["DraftVersion"] == 2 and second["PublishedVersion"] == 1 and second["IsPublished"] is False
    assert len(second["Steps"]) == 3
    exported = kf.ok("get", f"/Workflow/Definitions/{definition_id}?definitionVersion=1&exportable=true")
    assert exported["DisplayName"] == "Revoke form" and exported["IsPublished"] is True
    assert exported["Steps"][1]["Signals"][0]["RoleIds"] == []
    assert kf.get(f"/Workflow/Definitions/{definition_id}?definitionVersion=5").status_code == 404
    listed = kf.ok("get", "/Workflow/Definitions", query_string={"query.queryString": 'DisplayName -eq "Revoke v2"'})
    assert [(d["DraftVersion"], d["PublishedVersion"]) for d in listed] == [(2, 1)]
    assert set(listed[0]) == {"Id", "DisplayName", "Key", "KeyDisplayName", "WorkflowType", "DraftVersion",
                              "PublishedVersion"}


def test_builtin_definitions(kf: KfClient) -> None:
    listed = kf.ok("get", "/Workflow/Definitions", query_string={"QueryString": 'DisplayName -startswith "Global"'})
    assert [d["DisplayName"] for d in listed] == ["Global Enrollment Workflow", "Global Revocation Workflow"]
    for definition in listed:
        response = kf.delete(f"/Workflow/Definitions/{definition['Id']}")
        assert response.status_code == 400
    assert kf.post("/Workflow/Definitions", json={"DisplayName": "dup", "Key": "0",
                                                   "WorkflowType": "Enrollment"}).status_code == 400


def test_catalogs(kf: KfClient) -> None:
    steps = kf.ok("get", "/Workflow/Definitions/Steps")
    names = [s["ExtensionName"] for s in steps]
    assert "RequireApproval" in names and "PowerShell" not in names
    assert [s["DisplayName"] for s in steps] == sorted((s["DisplayName"] for s in steps), key=str.lower)
    approval = kf.ok("get", "/Workflow/Definitions/Steps/requireapproval")
    assert approval["ExtensionName"] == "RequireApproval" and approval["Outputs"] == ["continue"]
    assert "Approved" in approval["SignalsDefinition"]["ApprovalStatus"]["InputParameters"]
    assert kf.get("/Workflow/Definitions/Steps/PowerShell").status_code == 404
    enroll_only = kf.ok("get", "/Workflow/Definitions/Steps",
                        query_string={"QueryString": 'SupportedWorkflowTypes -eq "Enrollment" AND '
                                                     'SupportedWorkflowTypes -ne "Revocation"'})
    assert [s["ExtensionName"] for s in enroll_only] == ["EnrollStep"]
    types = kf.ok("get", "/Workflow/Definitions/Types", query_string={"query.queryString": 'Name -eq "enrollment"'})
    assert types[0]["WorkflowType"] == "Enrollment" and types[0]["KeyType"] == "Template"
    assert types[0]["BuiltInSteps"][0]["ExtensionName"] == "EnrollStep"
