"""Helpers for the Keyfactor tests (imported by the test modules and conftest.py)."""

from __future__ import annotations

import base64
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any

BASE = "/KeyfactorAPI"
PASSWORD = "secret-pw"
ADMIN = ("admin", "admin-secret")
KF_HEADERS = {"X-Keyfactor-Requested-With": "APIClient"}


def kf_auth(user: str, password: str = PASSWORD, domain: str | None = "KEYEXAMPLE") -> dict[str, str]:
    """Basic credentials as Keyfactor clients send them: ``DOMAIN\\user``."""
    name = f"{domain}\\{user}" if domain else user
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **KF_HEADERS}


class KfClient:
    """The Flask test client speaking to /KeyfactorAPI as one user."""

    def __init__(self, raw: Any, headers: dict[str, str]) -> None:
        self.raw = raw
        self.headers = headers

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.lower().startswith("/keyfactorapi") else BASE + path
        return getattr(self.raw, method)(url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("get", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("post", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self._call("put", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("delete", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.get_json())
        return response.get_json() if status != 204 else None


def approval_steps(minimum: int, role_ids: list[int], *, camel: bool = True) -> list[dict[str, Any]]:
    """NOOP → RequireApproval → NOOP, in the v11 SDK's camelCase (or PascalCase)."""
    steps = [
        {"ExtensionName": "NOOPStep", "UniqueName": "StartNOOP", "DisplayName": "Start",
         "Outputs": {"continue": "RequireApproval1"}},
        {"ExtensionName": "RequireApproval", "UniqueName": "RequireApproval1", "DisplayName": "Approve",
         "ConfigurationParameters": {"MinimumApprovals": minimum},
         "Signals": [{"SignalName": "ApprovalStatus", "RoleIds": role_ids}],
         "Outputs": {"continue": "EndNOOP"}},
        {"ExtensionName": "NOOPStep", "UniqueName": "EndNOOP", "DisplayName": "End", "Outputs": {}},
    ]
    return [camel_case(step) for step in steps] if camel else steps


def camel_case(value: Any) -> Any:
    """What the v11 SDK's from_dict produces: first letter of every key lower-cased."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_case(v) for v in value]
    return value


def create_published(client: KfClient, steps: list[dict[str, Any]], key: str = "5",
                     workflow_type: str = "Enrollment", name: str = "Web server enrollment") -> str:
    definition = client.ok("post", "/Workflow/Definitions",
                           json={"DisplayName": name, "Key": key, "WorkflowType": workflow_type})
    client.ok("put", f"/Workflow/Definitions/{definition['Id']}/Steps", json=steps)
    client.ok("post", f"/Workflow/Definitions/{definition['Id']}/Publish")
    return definition["Id"]


def start(client: KfClient, definition_id: str, data: dict[str, Any] | None = None,
          title: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"DefinitionId": definition_id, "InitialData": data or {}}
    if title is not None:
        body["Title"] = title
    return client.ok("post", "/Workflow/Instances", json=body)


def approve(client: KfClient, instance_id: str, approved: Any = True, comment: str | None = None,
            key: str = "RequireApproval1.ApprovalStatus") -> Any:
    data: dict[str, Any] = {"Approved": approved}
    if comment is not None:
        data["Comment"] = comment
    return client.post(f"/Workflow/Instances/{instance_id}/Signals", json={"SignalKey": key, "Data": data})


# ------------------------------------------------------------------------------------------
# Local HTTP targets for RESTRequest steps


def refused_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JsonHandler(BaseHTTPRequestHandler):
    calls: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        type(self).calls.append(f"{self.command} {self.path} {body}")
        payload = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass
