"""Against a real server (gunicorn, 2 workers): the approval lifecycle over raw HTTP and with
Keyfactor's generated v11 SDK, and ten approvers answering the same instance at the same moment."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from kf_helpers import ADMIN, KF_HEADERS, PASSWORD, approval_steps, camel_case
from sqlalchemy import func, select

from app.services import identity
from app.store import models as m
from app.store.keyfactor_models import SignalRecord

pytestmark = pytest.mark.server


def _session(user: str, password: str = PASSWORD) -> requests.Session:
    session = requests.Session()
    session.auth = (f"KEYEXAMPLE\\{user}", password)
    session.headers.update(KF_HEADERS)
    return session


def _users(ctx: Any, role_id: int, names: list[str]) -> None:
    for name in names:
        identity.create_user(ctx, name, PASSWORD)
        identity.add_member(ctx, role_id, name)


def _published(admin: requests.Session, base: str, minimum: int, role_id: int, key: str = "5") -> str:
    created = admin.post(f"{base}/Workflow/Definitions",
                         json={"displayName": "Web server enrollment", "key": key, "workflowType": "Enrollment"})
    assert created.status_code == 200, created.text
    definition_id = created.json()["Id"]
    steps = admin.put(f"{base}/Workflow/Definitions/{definition_id}/Steps", json=approval_steps(minimum, [role_id]))
    assert steps.status_code == 200, steps.text
    assert admin.post(f"{base}/Workflow/Definitions/{definition_id}/Publish").status_code == 200
    return definition_id


# `ctx` comes before the server fixtures: the admin then exists before gunicorn's workers boot (two
# workers creating it at once fail on PostgreSQL; see identity.ensure_admin).
def test_lifecycle_over_http(ctx: Any, live_server: Any) -> None:
    base = f"{live_server.url}/KeyfactorAPI"
    role = identity.create_role(ctx, "Approvers").id
    _users(ctx, role, ["alice", "bob"])
    admin = _session(*ADMIN)
    definition_id = _published(admin, base, 2, role)
    started = admin.post(f"{base}/Workflow/Instances", json={"DefinitionId": definition_id,
                                                               "InitialData": {"cn": "web01"}})
    assert started.status_code == 200 and started.json()["Status"] == "Suspended"
    instance_id = started.json()["Id"]
    signal = {"SignalKey": "RequireApproval1.ApprovalStatus", "Data": {"Approved": "True", "Comment": "ok"}}
    assert _session("alice").post(f"{base}/Workflow/Instances/{instance_id}/Signals", json=signal).status_code == 204
    assert admin.get(f"{base}/workflow/instances/{instance_id}").json()["Status"] == "Suspended"
    assert _session("bob").post(f"{base}/Workflow/Instances/{instance_id}/Signals", json=signal).status_code == 204
    done = admin.get(f"{base}/Workflow/Instances/{instance_id}").json()
    assert done["Status"] == "Complete"
    assert done["CurrentStateData"]["approval signal cmnts"] == "ok"
    listed = admin.get(f"{base}/Workflow/Instances", params={"QueryString": 'Status -eq "Complete"'}).json()
    assert [i["Id"] for i in listed] == [instance_id]
    missing = requests.get(f"{base}/Workflow/Instances", auth=(f"KEYEXAMPLE\\{ADMIN[0]}", ADMIN[1]))
    assert missing.status_code == 400 and set(missing.json()) == {"ErrorCode", "Message"}


@pytest.fixture
def int_status_server(db_url: str, tmp_path: Path, start_server: Any) -> Any:
    """The generated SDKs need Status as an integer (contract 9.3)."""
    server = start_server(db_url, extra_env={"BATON_KEYFACTOR_STATUS": "int"}, log_path=tmp_path / "server.log")
    yield server
    server.stop()


def test_lifecycle_with_keyfactor_sdk(ctx: Any, int_status_server: Any) -> None:
    from command_v11_client import AuthenticatedClient
    from command_v11_client.api.workflow_definition import (
        get_workflow_definitions,
        get_workflow_definitions_definition_id,
        get_workflow_definitions_steps,
        get_workflow_definitions_types,
        post_workflow_definitions,
        post_workflow_definitions_definition_id_publish,
        put_workflow_definitions_definition_id_steps,
    )
    from command_v11_client.api.workflow_instance import (
        delete_workflow_instances_instance_id,
        get_workflow_instances,
        get_workflow_instances_assigned_to_me,
        get_workflow_instances_instance_id,
        get_workflow_instances_my,
        post_workflow_instances_instance_id_restart,
        post_workflow_instances_instance_id_signals,
        post_workflow_instances_instance_id_stop,
    )
    from command_v11_client.models.keyfactor_web_keyfactor_api_models_workflows_definition_create_request import (
        KeyfactorWebKeyfactorApiModelsWorkflowsDefinitionCreateRequest as CreateRequest,
    )
    from command_v11_client.models.keyfactor_web_keyfactor_api_models_workflows_definition_step_request import (
        KeyfactorWebKeyfactorApiModelsWorkflowsDefinitionStepRequest as StepRequest,
    )
    from command_v11_client.models.keyfactor_web_keyfactor_api_models_workflows_signal_request import (
        KeyfactorWebKeyfactorApiModelsWorkflowsSignalRequest as SignalRequest,
    )
    from command_v11_client.models.keyfactor_workflows_workflow_instance_status import (
        KeyfactorWorkflowsWorkflowInstanceStatus as Status,
    )

    role = identity.create_role(ctx, "Approvers").id
    _users(ctx, role, ["alice", "bob"])
    identity.grant(ctx, role, "/workflows/instances/read/pending/")
    base = f"{int_status_server.url}/KeyfactorAPI"

    def client(user: str, password: str = PASSWORD) -> AuthenticatedClient:
        token = base64.b64encode(f"KEYEXAMPLE\\{user}:{password}".encode()).decode()
        return AuthenticatedClient(base_url=base, token=token, prefix="Basic", raise_on_unexpected_status=True)

    admin, alice, bob = client(*ADMIN), client("alice"), client("bob")
    created = post_workflow_definitions.sync(client=admin, json_body=CreateRequest.from_dict(
        {"DisplayName": "SDK enrollment", "Key": "42", "WorkflowType": "Enrollment"}))
    definition_id = created.id
    # from_dict lower-cases keys inside ConfigurationParameters: {"minimumApprovals": 2}
    steps = [StepRequest.from_dict(step) for step in approval_steps(2, [role], camel=False)]
    assert steps[1].to_dict()["configurationParameters"] == {"minimumApprovals": 2}
    with_steps = put_workflow_definitions_definition_id_steps.sync_detailed(definition_id, client=admin,
                                                                           json_body=steps)
    assert with_steps.parsed.steps[1].signals[0].role_ids == [role]
    # stored under the step type's spelling (the SDK lower-cases it again when it reads)
    assert json.loads(with_steps.content)["Steps"][1]["ConfigurationParameters"] == {"MinimumApprovals": 2}
    published = post_workflow_definitions_definition_id_publish.sync(definition_id, client=admin)
    assert published.is_published is True and published.published_version == 1
    fetched = get_workflow_definitions_definition_id.sync(definition_id, client=admin, definition_version=1,
                                                         exportable=True)
    assert fetched.steps[1].signals[0].role_ids == []
    assert len(get_workflow_definitions.sync(client=admin)) == 3  # with the two built-in ones
    assert any(s.extension_name == "RequireApproval" for s in get_workflow_definitions_steps.sync(client=admin))
    assert {t.workflow_type for t in get_workflow_definitions_types.sync(client=admin)} >= {"Enrollment"}

    # Baton's start endpoint is not in the SDK: use its httpx client (it carries the SDK's headers)
    http = admin.get_httpx_client()
    started = http.post("/Workflow/Instances", json={"definitionId": definition_id,
                                                     "initialData": {"cn": "sdk.example"}, "title": "SDK"})
    assert started.status_code == 200 and started.json()["Status"] == 1
    instance_id = started.json()["Id"]

    instance = get_workflow_instances_instance_id.sync(instance_id, client=admin)
    assert instance.status == Status.VALUE_1
    assert instance.current_step_unique_name == "RequireApproval1"
    assert [i.id for i in get_workflow_instances_assigned_to_me.sync(client=alice)] == [instance_id]
    for approver in (alice, bob):
        answer = post_workflow_instances_instance_id_signals.sync_detailed(
            instance_id, client=approver, json_body=SignalRequest.from_dict(
                {"SignalKey": "RequireApproval1.ApprovalStatus", "Data": {"Approved": True, "Comment": "fine"}}))
        assert answer.status_code == 204
    done = get_workflow_instances_instance_id.sync(instance_id, client=admin)
    assert done.status == Status.VALUE_2
    assert done.current_state_data.to_dict()["approval signal cmnts"] == "fine"
    assert [i.id for i in get_workflow_instances.sync(client=admin, query_string="Status -eq 2")] == [instance_id]
    assert [i.title for i in get_workflow_instances_my.sync(client=admin)] == ["SDK"]

    # restart a suspended instance on version 1, stop the new one, delete it
    second = http.post("/Workflow/Instances", json={"DefinitionId": definition_id, "Title": "second"}).json()["Id"]
    assert post_workflow_instances_instance_id_restart.sync_detailed(
        second, client=admin, version=1).status_code == 204
    assert get_workflow_instances_instance_id.sync(second, client=admin).status == Status.VALUE_5
    newest = get_workflow_instances.sync(client=admin, query_string='Title -eq "second" AND Status -eq "Suspended"')
    assert len(newest) == 1
    assert post_workflow_instances_instance_id_stop.sync_detailed(newest[0].id, client=admin).status_code == 204
    assert get_workflow_instances_instance_id.sync(newest[0].id, client=admin).status == Status.VALUE_3
    assert delete_workflow_instances_instance_id.sync_detailed(newest[0].id, client=admin).status_code == 204


def test_ten_concurrent_approvals(ctx: Any, live_server: Any) -> None:
    base = f"{live_server.url}/KeyfactorAPI"
    role = identity.create_role(ctx, "Approvers").id
    names = [f"approver{i}" for i in range(10)]
    _users(ctx, role, names)
    admin = _session(*ADMIN)
    definition_id = _published(admin, base, 10, role)
    instance_id = admin.post(f"{base}/Workflow/Instances", json={"DefinitionId": definition_id}).json()["Id"]
    sessions = [_session(name) for name in names]
    for session in sessions:  # authenticate once so the answers below race on the signal, not on hashing
        assert session.get(f"{base}/Workflow/Instances/{instance_id}").status_code in (200, 403)
    barrier = threading.Barrier(len(sessions))
    results: list[int] = []
    lock = threading.Lock()

    def answer(session: requests.Session) -> None:
        body = camel_case({"SignalKey": "RequireApproval1.ApprovalStatus", "Data": {"Approved": True}})
        barrier.wait(timeout=30)
        response = session.post(f"{base}/Workflow/Instances/{instance_id}/Signals", json=body, timeout=60)
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=answer, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(results) == [204] * 10
    final = admin.get(f"{base}/Workflow/Instances/{instance_id}").json()
    assert final["Status"] == "Complete"
    with ctx.db.transaction() as session:
        accepted = session.scalar(select(func.count(SignalRecord.id)).where(
            SignalRecord.process_instance_id == instance_id, SignalRecord.accepted.is_(True)))
        users = set(session.scalars(select(SignalRecord.user_id).where(
            SignalRecord.process_instance_id == instance_id)))
        # the instance moved past the approval exactly once
        after = session.scalar(select(func.count(m.ActivityInstance.id)).where(
            m.ActivityInstance.process_instance_id == instance_id, m.ActivityInstance.activity_id == "Step_EndNOOP"))
        approvals = session.scalar(select(func.count(m.ActivityInstance.id)).where(
            m.ActivityInstance.process_instance_id == instance_id,
            m.ActivityInstance.activity_id == "Step_RequireApproval1"))
    assert accepted == 10 and users == set(names)
    assert after == 1 and approvals == 1
