"""Shared fixtures.

Every test that uses ``app``/``client`` runs once on SQLite and, when
``BATON_TEST_POSTGRES_URL`` is set, once more on PostgreSQL. SQLite tests get a fresh copy of
a database migrated once per session; PostgreSQL tests share one migrated database that is
truncated between tests.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.config import Settings
from app.store.migrate import upgrade
from app.store.models import Base

try:  # the Keyfactor tables must be known to drop_all/TRUNCATE below
    import app.store.keyfactor_models  # noqa: F401
except ImportError:
    pass

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PG_URL = os.environ.get("BATON_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
ADMIN = ("admin", "admin-secret")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "baton.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str | None:
    if not PG_URL:
        return None
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(PG_URL)
    return PG_URL


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "baton.sqlite3"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_ready")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, admin_user=ADMIN[0], admin_password=ADMIN[1], job_executor="off",
                    auth_required=True, job_poll_interval=0.05)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    application = create_app(settings, start_jobs=False)
    application.config["TESTING"] = True
    yield application
    application.extensions["baton"].db.dispose()


@pytest.fixture
def ctx(app: Any) -> Any:
    return app.extensions["baton"]


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ApiClient:
    """The Flask test client with the admin's credentials on every request (unless given others)."""

    def __init__(self, client: Any, auth: dict[str, str]) -> None:
        self.raw = client
        self.auth = auth

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return getattr(self.raw, method)(path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("get", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("post", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self._call("put", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("delete", path, **kwargs)

    def deploy(self, files: dict[str, str | bytes], name: str = "test", **fields: str) -> Any:
        """Multipart deployment; returns the response."""
        import io

        data: dict[str, Any] = {"deployment-name": name, **fields}
        for index, (filename, content) in enumerate(files.items()):
            raw = content.encode() if isinstance(content, str) else content
            data[f"resource-{index}"] = (io.BytesIO(raw), filename)
        return self.post("/engine-rest/deployment/create", data=data, content_type="multipart/form-data")

    def deploy_ok(self, files: dict[str, str | bytes], name: str = "test") -> dict[str, Any]:
        response = self.deploy(files, name)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def start(self, key: str, variables: dict[str, Any] | None = None, business_key: str | None = None,
              **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"variables": variables or {}, **extra}
        if business_key is not None:
            body["businessKey"] = business_key
        response = self.post(f"/engine-rest/process-definition/key/{key}/start", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def client(app: Any) -> ApiClient:
    return ApiClient(app.test_client(), basic_auth(*ADMIN))


# ------------------------------------------------------------------------------------------
# A real server process on a free loopback port.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, env: dict[str, str]) -> None:
        self.url = url
        self.process = process
        self.env = env

    @property
    def engine_rest(self) -> str:
        return f"{self.url}/engine-rest"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(database_url: str, *, workers: int = 2, extra_env: dict[str, str] | None = None,
                 log_path: Path | None = None) -> LiveServer:
    """Migrate, then serve Baton with gunicorn on 127.0.0.1 and wait until it answers."""
    import requests

    upgrade(database_url)
    port = free_port()
    env = {**os.environ, "BATON_DATABASE_URL": database_url, "BATON_HOST": "127.0.0.1",
           "BATON_PORT": str(port), "BATON_ADMIN_USER": ADMIN[0], "BATON_ADMIN_PASSWORD": ADMIN[1],
           "BATON_JOB_POLL_INTERVAL": "0.1", **(extra_env or {})}
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", "4", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-4000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode}\n{tail}")
        try:
            if requests.get(f"{url}/engine-rest/engine", auth=ADMIN, timeout=1).status_code == 200:
                return LiveServer(url, process, env)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 30 s")


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, log_path=tmp_path / "server.log")
    yield server
    server.stop()
