"""restart-async batches run by real job executors: ``baton worker`` processes on PostgreSQL (one
SIGKILLed mid-batch) and the in-process executor threads of a SQLite server.

Contract 14 / 16.9 and DESIGN.md "Concurrency and scale": jobs are acquired under a lock with an
expiry (``SKIP LOCKED`` on PostgreSQL), a killed worker's jobs are taken over once its locks
expire, and a restart job records the new instance in the transaction that deletes the job, so
every historic instance is restarted exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import models
import pytest
import requests
from conftest import ADMIN, PG_URL, ROOT, LiveServer, start_server
from sqlalchemy import create_engine, func, select

from app.store import models as m

pytestmark = pytest.mark.server

KEY = "bump"
LOCK_SECONDS = 2


def bump_model(script: str = "n = n + 1") -> str:
    """start → step (script: n = n + 1) → end: every instance completes inside its start request."""
    return models.process(KEY, '<bpmn:startEvent id="start" />' + models.script_task("step", script)
                          + '<bpmn:endEvent id="end" />' + models.flow("f1", "start", "step")
                          + models.flow("f2", "step", "end"))


def _session() -> requests.Session:
    session = requests.Session()
    session.auth = ADMIN
    return session


def deploy_and_complete(base: str, count: int, clients: int = 4,
                        script: str = "n = n + 1") -> tuple[str, dict[str, str]]:
    """Deploy the model and start ``count`` instances (each completes at once): (definition id, id → key)."""
    files = {"resource-0": ("bump.bpmn", bump_model(script).encode())}
    deployed = requests.post(f"{base}/deployment/create", auth=ADMIN, files=files,
                             data={"deployment-name": "restart-workers"}, timeout=30)
    assert deployed.status_code == 200, deployed.text
    pd = next(iter(deployed.json()["deployedProcessDefinitions"]))

    def start_range(offset: int) -> list[tuple[str, str]]:
        session = _session()
        started = []
        for n in range(offset, count, clients):
            key = f"bk-{n:05d}"
            response = session.post(f"{base}/process-definition/{pd}/start", timeout=30, json={
                "businessKey": key, "variables": {"n": {"value": n, "type": "Integer"}}})
            assert response.status_code == 200, response.text
            assert response.json()["ended"] is True
            started.append((response.json()["id"], key))
        return started

    with ThreadPoolExecutor(clients) as pool:
        pairs = [pair for chunk in pool.map(start_range, range(clients)) for pair in chunk]
    return pd, dict(pairs)


def restart_async(base: str, pd: str) -> dict[str, Any]:
    response = requests.post(f"{base}/process-definition/{pd}/restart-async", auth=ADMIN, timeout=60, json={
        "historicProcessInstanceQuery": {"processDefinitionId": pd, "finished": True}})
    assert response.status_code == 200, response.text
    return response.json()


def statistics(base: str, batch_id: str) -> dict[str, Any] | None:
    response = requests.get(f"{base}/batch/statistics", params={"batchId": batch_id}, auth=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    rows = response.json()
    return rows[0] if rows else None


def wait_until_gone(base: str, batch_id: str, timeout: float) -> None:
    """Poll until the batch has ended (404); fail early on failed jobs, and at the deadline."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        response = requests.get(f"{base}/batch/{batch_id}", auth=ADMIN, timeout=30)
        if response.status_code == 404:
            return
        assert response.status_code == 200, response.text
        last = statistics(base, batch_id)
        if last is not None and last["failedJobs"]:
            jobs = requests.get(f"{base}/job", params={"withException": "true"}, auth=ADMIN, timeout=30).json()
            pytest.fail(f"batch has failed jobs: {last}; {[j.get('exceptionMessage') for j in jobs][:5]}")
        time.sleep(0.1)
    pytest.fail(f"batch {batch_id} did not finish within {timeout} s; last statistics: {last}")


def assert_restarted_exactly_once(base: str, db_url: str, pd: str, originals: dict[str, str]) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            PI = m.ProcessInstance
            rows = conn.execute(select(PI.id, PI.restarted_from_id, PI.business_key, PI.state)
                                .where(PI.definition_id == pd, PI.restarted_from_id.is_not(None))).all()
            jobs_left = conn.scalar(select(func.count()).select_from(m.Job))
            incidents = conn.scalar(select(func.count()).select_from(m.Incident))
    finally:
        engine.dispose()
    per_original = Counter(row.restarted_from_id for row in rows)
    twice = {old: n for old, n in per_original.items() if n != 1}
    assert not twice, f"{len(twice)} historic instances restarted more than once, e.g. {list(twice.items())[:3]}"
    assert set(per_original) == set(originals), (
        f"{len(set(originals) - set(per_original))} never restarted, "
        f"{len(set(per_original) - set(originals))} restarted that were not selected")
    assert len(rows) == len(originals)
    assert all(row.business_key == originals[row.restarted_from_id] for row in rows)
    assert all(row.state == "COMPLETED" for row in rows)
    assert jobs_left == 0
    assert incidents == 0
    # The same through the API: originals + one new instance each, no job, no batch left.
    count = requests.get(f"{base}/history/process-instance/count", params={"processDefinitionId": pd},
                         auth=ADMIN, timeout=30).json()["count"]
    assert count == 2 * len(originals)
    assert requests.get(f"{base}/job/count", auth=ADMIN, timeout=30).json()["count"] == 0
    assert requests.get(f"{base}/batch", auth=ADMIN, timeout=30).json() == []
    newest = min(5, len(originals))
    sample = requests.get(f"{base}/history/process-instance", auth=ADMIN, timeout=30, params={
        "processDefinitionId": pd, "sortBy": "startTime", "sortOrder": "desc", "maxResults": newest}).json()
    assert all(s["restartedProcessInstanceId"] in originals for s in sample)


def baton_command() -> list[str]:
    script = Path(sys.executable).with_name("baton")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


# ------------------------------------------------------------------------------------------
# PostgreSQL: two `baton worker` processes, one of them SIGKILLed mid-batch.


class Worker:
    def __init__(self, db_url: str, log_path: Path, lock_seconds: float = LOCK_SECONDS,
                 extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "BATON_DATABASE_URL": db_url, "BATON_JOB_EXECUTOR": "off",
               "BATON_JOB_LOCK_SECONDS": str(lock_seconds), "BATON_JOB_POLL_INTERVAL": "0.05", **(extra_env or {})}
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([*baton_command(), "worker"], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()  # SIGTERM: the worker finishes its job and exits
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        finally:
            self.log.close()


def failed_job_messages(db_url: str) -> list[str | None]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(m.Job.exception_message).where(m.Job.exception_message.is_not(None))
                                     .limit(5)))
    finally:
        engine.dispose()


def locks_held_by(db_url: str, pid: int) -> int:
    """Jobs locked by a worker process (worker ids are ``host:pid:random``)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(m.Job)
                               .where(m.Job.lock_owner.like(f"%:{pid}:%"))) or 0
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: set BATON_TEST_POSTGRES_URL to run it")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_killed_worker_mid_batch_restarts_every_instance_exactly_once(db_url: str, tmp_path: Path) -> None:
    count = 300
    server = start_server(db_url, extra_env={"BATON_JOB_EXECUTOR": "off"}, log_path=tmp_path / "server.log")
    workers: list[Worker] = []
    try:
        base = server.engine_rest
        pd, originals = deploy_and_complete(base, count)
        assert len(originals) == count
        batch = restart_async(base, pd)
        assert batch["totalJobs"] == count and batch["jobsCreated"] == count

        workers = [Worker(db_url, tmp_path / f"worker-{i}.log") for i in range(2)]
        victim = workers[0]

        # Kill the first worker once some but not all jobs are done, while it holds job locks.
        deadline = time.monotonic() + 120
        at_kill: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            stats = statistics(base, batch["id"])
            assert stats is not None, "the batch finished before the kill: make it bigger"
            assert stats["failedJobs"] == 0, (stats, failed_job_messages(db_url))
            assert all(w.process.poll() is None for w in workers), "a worker exited on its own"
            if stats["completedJobs"] >= count // 10 and locks_held_by(db_url, victim.pid):
                victim.kill()
                at_kill = stats
                break
            time.sleep(0.05)
        assert at_kill is not None, "the batch made no progress within 120 s"
        assert 0 < at_kill["completedJobs"] < count and at_kill["remainingJobs"] > 0
        orphaned = locks_held_by(db_url, victim.pid)
        assert orphaned > 0, "the killed worker held no lock: nothing exercised the lock expiry"

        workers.append(Worker(db_url, tmp_path / "worker-replacement.log"))
        wait_until_gone(base, batch["id"], timeout=180)

        assert locks_held_by(db_url, victim.pid) == 0  # its jobs were taken over after 2 s
        assert_restarted_exactly_once(base, db_url, pd, originals)
        for worker in workers[1:]:
            assert worker.process.poll() is None, f"worker {worker.pid} died"
    finally:
        for worker in workers:
            worker.stop()
        server.stop()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: set BATON_TEST_POSTGRES_URL to run it")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_job_that_outlives_its_lock_still_runs_once(db_url: str, tmp_path: Path) -> None:
    """Jobs of ~1 s under a 0.3 s lock: one worker acquires all three, the idle one tries to take them over.

    A job may always outlive its lock (a slow script, a stalled host); the short lock makes it happen
    on every run. The running job's row lock must keep the other worker off it (SKIP LOCKED), and the
    jobs it does take over must not also run in the first worker. Before commit 7ce0f9a (execute()
    without the row lock and the expiry re-check) this restarted 5 instances for 3 originals.
    """
    count = 3
    slow_env = {"BATON_SCRIPT_TIME_LIMIT": "60"}
    server = start_server(db_url, extra_env={"BATON_JOB_EXECUTOR": "off", **slow_env},
                          log_path=tmp_path / "server.log")
    workers: list[Worker] = []
    try:
        base = server.engine_rest
        # ~1 s of sandboxed Python on an idle machine (two loops: the sandbox refuses ranges that big)
        slow = "n = 0\nfor i in range(2000):\n    for j in range(2000):\n        n = n + 1"
        pd, originals = deploy_and_complete(base, count, clients=1, script=slow)
        batch = restart_async(base, pd)
        workers = [Worker(db_url, tmp_path / f"worker-{i}.log", lock_seconds=0.3, extra_env=slow_env)
                   for i in range(2)]
        wait_until_gone(base, batch["id"], timeout=120)
        assert_restarted_exactly_once(base, db_url, pd, originals)
    finally:
        for worker in workers:
            worker.stop()
        server.stop()


# ------------------------------------------------------------------------------------------
# SQLite: the default in-process executor thread of each server process, no worker.


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_server_executor_threads_finish_the_batch(db_url: str, tmp_path: Path) -> None:
    count = 60
    server: LiveServer = start_server(db_url, log_path=tmp_path / "server.log")  # BATON_JOB_EXECUTOR=thread
    try:
        base = server.engine_rest
        pd, originals = deploy_and_complete(base, count)
        batch = restart_async(base, pd)
        assert batch["totalJobs"] == count
        wait_until_gone(base, batch["id"], timeout=120)
        historic = requests.get(f"{base}/history/batch/{batch['id']}", auth=ADMIN, timeout=30).json()
        assert historic["endTime"] is not None and historic["executionStartTime"] is not None
        assert_restarted_exactly_once(base, db_url, pd, originals)
    finally:
        server.stop()
