"""Fixtures for the Keyfactor dialect tests (helpers live in kf_helpers.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from kf_helpers import ADMIN, PASSWORD, JsonHandler, KfClient, kf_auth

import app.store.keyfactor_models  # noqa: F401 - the shared metadata must know these tables (PostgreSQL truncation)
from app.services import identity


@pytest.fixture
def kf(app: Any) -> KfClient:
    """The admin, authenticated as ``KEYEXAMPLE\\admin``."""
    return KfClient(app.test_client(), kf_auth(ADMIN[0], ADMIN[1]))


@pytest.fixture
def make_user(app: Any, ctx: Any):  # type: ignore[no-untyped-def]
    """``make_user(name, claims=(), roles=())`` → a KfClient for a new user (roles: role ids)."""
    counter = [0]

    def make(name: str, claims: tuple[str, ...] = (), roles: tuple[int, ...] = ()) -> KfClient:
        # Verified credentials are cached per process: forget a same-named user of an earlier test's database.
        identity.forget_cached_credentials()
        identity.create_user(ctx, name, PASSWORD)
        if claims:
            counter[0] += 1
            role = identity.create_role(ctx, f"claims-of-{name}-{counter[0]}")
            for claim in claims:
                identity.grant(ctx, role.id, claim)
            identity.add_member(ctx, role.id, name)
        for role_id in roles:
            identity.add_member(ctx, role_id, name)
        return KfClient(app.test_client(), kf_auth(name))
    return make


@pytest.fixture
def approver_role(ctx: Any) -> int:
    return identity.create_role(ctx, "Approvers").id


@pytest.fixture
def http_target() -> Iterator[str]:
    """A JSON endpoint on 127.0.0.1 answering 200 ``{"ok": true, ...}``; yields its base URL."""
    JsonHandler.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), JsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def start_server(request: pytest.FixtureRequest) -> Any:
    """tests/conftest.py's ``start_server`` (a plain function there; both conftest modules are named
    ``conftest``, so it is looked up among the registered conftest plugins instead of imported)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if callable(getattr(plugin, "start_server", None)) and hasattr(plugin, "LiveServer"):
            return plugin.start_server
    raise LookupError("tests/conftest.py's start_server was not found")
