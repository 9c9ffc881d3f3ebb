"""Contract 2.3: which permission each endpoint needs (each claim × each endpoint → 2xx or 403),
and the Camunda mapping of app/services/permissions.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kf_helpers import KfClient, approval_steps, create_published, start

from app.services.context import Actor
from app.services.keyfactor_instances import start_instance
from app.services.permissions import camunda_permission

DEF_READ = "/workflows/definitions/read/"
DEF_MODIFY = "/workflows/definitions/modify/"
READ_ALL = "/workflows/instances/read/"
READ_MINE = "/workflows/instances/read/mine/"
READ_PENDING = "/workflows/instances/read/pending/"
MANAGE = "/workflows/instances/manage/"

Endpoint = tuple[str, str, Callable[[], str], int, "set[str] | None"]


def _endpoints(kf: KfClient, role: int) -> tuple[list[Endpoint], list[dict[str, Any]]]:
    """(method, path template, setup returning the id to fill in, success status, claims any of which
    suffice; None = manage and read together), and the steps to PUT."""
    def definition() -> str:
        return kf.ok("post", "/Workflow/Definitions", json={
            "DisplayName": "d", "Key": f"k{definition.counter}", "WorkflowType": "Enrollment"})["Id"]
    definition.counter = 0  # type: ignore[attr-defined]

    def fresh_definition() -> str:
        definition.counter += 1  # type: ignore[attr-defined]
        return definition()

    published = create_published(kf, approval_steps(1, [role]), key="published")

    def suspended() -> str:
        return start(kf, published)["Id"]

    def none() -> str:
        return ""
    steps = approval_steps(1, [role])
    return [
        ("get", "/Workflow/Definitions", none, 200, {DEF_READ}),
        ("post", "/Workflow/Definitions", none, 200, {DEF_MODIFY}),
        ("get", "/Workflow/Definitions/{}", fresh_definition, 200, {DEF_READ}),
        ("put", "/Workflow/Definitions/{}", fresh_definition, 200, {DEF_MODIFY}),
        ("delete", "/Workflow/Definitions/{}", fresh_definition, 204, {DEF_MODIFY}),
        ("put", "/Workflow/Definitions/{}/Steps", fresh_definition, 200, {DEF_MODIFY}),
        ("post", "/Workflow/Definitions/{}/Publish", fresh_definition, 200, {DEF_MODIFY}),
        ("get", "/Workflow/Definitions/Steps", none, 200, {DEF_READ}),
        ("get", "/Workflow/Definitions/Steps/NOOPStep", none, 200, {DEF_READ}),
        ("get", "/Workflow/Definitions/Types", none, 200, {DEF_READ}),
        ("post", "/Workflow/Instances", lambda: published, 200, {MANAGE}),
        ("get", "/Workflow/Instances", none, 200, {READ_ALL}),
        ("get", "/Workflow/Instances/My", none, 200, {READ_ALL, READ_MINE}),
        ("get", "/Workflow/Instances/AssignedToMe", none, 200, {READ_ALL, READ_PENDING}),
        ("get", "/Workflow/Instances/{}", suspended, 200, {READ_ALL}),
        ("delete", "/Workflow/Instances/{}", suspended, 204, {MANAGE}),
        ("post", "/Workflow/Instances/{}/Stop", suspended, 204, {MANAGE}),
        ("post", "/Workflow/Instances/{}/Restart", suspended, 204, None),  # manage AND read
    ], steps


@pytest.mark.parametrize("claims", [(), (DEF_READ,), (DEF_MODIFY,), (READ_ALL,), (READ_MINE,), (READ_PENDING,),
                                    (MANAGE,), (MANAGE, READ_ALL)], ids=lambda c: "+".join(c) or "none")
def test_permission_matrix(kf: KfClient, make_user: Any, approver_role: int, claims: tuple[str, ...]) -> None:
    user = make_user("user", claims)
    endpoints, steps = _endpoints(kf, approver_role)
    for method, template, setup, success, needed in endpoints:
        target = setup()
        path = template.format(target)
        kwargs: dict[str, Any] = {}
        if method == "post" and template == "/Workflow/Definitions":
            kwargs["json"] = {"DisplayName": "x", "Key": "created-by-user", "WorkflowType": "Revocation"}
        elif method == "post" and template == "/Workflow/Instances":
            kwargs["json"] = {"DefinitionId": target}
        elif method == "put" and template.endswith("/Steps"):
            kwargs["json"] = steps
        elif method == "put":
            kwargs["json"] = {"DisplayName": "renamed"}
        elif template.endswith("/Publish"):
            kf.ok("put", f"/Workflow/Definitions/{target}/Steps", json=steps)
        response = getattr(user, method)(path, **kwargs)
        allowed = set(claims) >= {MANAGE, READ_ALL} if needed is None else bool(needed & set(claims))
        expected = success if allowed else 403
        assert response.status_code == expected, (method, path, claims, response.get_json())
        if not allowed:
            assert response.get_json()["ErrorCode"]


def test_mine_and_pending_restrictions_on_get(kf: KfClient, make_user: Any, approver_role: int, ctx: Any) -> None:
    mine = make_user("mine", (READ_MINE,))
    pending = make_user("pending", (READ_PENDING,), roles=(approver_role,))
    outsider = make_user("outsider", (READ_PENDING,))
    definition_id = create_published(kf, approval_steps(1, [approver_role]))
    own = start_instance(ctx.as_actor(Actor("mine", is_admin=True)), definition_id=definition_id).id
    other = start(kf, definition_id)["Id"]
    assert mine.get(f"/Workflow/Instances/{own}").status_code == 200
    assert mine.get(f"/Workflow/Instances/{other}").status_code == 403
    assert [i["Id"] for i in mine.ok("get", "/Workflow/Instances/My")] == [own]
    # the approver may read what waits for them, the outsider may not
    assert pending.get(f"/Workflow/Instances/{other}").status_code == 200
    assert outsider.get(f"/Workflow/Instances/{other}").status_code == 403
    assert outsider.ok("get", "/Workflow/Instances/AssignedToMe") == []
    assert {i["Id"] for i in pending.ok("get", "/Workflow/Instances/AssignedToMe")} == {own, other}
    # after answering, the instance is no longer assigned to the approver
    kf.ok("post", f"/Workflow/Instances/{other}/Stop", status=204)
    assert pending.get(f"/Workflow/Instances/{other}").status_code == 403
    assert [i["Id"] for i in pending.ok("get", "/Workflow/Instances/AssignedToMe")] == [own]


@pytest.mark.parametrize(("method", "path", "claim"), [
    ("GET", "/engine-rest/engine", None),
    ("GET", "/engine-rest/version", None),
    ("GET", "/engine-rest/deployment", DEF_READ),
    ("GET", "/engine-rest/deployment/abc/resources", DEF_READ),
    ("POST", "/engine-rest/deployment/create", DEF_MODIFY),
    ("DELETE", "/engine-rest/deployment/abc", DEF_MODIFY),
    ("GET", "/engine-rest/process-definition/key/invoice/xml", DEF_READ),
    ("POST", "/engine-rest/process-definition", DEF_READ),
    ("PUT", "/engine-rest/process-definition/key/invoice/suspended", DEF_MODIFY),
    ("PUT", "/engine-rest/process-definition/suspended", DEF_MODIFY),
    ("DELETE", "/engine-rest/process-definition/abc", DEF_MODIFY),
    ("DELETE", "/engine-rest/process-definition/key/start", DEF_MODIFY),
    ("POST", "/engine-rest/process-definition/key/invoice/start", MANAGE),
    ("POST", "/engine-rest/process-definition/abc/submit-form", MANAGE),
    ("POST", "/engine-rest/process-definition/key/x/tenant-id/t/start", MANAGE),
    ("POST", "/engine-rest/process-definition/abc/restart", MANAGE),
    ("POST", "/engine-rest/process-definition/abc/restart-async", MANAGE),
    ("GET", "/engine-rest/job-definition", DEF_READ),
    ("PUT", "/engine-rest/job-definition/abc/suspended", DEF_MODIFY),
    ("GET", "/engine-rest/process-instance", READ_ALL),
    ("POST", "/engine-rest/process-instance", READ_ALL),
    ("POST", "/engine-rest/process-instance/count", READ_ALL),
    ("GET", "/engine-rest/process-instance/abc/variables", READ_ALL),
    ("POST", "/engine-rest/process-instance/abc/variables", MANAGE),
    ("PUT", "/engine-rest/process-instance/abc/variables/x", MANAGE),
    ("DELETE", "/engine-rest/process-instance/abc", MANAGE),
    ("PUT", "/engine-rest/process-instance/abc/suspended", MANAGE),
    ("POST", "/engine-rest/process-instance/abc/modification", MANAGE),
    ("POST", "/engine-rest/process-instance/delete", MANAGE),
    ("GET", "/engine-rest/task", READ_ALL),
    ("POST", "/engine-rest/task", READ_ALL),
    ("POST", "/engine-rest/task/count", READ_ALL),
    ("POST", "/engine-rest/task/abc/complete", MANAGE),
    ("POST", "/engine-rest/task/abc/claim", MANAGE),
    ("GET", "/engine-rest/history/process-instance", READ_ALL),
    ("POST", "/engine-rest/history/process-instance", READ_ALL),
    ("POST", "/engine-rest/history/activity-instance/count", READ_ALL),
    ("POST", "/engine-rest/history/process-instance/delete", MANAGE),
    ("DELETE", "/engine-rest/history/batch/abc", MANAGE),
    ("POST", "/engine-rest/message", MANAGE),
    ("POST", "/engine-rest/signal", MANAGE),
    ("GET", "/engine-rest/incident", READ_ALL),
    ("PUT", "/engine-rest/job/abc/retries", MANAGE),
    ("POST", "/engine-rest/job/abc/execute", MANAGE),
    ("POST", "/engine-rest/job", READ_ALL),
    ("GET", "/engine-rest/batch/statistics", READ_ALL),
    ("DELETE", "/engine-rest/batch/abc", MANAGE),
    ("get", "process-instance", READ_ALL),
])
def test_camunda_permission_mapping(method: str, path: str, claim: str | None) -> None:
    assert camunda_permission(method, path) == claim
