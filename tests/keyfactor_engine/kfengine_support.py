"""Helpers for the Keyfactor engine tests (a uniquely named module: tests/ has other conftests).

Every server listens on 127.0.0.1 on a free port; the fixtures in conftest.py stop them.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine import runtime

PROCESS_KEY = "Keyfactor_test"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Run:
    workflow: BpmnWorkflow
    failure: runtime.Failure | None

    @property
    def data(self) -> dict[str, Any]:
        return runtime.process_variables(self.workflow)

    def waiting(self) -> list[str]:
        return [t.task_spec.bpmn_id for t in runtime.ready_user_tasks(self.workflow)]

    def answer(self, approved: bool) -> Run:
        task = runtime.ready_user_tasks(self.workflow)[0]
        runtime.complete_user_task(self.workflow, task, {"kf_approved": approved})
        self.failure = runtime.run(self.workflow)
        return self

    def ran(self) -> list[str]:
        """Bpmn ids of the tasks that completed, in order."""
        done = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
        return [t.task_spec.bpmn_id for t in sorted(done, key=lambda t: t.last_state_change)]


RunSteps = Callable[..., Run]


# -- HTTP ----------------------------------------------------------------------------------------


@dataclass
class HttpServer:
    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)


class RecordingHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: str, content_type: str = "application/json") -> None:
        payload = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (the timeout test): nothing to answer
            pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        record = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        self.server.recorded.append(record)
        path = self.path.split("?")[0]
        if path == "/json":
            self._reply(200, json.dumps({"method": self.command, "body": body, "ok": True}))
        elif path == "/big":
            self._reply(200, "x" * 5000, "text/plain")
        elif path == "/text":
            self._reply(200, "plain answer", "text/plain")
        elif path == "/fail":
            self._reply(500, "database on fire", "text/plain")
        elif path == "/slow":
            time.sleep(1.0)
            self._reply(200, "{}")
        elif path == "/token":
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if form.get("grant_type") == "client_credentials" and form.get("client_secret") == "s3cret":
                self._reply(200, json.dumps({"access_token": "tok-123", "token_type": "Bearer"}))
            else:
                self._reply(401, json.dumps({"error": "invalid_client"}))
        elif path == "/protected":
            if self.headers.get("Authorization") == "Bearer tok-123":
                self._reply(200, json.dumps({"secret": "data"}))
            else:
                self._reply(401, "{}")
        else:
            self._reply(404, "{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


# -- SMTP ----------------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    port: int
    messages: list[Any] = field(default_factory=list)
