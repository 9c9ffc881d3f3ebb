"""The Camunda dialect is guarded by the same users, roles and claims as the Keyfactor one."""

from __future__ import annotations

from typing import Any

import models
from conftest import ApiClient, basic_auth

from app.services import identity

ER = "/engine-rest"


def user_with(ctx: Any, app: Any, name: str, claims: list[str]) -> ApiClient:
    identity.create_user(ctx, name, "pw")
    if claims:
        role = identity.create_role(ctx, f"{name}-role")
        identity.add_member(ctx, role.id, name)
        for claim in claims:
            identity.grant(ctx, role.id, claim)
    return ApiClient(app.test_client(), basic_auth(name, "pw"))


def test_each_claim_opens_its_part_of_the_api(client: Any, ctx: Any, app: Any) -> None:
    client.deploy_ok({"linear.bpmn": models.linear()})
    started = client.start("linear")
    nobody = user_with(ctx, app, "nobody", [])
    reader = user_with(ctx, app, "reader", ["/workflows/definitions/read/", "/workflows/instances/read/"])
    manager = user_with(ctx, app, "manager", ["/workflows/instances/manage/"])
    modeler = user_with(ctx, app, "modeler", ["/workflows/definitions/modify/"])

    # Anyone authenticated may ask which engine this is.
    assert nobody.get(f"{ER}/engine").status_code == 200
    response = nobody.get(f"{ER}/process-definition")
    assert response.status_code == 403
    assert response.get_json()["type"] == "AuthorizationException"
    assert "/workflows/definitions/read/" in response.get_json()["message"]
    assert nobody.get(f"{ER}/task").status_code == 403

    assert reader.get(f"{ER}/process-definition").status_code == 200
    assert reader.get(f"{ER}/history/process-instance").status_code == 200
    assert reader.post(f"{ER}/task", json={}).status_code == 200  # a POST query is a read
    assert reader.post(f"{ER}/process-definition/key/linear/start", json={}).status_code == 403
    assert reader.deploy({"x.bpmn": models.linear("other")}).status_code == 403

    assert manager.post(f"{ER}/process-definition/key/linear/start", json={}).status_code == 200
    assert manager.delete(f"{ER}/process-instance/{started['id']}").status_code == 204
    assert manager.deploy({"x.bpmn": models.linear("other")}).status_code == 403

    assert modeler.deploy({"x.bpmn": models.linear("other")}).status_code == 200
    assert modeler.get(f"{ER}/history/process-instance").status_code == 403


def test_wrong_credentials_get_401_with_a_challenge(app: Any) -> None:
    raw = app.test_client()
    for headers in ({}, basic_auth("admin", "wrong"), basic_auth("ghost", "x")):
        response = raw.get(f"{ER}/process-definition", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.get_json()["type"] == "AuthenticationException"
