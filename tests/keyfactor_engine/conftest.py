"""Fixtures for the Keyfactor engine tests: a runner for compiled definitions and local servers.

Every server listens on 127.0.0.1 on a free port and is stopped when its test ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from kfengine_support import PROCESS_KEY, HttpServer, RecordingHandler, Run, RunSteps, SmtpServer, free_port

from app.engine import runtime
from app.engine.keyfactor.compiler import compile_definition
from app.engine.keyfactor.engine import make_keyfactor_script_engine
from app.engine.keyfactor.settings import KeyfactorSettings
from app.engine.parsing import load_process, parse_deployment


@pytest.fixture
def kf_settings() -> KeyfactorSettings:
    return KeyfactorSettings(http_timeout=5.0)


@pytest.fixture
def run_steps(kf_settings: KeyfactorSettings) -> RunSteps:
    """Compile ``steps``, deploy-check the XML, start an instance with ``data`` and run it."""

    def run(steps: list[dict[str, Any]], data: dict[str, Any] | None = None, workflow_type: str = "Expiration",
            settings: KeyfactorSettings | None = None) -> Run:
        xml = compile_definition(PROCESS_KEY, "Test", workflow_type, steps)
        parse_deployment({f"{PROCESS_KEY}.bpmn": xml})
        spec, subprocesses = load_process({f"{PROCESS_KEY}.bpmn": xml}, PROCESS_KEY)
        engine = make_keyfactor_script_engine(settings or kf_settings, time_limit=5.0)
        workflow = runtime.new_workflow(spec, subprocesses, engine, dict(data or {}))
        return Run(workflow, runtime.run(workflow))

    return run


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.daemon_threads = True
    server.recorded = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield HttpServer(f"http://127.0.0.1:{server.server_address[1]}", server.recorded)  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd (test dependency) is not installed")
    from aiosmtpd.controller import Controller

    received = SmtpServer(free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.messages.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=received.port, ready_timeout=5.0)
    controller.start()
    try:
        yield received
    finally:
        controller.stop()
