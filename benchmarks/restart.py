"""Restart throughput: ``restart-async`` batches run by Baton's job executors vs. plain SpiffWorkflow.

Everything runs side by side in one run (machines here are noisy), on 127.0.0.1 only:

0. in-process: the same ``--count`` workflows created, positioned before ``review``
   (``app.engine.positioning.start_at``) and serialized (``app.engine.serializer.dumps``) with
   SpiffWorkflow in this process: no database, no HTTP, no engine steps;
1. SQLite, one gunicorn server process with the embedded executor thread
   (``BATON_JOB_EXECUTOR=thread``);
2. PostgreSQL (when ``BATON_BENCH_POSTGRES_URL`` or ``BATON_TEST_POSTGRES_URL`` is set; the
   database is emptied first), a server with ``BATON_JOB_EXECUTOR=off`` and first one, then two
   ``baton worker`` processes.

The model: start → gateway (``${done}`` → end, default → ``review`` user task → end). The
``--count`` originals are created through the API, ``POST /process-definition/{id}/start`` from a
pool of 4 client threads (the ordinary request path: every original runs to its end inside its
request and leaves full history); with ``done=true`` they complete at once. Each configuration
then runs two batches, ``restart-async`` with ``{"processDefinitionId": …, "finished": true}``
(plus ``processInstanceBusinessKeyIn`` for the small one) and ``startBeforeActivity review``
with the last variables:

* a small batch of ``min(1000, count/10)`` instances, then the peak RSS (VmHWM) of the server
  and of each worker is read (it is also read before the small batch: for the server that is
  its boot and the creation of the originals);
* the full batch of ``count`` instances, timed from the request until ``GET /batch/{id}``
  answers 404 (every job done), then VmHWM again. VmHWM never decreases, so the growth between
  the two readings is what the bigger batch cost in memory.

On PostgreSQL the two-worker run restarts the same originals again (the one-worker run's new
instances wait at ``review``, so ``finished: true`` does not select them); its database therefore
holds ``count`` + ``small`` more instances than the one-worker run's did.

Usage: ``python benchmarks/restart.py [--count 10000] [--quick]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ADMIN, LiveServer, start_server  # noqa: E402

KEY = "restartbench"
CLIENTS = 4


def model() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" '
        'targetNamespace="http://baton.example/bench">'
        f'<bpmn:process id="{KEY}" isExecutable="true">'
        '<bpmn:startEvent id="start" />'
        '<bpmn:exclusiveGateway id="gw" default="to_review" />'
        '<bpmn:userTask id="review" name="Review" />'
        '<bpmn:endEvent id="end_done" /><bpmn:endEvent id="end" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />'
        '<bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end_done">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${done}</bpmn:conditionExpression>'
        '</bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="to_review" sourceRef="gw" targetRef="review" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />'
        '</bpmn:process></bpmn:definitions>'
    )


def variables_of(n: int) -> dict[str, Any]:
    return {"done": True, "n": n, "customer": f"customer-{n:05d}"}


def business_key(n: int) -> str:
    return f"bench-{n:05d}"


INSTRUCTIONS = [{"type": "startBeforeActivity", "activityId": "review"}]


# ------------------------------------------------------------------------------------------
# In-process SpiffWorkflow


def in_process_rate(count: int) -> float:
    from app.engine.model import build_model_index
    from app.engine.parsing import load_process
    from app.engine.positioning import Instruction, start_at
    from app.engine.serializer import dumps

    resources = {"bench.bpmn": model().encode()}
    spec, subs = load_process(resources, KEY)
    flows = build_model_index(resources, KEY).flow_index()
    instructions = [Instruction("startBeforeActivity", activity_id="review")]
    start = time.perf_counter()
    size = 0
    for n in range(count):
        workflow, _skipped = start_at(spec, subs, instructions, flows, data=variables_of(n))
        size += len(dumps(workflow))
    elapsed = time.perf_counter() - start
    assert size > 0
    return count / elapsed


# ------------------------------------------------------------------------------------------
# Processes and memory


Memory = tuple[float, float]  # (VmRSS now, VmHWM = peak RSS so far), MB


def memory_mb(pid: int) -> Memory:
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in found:
                found[name] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return found["VmRSS"], found["VmHWM"]


def server_memory_mb(server: LiveServer) -> Memory:
    """Of the largest process of a gunicorn server (master or worker), as throughput.py."""
    pid = server.process.pid
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    readings = [memory_mb(p) for p in pids]
    return max(r[0] for r in readings), max(r[1] for r in readings)


def baton_command() -> list[str]:
    script = Path(sys.executable).with_name("baton")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


class Worker:
    """A ``baton worker`` process; stopped with SIGTERM (it finishes its current job), then killed."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        env = {**os.environ, "BATON_DATABASE_URL": database_url, "BATON_JOB_POLL_INTERVAL": "0.1"}
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([*baton_command(), "worker"], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def memory_mb(self) -> Memory:
        return memory_mb(self.process.pid)

    def wait_ready(self, timeout: float = 30) -> None:
        """Until its resident size stops changing (imports done, polling idle), at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        last = -1.0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}")
            now = memory_mb(self.process.pid)[1]
            if now > 20 and abs(now - last) < 0.5:
                return
            last = now
            time.sleep(0.5)

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            self.log.close()


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    import app.store.keyfactor_models  # noqa: F401 - every table on Base.metadata before dropping
    from app.store.models import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


# ------------------------------------------------------------------------------------------
# Through the API


def deploy(base: str) -> str:
    response = requests.post(f"{base}/deployment/create", auth=ADMIN, timeout=60,
                             files={"f": ("restartbench.bpmn", model().encode())},
                             data={"deployment-name": "restartbench"})
    response.raise_for_status()
    return next(iter(response.json()["deployedProcessDefinitions"]))


def create_originals(base: str, pd: str, count: int) -> float:
    """Start ``count`` instances (each completes in its request); returns instances/s."""
    def run(offset: int) -> int:
        session = requests.Session()
        session.auth = ADMIN
        done = 0
        for n in range(offset, count, CLIENTS):
            body = {"businessKey": business_key(n),
                    "variables": {name: {"value": value} for name, value in variables_of(n).items()}}
            response = session.post(f"{base}/process-definition/{pd}/start", json=body, timeout=60)
            if response.status_code != 200 or not response.json()["ended"]:
                raise RuntimeError(f"start failed: {response.status_code} {response.text[:300]}")
            done += 1
        return done

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        created = sum(pool.map(run, range(CLIENTS)))
    assert created == count
    return count / (time.perf_counter() - start)


@dataclass
class BatchRun:
    size: int
    create_seconds: float  # the restart-async request (selection + one job row per instance)
    total_seconds: float  # request sent → batch gone

    @property
    def rate(self) -> float:
        return self.size / self.total_seconds


def run_batch(base: str, pd: str, size: int, keys: list[str] | None = None) -> BatchRun:
    query: dict[str, Any] = {"processDefinitionId": pd, "finished": True}
    if keys is not None:
        query["processInstanceBusinessKeyIn"] = keys
    start = time.perf_counter()
    response = requests.post(f"{base}/process-definition/{pd}/restart-async", auth=ADMIN, timeout=600, json={
        "historicProcessInstanceQuery": query, "instructions": INSTRUCTIONS})
    response.raise_for_status()
    created = time.perf_counter()
    batch = response.json()
    if batch["totalJobs"] != size:
        raise RuntimeError(f"batch selected {batch['totalJobs']} instances, expected {size}")
    deadline = time.monotonic() + 120 + size * 0.5  # bounded: far slower than 2 restarts/s is a failure
    session = requests.Session()
    session.auth = ADMIN
    while True:
        answer = session.get(f"{base}/batch/{batch['id']}", timeout=60)
        if answer.status_code == 404:
            break
        answer.raise_for_status()
        if time.monotonic() > deadline:
            stats = session.get(f"{base}/batch/statistics", params={"batchId": batch["id"]}, timeout=60).json()
            raise RuntimeError(f"batch not done before the deadline: {stats}")
        time.sleep(0.2)
    done = time.perf_counter()
    stats = session.get(f"{base}/history/batch/{batch['id']}", timeout=60).json()
    if stats.get("endTime") is None:
        raise RuntimeError(f"batch ended without an end time: {stats}")
    failed = session.get(f"{base}/job/count", params={"withException": "true"}, timeout=60).json()["count"]
    if failed:
        raise RuntimeError(f"{failed} restart jobs failed")
    return BatchRun(size, created - start, done - start)


@dataclass
class Measured:
    name: str
    small: BatchRun
    full: BatchRun
    create_rate: float | None = None
    #: process label -> memory before the small batch (server: boot + creating the originals), after
    #: the small batch, after the full batch
    memory: dict[str, tuple[Memory, Memory, Memory]] = field(default_factory=dict)


def measure(name: str, base: str, pd: str, count: int, small: int, processes: dict[str, Any]) -> Measured:
    """Small batch, memory, full batch, memory. ``processes`` maps a label to a memory reader."""
    before = {label: read() for label, read in processes.items()}
    small_run = run_batch(base, pd, small, [business_key(n) for n in range(small)])
    after_small = {label: read() for label, read in processes.items()}
    full_run = run_batch(base, pd, count)
    after_full = {label: read() for label, read in processes.items()}
    return Measured(name, small_run, full_run,
                    memory={label: (before[label], after_small[label], after_full[label]) for label in processes})


def run_sqlite(count: int, small: int, workdir: Path) -> Measured:
    url = f"sqlite:///{workdir / 'restart-bench.sqlite3'}"
    server = start_server(url, workers=1, extra_env={"BATON_JOB_EXECUTOR": "thread"},
                          log_path=workdir / "sqlite-server.log")
    try:
        base = server.engine_rest
        pd = deploy(base)
        create_rate = create_originals(base, pd, count)
        result = measure("SQLite, embedded executor", base, pd, count, small,
                         {"server": lambda: server_memory_mb(server)})
        result.create_rate = create_rate
        return result
    finally:
        server.stop()


def run_postgres(url: str, count: int, small: int, workdir: Path) -> list[Measured]:
    reset_postgres(url)
    server = start_server(url, workers=2, extra_env={"BATON_JOB_EXECUTOR": "off"},
                          log_path=workdir / "pg-server.log")
    results = []
    try:
        base = server.engine_rest
        pd = deploy(base)
        create_rate = create_originals(base, pd, count)
        for worker_count in (1, 2):
            workers = [Worker(url, workdir / f"pg-{worker_count}-worker-{i}.log") for i in range(worker_count)]
            try:
                for worker in workers:
                    worker.wait_ready()
                readers: dict[str, Any] = {"server": lambda: server_memory_mb(server)}
                for i, worker in enumerate(workers):
                    readers[f"worker {i + 1}"] = worker.memory_mb
                label = "PostgreSQL, 1 worker" if worker_count == 1 else "PostgreSQL, 2 workers"
                result = measure(label, base, pd, count, small, readers)
                result.create_rate = create_rate
                results.append(result)
                for worker in workers:
                    if worker.process.poll() is not None:
                        raise RuntimeError(f"a worker exited with {worker.process.returncode}")
            finally:
                for worker in workers:
                    worker.stop()
    finally:
        server.stop()
    return results


# ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="instances per full batch")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (300 instances)")
    args = parser.parse_args()
    count = 300 if args.quick else args.count
    small = min(1000, max(count // 10, 1))
    pg = os.environ.get("BATON_BENCH_POSTGRES_URL") or os.environ.get("BATON_TEST_POSTGRES_URL")

    load_before = os.getloadavg()
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="baton-restart-bench-") as tmp:
        workdir = Path(tmp)
        try:
            results.append(run_sqlite(count, small, workdir))
            if pg:
                results += run_postgres(pg, count, small, workdir)
        except Exception:
            for log in sorted(workdir.glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(f"--- {log.name}\n" + "\n".join(tail), file=sys.stderr)
            raise
    inproc = in_process_rate(count)

    print(f"restart benchmark: {count} instances per full batch, {small} in the small batch, "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and {os.getloadavg()[0]:.2f} after")
    print(f"in-process SpiffWorkflow (start_at + dumps) : {inproc:9.1f} restarts/s")
    for r in results:
        print(f"{r.name:<28}: {r.full.rate:9.1f} restarts/s  ratio to in-process {r.full.rate / inproc:6.3f}  "
              f"(batch request {r.full.create_seconds:5.2f} s, total {r.full.total_seconds:7.1f} s; "
              f"small batch {r.small.rate:7.1f}/s; originals created at {r.create_rate or 0:6.1f}/s)")
        for label, (before, at_small, at_full) in r.memory.items():
            print(f"    {label:<9} peak RSS (RSS now), MB: {before[1]:6.1f} ({before[0]:5.1f}) before, "
                  f"{at_small[1]:6.1f} ({at_small[0]:5.1f}) after {small} instances, "
                  f"{at_full[1]:6.1f} ({at_full[0]:5.1f}) after {count}")

    by_name = {r.name: r for r in results}
    one, two = by_name.get("PostgreSQL, 1 worker"), by_name.get("PostgreSQL, 2 workers")
    checks: list[tuple[str, bool]] = []
    if one is not None and two is not None:
        ratio_one = one.full.rate / inproc
        ratio_two = two.full.rate / one.full.rate
        print(f"ratio one worker / in-process : {ratio_one:6.3f}   (target >= 0.4)")
        print(f"ratio two workers / one worker: {ratio_two:6.3f}   (target >= 1.6)")
        checks += [("one worker >= 0.4 x in-process", ratio_one >= 0.4),
                   ("two workers >= 1.6 x one worker", ratio_two >= 1.6)]
    readings = [reading for r in results for reading in r.memory.values()]
    checks += [("peak RSS < 300 MB", max(at_full[1] for _, _, at_full in readings) < 300),
               ("RSS grows < 10 % from the small to the full batch (peak and now)",
                all(at_full[k] - at_small[k] < 0.1 * at_small[k] for _, at_small, at_full in readings
                    for k in (0, 1)))]
    for text, ok in checks:
        print(f"{'met   ' if ok else 'MISSED'} {text}")


if __name__ == "__main__":
    main()
