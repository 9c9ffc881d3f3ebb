"""Throughput: a 10-script-task process through HTTP vs. plain SpiffWorkflow in-process.

Runs everything side by side in one run (machines here are noisy), on 127.0.0.1 only:

1. in-process: the same model created and run to completion with plain SpiffWorkflow;
2. HTTP: ``POST /process-definition/key/bench/start`` against a real gunicorn server
   (2 workers) on SQLite, and on PostgreSQL when ``BATON_TEST_POSTGRES_URL`` (or
   ``BATON_BENCH_POSTGRES_URL``) is set; each instance runs to completion inside the request
   and leaves full history (11 activity rows, its variables).

Prints instances/s for each, the ratio HTTP / in-process, the deploy time of a 100-activity
model and the servers' peak RSS. Usage: ``python benchmarks/throughput.py [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ADMIN, start_server  # noqa: E402

from benchmarks.models import chain_model  # noqa: E402


def in_process_rate(xml: str, seconds: float) -> float:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

    parser = CamundaParser()
    parser.add_bpmn_str(xml.encode())
    spec, subs = parser.get_spec("bench"), parser.get_subprocess_specs("bench")
    count, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        workflow = BpmnWorkflow(spec, subs)
        workflow.task_tree.data["n"] = 0
        workflow.do_engine_steps()
        assert workflow.completed
        count += 1
    return count / (time.perf_counter() - start)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            continue
    return total / 1024


def http_rate(url: str, xml: str, seconds: float, clients: int = 4) -> tuple[float, int]:
    """Instances/s of ``clients`` keep-alive connections starting instances until the deadline.

    The client is plain ``http.client``: it shares the machine's two cores with the server, and
    requests' own overhead would be measured as the server's.
    """
    response = requests.post(f"{url}/engine-rest/deployment/create", auth=ADMIN,
                             files={"f": ("bench.bpmn", xml.encode())}, data={"deployment-name": "bench"},
                             timeout=60)
    response.raise_for_status()
    target = urlsplit(url)
    body = json.dumps({"variables": {"n": {"value": 0, "type": "Integer"}}}).encode()
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    deadline = time.perf_counter() + seconds
    counts = [0] * clients
    errors = [0] * clients

    def loop(index: int) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            while time.perf_counter() < deadline:
                connection.request("POST", "/engine-rest/process-definition/key/bench/start", body, headers)
                answer = connection.getresponse()
                data = answer.read()
                if answer.status == 200 and json.loads(data)["ended"]:
                    counts[index] += 1
                else:
                    errors[index] += 1
        finally:
            connection.close()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    return sum(counts) / (time.perf_counter() - start), sum(errors)


def deploy_time(url: str, activities: int = 100) -> float:
    xml = chain_model(activities, key="bench100")
    start = time.perf_counter()
    response = requests.post(f"{url}/engine-rest/deployment/create", auth=ADMIN,
                             files={"f": ("bench100.bpmn", xml.encode())}, data={"deployment-name": "bench100"},
                             timeout=60)
    response.raise_for_status()
    return time.perf_counter() - start


def run_backend(name: str, database_url: str, xml: str, seconds: float, clients: int) -> dict[str, float]:
    server = start_server(database_url, workers=2, extra_env={"BATON_JOB_EXECUTOR": "off"})
    try:
        rate, errors = http_rate(server.url, xml, seconds, clients)
        deploy = deploy_time(server.url)
        rss = peak_rss_mb(server.process.pid)
    finally:
        server.stop()
    return {"rate": rate, "errors": errors, "deploy": deploy, "rss": rss}


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from app.store.models import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive connections")
    args = parser.parse_args()
    xml = chain_model(10, key="bench", scripts=True)
    results: dict[str, dict[str, float]] = {}
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_backend("sqlite", f"sqlite:///{tmp}/bench.sqlite3", xml, args.seconds, args.clients)
    pg = os.environ.get("BATON_BENCH_POSTGRES_URL") or os.environ.get("BATON_TEST_POSTGRES_URL")
    if pg:
        reset_postgres(pg)
        results["postgresql"] = run_backend("postgresql", pg, xml, args.seconds, args.clients)
    with lock:
        inproc = in_process_rate(xml, args.seconds)
    print(f"in-process SpiffWorkflow : {inproc:9.1f} instances/s")
    for name, r in results.items():
        print(f"HTTP {name:<20}: {r['rate']:9.1f} instances/s  ratio {r['rate'] / inproc:5.3f}  "
              f"errors {int(r['errors'])}  deploy(100 activities) {r['deploy'] * 1000:7.1f} ms  "
              f"server peak RSS {r['rss']:6.1f} MB")


if __name__ == "__main__":
    main()
