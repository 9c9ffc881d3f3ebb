"""Headers, routing, error bodies and refused input of the Keyfactor dialect."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kf_helpers import KF_HEADERS, KfClient, approval_steps, approve, create_published, kf_auth, start


def _is_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"ErrorCode", "Message"}
    assert body["ErrorCode"].startswith("0x") and int(body["ErrorCode"], 16) > 0
    assert body["Message"]
    return body


def test_requested_with_header_is_checked_before_authentication(app: Any) -> None:
    raw = app.test_client()
    _is_error(raw.get("/KeyfactorAPI/Workflow/Instances"), 400)
    _is_error(raw.get("/KeyfactorAPI/Workflow/Instances", headers={"X-Keyfactor-Requested-With": " "}), 400)
    response = raw.get("/KeyfactorAPI/Workflow/Instances", headers={"x-keyfactor-requested-with": "XMLHttpRequest"})
    _is_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = kf_auth("admin", "wrong")
    _is_error(raw.get("/KeyfactorAPI/Workflow/Instances", headers=wrong), 401)


def test_api_version_header(kf: KfClient) -> None:
    for version in ("1", "1.0"):
        assert kf.get("/Workflow/Instances", headers={"x-keyfactor-api-version": version}).status_code == 200
    _is_error(kf.get("/Workflow/Instances", headers={"x-keyfactor-api-version": "2"}), 400)


def test_plain_user_name_and_openapi_document(app: Any) -> None:
    raw = app.test_client()
    plain = kf_auth("admin", "admin-secret", domain=None)
    assert raw.get("/KeyfactorAPI/Workflow/Definitions", headers=plain).status_code == 200
    spec = raw.get("/KeyfactorAPI/swagger/openapi.json")  # no headers needed
    assert spec.status_code == 200
    document = spec.get_json()
    assert "/KeyfactorAPI/Workflow/Instances/{instance_id}/Signals" in document["paths"]
    schemas = document["components"]["schemas"]
    assert list(schemas["Instance"]["properties"])[:3] == ["Id", "Status", "CurrentStepId"]


@pytest.mark.parametrize("path", [
    "/keyfactorapi/workflow/instances/my",
    "/KEYFACTORAPI/WORKFLOW/INSTANCES/ASSIGNEDTOME/",
    "/KeyfactorAPI/Workflow/Definitions/",
    "/keyfactorapi/workflow/definitions/steps/REQUIREAPPROVAL",
    "/keyfactorapi/Workflow/Definitions/types",
])
def test_routing_is_case_insensitive(kf: KfClient, path: str) -> None:
    assert kf.get(path).status_code == 200


def test_case_insensitive_ids_and_actions(kf: KfClient, approver_role: int) -> None:
    definition_id = create_published(kf, approval_steps(1, [approver_role]))
    instance_id = start(kf, definition_id)["Id"]
    assert kf.get(f"/keyfactorapi/workflow/instances/{instance_id.upper()}/").get_json()["Id"] == instance_id
    assert kf.post(f"/keyfactorapi/workflow/INSTANCES/{instance_id.upper()}/stop").status_code == 204


def test_unknown_and_malformed_ids(kf: KfClient) -> None:
    unknown = str(uuid.uuid4())
    for path in (f"/Workflow/Instances/{unknown}", "/Workflow/Instances/not-a-guid", "/Workflow/Instances/17",
                 f"/Workflow/Definitions/{unknown}", "/Workflow/Definitions/xyz", "/Workflow/Nothing",
                 "/Workflow/Definitions/Steps/NoSuchStep"):
        _is_error(kf.get(path), 404)
    _is_error(kf.delete(f"/Workflow/Instances/{unknown}"), 404)
    _is_error(kf.post(f"/Workflow/Instances/{unknown}/Stop"), 404)
    _is_error(kf.post(f"/Workflow/Instances/{unknown}/Restart"), 404)
    _is_error(kf.post(f"/Workflow/Instances/{unknown}/Signals", json={"SignalKey": "a.b", "Data": {}}), 404)
    _is_error(kf.put(f"/Workflow/Definitions/{unknown}", json={"DisplayName": "x"}), 404)
    _is_error(kf.put(f"/Workflow/Definitions/{unknown}/Steps", json=[]), 404)
    _is_error(kf.post(f"/Workflow/Definitions/{unknown}/Publish"), 404)
    _is_error(kf.delete(f"/Workflow/Definitions/{unknown}"), 404)
    _is_error(kf.post("/Workflow/Instances", json={"DefinitionId": unknown}), 400)
    _is_error(kf.post("/Workflow/Instances", json={"DefinitionId": "nope"}), 400)
    _is_error(kf.post("/Workflow/Instances", json={}), 400)


def test_definition_input_errors(kf: KfClient) -> None:
    _is_error(kf.post("/Workflow/Definitions", json={"DisplayName": "x", "Key": "1"}), 400)
    _is_error(kf.post("/Workflow/Definitions", json={"DisplayName": "", "Key": "1", "WorkflowType": "Enrollment"}),
              400)
    _is_error(kf.post("/Workflow/Definitions", json={"DisplayName": "x", "Key": "1", "WorkflowType": "Nope"}), 400)
    _is_error(kf.post("/Workflow/Definitions", json=["not", "an", "object"]), 400)
    _is_error(kf.post("/Workflow/Definitions", data="{broken", content_type="application/json"), 400)
    created = kf.ok("post", "/Workflow/Definitions",
                    json={"DisplayName": "x", "Key": "1", "WorkflowType": "Enrollment"})
    _is_error(kf.post("/Workflow/Definitions", json={"DisplayName": "y", "Key": "1", "WorkflowType": "enrollment"}),
              400)
    steps_path = f"/Workflow/Definitions/{created['Id']}/Steps"
    _is_error(kf.put(steps_path, json={"ExtensionName": "NOOPStep"}), 400)  # not an array
    body = _is_error(kf.put(steps_path, json=[{"ExtensionName": "PowerShell", "UniqueName": "PS1"}]), 400)
    assert "PS1" in body["Message"]
    body = _is_error(kf.put(steps_path, json=[{"ExtensionName": "RevokeStep", "UniqueName": "R"}]), 400)
    assert "'R'" in body["Message"]
    _is_error(kf.put(f"/Workflow/Definitions/{created['Id']}", json={"Description": "no name"}), 400)
    _is_error(kf.post("/Workflow/Instances", json={"DefinitionId": created["Id"]}), 400)  # never published


def test_signal_refusals(kf: KfClient, make_user: Any, approver_role: int, ctx: Any) -> None:
    from app.services import identity

    alice = make_user("alice", roles=(approver_role,))
    carol = make_user("carol")  # in no role
    definition_id = create_published(kf, approval_steps(2, [approver_role]))
    instance_id = start(kf, definition_id)["Id"]
    path = f"/Workflow/Instances/{instance_id}/Signals"
    _is_error(alice.post(path, json={"Data": {"Approved": True}}), 400)  # no SignalKey
    _is_error(alice.post(path, json={"SignalKey": "EndNOOP.ApprovalStatus", "Data": {"Approved": True}}), 400)
    _is_error(alice.post(path, json={"SignalKey": "RequireApproval1.Nope", "Data": {"Approved": True}}), 400)
    _is_error(alice.post(path, json={"SignalKey": "RequireApproval1", "Data": {"Approved": True}}), 400)
    _is_error(approve(carol, instance_id), 403)
    _is_error(approve(kf, instance_id), 403)  # the admin holds no role of the signal either
    _is_error(alice.post(path, json={"SignalKey": "RequireApproval1.ApprovalStatus", "Data": {"Comment": "x"}}),
              400)
    _is_error(alice.post(path, json={"SignalKey": "RequireApproval1.ApprovalStatus",
                                     "Data": {"Approved": "maybe"}}), 400)
    assert approve(alice, instance_id).status_code == 204
    _is_error(approve(alice, instance_id), 400)  # already answered
    # every signal is recorded, refused ones with the reason
    from sqlalchemy import select

    from app.store.keyfactor_models import SignalRecord

    with ctx.db.transaction() as session:
        records = list(session.scalars(select(SignalRecord).where(SignalRecord.process_instance_id == instance_id)
                                       .order_by(SignalRecord.id)))
    assert len(records) == 10
    assert [r.accepted for r in records].count(True) == 1
    assert all(r.refusal_reason for r in records if not r.accepted)
    assert any(r.refusal_reason.startswith("403") and r.user_id == "carol" for r in records if not r.accepted)
    # a stopped instance takes no signals
    identity.add_member(ctx, approver_role, "admin")
    kf.ok("post", f"/Workflow/Instances/{instance_id}/Stop", status=204)
    _is_error(approve(kf, instance_id), 400)


def test_list_parameter_errors(kf: KfClient) -> None:
    for params in ({"PageReturned": "0"}, {"ReturnLimit": "-1"}, {"ReturnLimit": "ten"}, {"SortAscending": "2"},
                   {"SortField": "Nope"}, {"pq.sortField": "Nope"}):
        _is_error(kf.get("/Workflow/Instances", query_string=params), 400)
    body = _is_error(kf.get("/Workflow/Instances", query_string={"QueryString": 'Title -eq "x" AND'}), 400)
    assert "position 18" in body["Message"]
    body = _is_error(kf.get("/Workflow/Definitions", query_string={"QueryString": 'Bogus -eq "x"'}), 400)
    assert "position 1" in body["Message"] and "Bogus" in body["Message"]


def test_json_body_headers_are_case_insensitive(app: Any) -> None:
    raw = app.test_client()
    headers = {**kf_auth("admin", "admin-secret"), **{k.lower(): v for k, v in KF_HEADERS.items()}}
    assert raw.get("/KeyfactorAPI/Workflow/Definitions", headers=headers).status_code == 200


def test_status_setting_is_checked_at_startup(settings: Any) -> None:
    from dataclasses import replace

    from app import create_app

    with pytest.raises(ValueError, match="BATON_KEYFACTOR_STATUS"):
        create_app(replace(settings, keyfactor_status="names"), start_jobs=False)


def test_method_not_allowed_has_the_error_shape(kf: KfClient) -> None:
    _is_error(kf.raw.patch("/KeyfactorAPI/Workflow/Instances", headers=kf.headers), 405)
