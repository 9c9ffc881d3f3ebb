"""Fuzzing ``/engine-rest`` with schemathesis against a real server (issue 5, part 3).

One gunicorn server on a loopback port and a SQLite file, seeded with the shipped certificate
approval (a deployment, a running instance waiting in its user task, a finished instance, a
restart batch), then for every operation of ``/engine-rest/openapi.json``:

- one request with the seeded ids in the path (so GETs by id find something),
- ``BATON_FUZZ_EXAMPLES`` generated requests (default 40) from schema-valid data and as many from
  schema-violating data, with a fixed Hypothesis seed and no shrinking,

each checked for: no 5xx (except the few 500s Camunda answers on purpose, ``DELIBERATE_500``),
the response body matching the documented schema, the status being documented, and an answer
within ``REQUEST_TIMEOUT`` seconds. Bounded: examples × operations × 2 modes requests, each
with a timeout; the server is stopped at the end. ``make fuzz`` runs it with more examples.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

import requests  # noqa: E402
from conftest import ADMIN, LiveServer, start_server  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance  # noqa: E402

pytestmark = pytest.mark.server

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
SEED = 20_260_511
EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "40"))
REQUEST_TIMEOUT = 10.0  # seconds; a slower answer counts as a hang

#: 500s that Camunda itself answers and Baton copies (contract 6.6, 7.5, 8.5, 9.4, 11.1): operation → the
#: error ``type`` and a message pattern. Any other 5xx is a bug.
DELIBERATE_500: dict[str, list[tuple[str, str]]] = {
    "GET /engine-rest/process-instance/{instance_id}/variables":
        [("InvalidRequestException", r"^Process instance with id .* does not exist$")],
    "POST /engine-rest/process-instance/{instance_id}/variables":
        [("InvalidRequestException", r"^Process instance with id .* does not exist$")],
    "DELETE /engine-rest/process-instance/{instance_id}/variables/{name}":
        [("InvalidRequestException", r"^Process instance with id .* does not exist$")],
    "POST /engine-rest/process-definition/{definition_id}/start":
        [("RestException", r"no deployed process definition found with id .*: processDefinition is null$")],
    "POST /engine-rest/process-definition/{definition_id}/submit-form":
        [("RestException", r"no deployed process definition found with id .*: processDefinition is null$")],
    "POST /engine-rest/task/{task_id}/complete":
        [("RestException", r"^Cannot complete task .*: Cannot find task with id .*: task is null$")],
    "DELETE /engine-rest/deployment/{deployment_id}":
        [("ProcessEngineException", r"^Deletion of process definition without cascading failed: ")],
    "POST /engine-rest/task/{task_id}/submit-form":
        [("RestException", r"^Cannot submit task form .*: Cannot find task with id .*: task is null$")],
    "POST /engine-rest/signal": [  # contract 11.1: an executionId that does not exist or does not wait
        ("NullValueException", r"^Cannot find execution with id '.*': execution is null$"),
        ("ProcessEngineException", r"^Execution '.*' has not subscribed to a signal event with name '.*'\.$"),
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    live = start_server(f"sqlite:///{folder / 'baton.sqlite3'}", log_path=folder / "server.log")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.auth = ADMIN
        yield http


@pytest.fixture(scope="module")
def seeded(server: LiveServer, session: requests.Session) -> dict[str, str]:
    """Ids of real objects, by path parameter name."""
    api = server.engine_rest
    bpmn = (PROCESSES / "certificate-approval.bpmn").read_bytes()
    deployed = session.post(f"{api}/deployment/create", data={"deployment-name": "fuzz"},
                            files={"resource-0": ("certificate-approval.bpmn", bpmn)}, timeout=REQUEST_TIMEOUT)
    assert deployed.status_code == 200, deployed.text
    definition_id = next(iter(deployed.json()["deployedProcessDefinitions"]))
    resource_id = session.get(f"{api}/deployment/{deployed.json()['id']}/resources", timeout=REQUEST_TIMEOUT).json()[0]
    start = {"businessKey": "fuzz", "variables": {"requester": {"value": "ann", "type": "String"}}}
    running = session.post(f"{api}/process-definition/{definition_id}/start", json=start, timeout=REQUEST_TIMEOUT)
    assert running.status_code == 200, running.text
    instance_id = running.json()["id"]
    task_id = session.get(f"{api}/task", params={"processInstanceId": instance_id},
                          timeout=REQUEST_TIMEOUT).json()[0]["id"]
    # A second instance, finished by deleting it, for restart and history.
    ended = session.post(f"{api}/process-definition/{definition_id}/start", json=start, timeout=REQUEST_TIMEOUT)
    ended_id = ended.json()["id"]
    session.delete(f"{api}/process-instance/{ended_id}", timeout=REQUEST_TIMEOUT)
    batch = session.post(f"{api}/process-definition/{definition_id}/restart-async",
                         json={"processInstanceIds": [ended_id]}, timeout=REQUEST_TIMEOUT)
    assert batch.status_code == 200, batch.text
    activity = session.get(f"{api}/history/activity-instance", params={"processInstanceId": instance_id},
                           timeout=REQUEST_TIMEOUT).json()[0]["id"]
    variable = session.get(f"{api}/history/variable-instance", params={"processInstanceId": instance_id},
                           timeout=REQUEST_TIMEOUT).json()[0]["id"]
    jobs = session.get(f"{api}/job", timeout=REQUEST_TIMEOUT).json()
    return {
        "definition_id": definition_id, "key": "certificate-approval", "tenant_id": "none",
        "deployment_id": deployed.json()["id"], "resource_id": resource_id["id"],
        "instance_id": instance_id, "task_id": task_id, "name": "requester",
        "batch_id": batch.json()["id"], "activity_instance_id": activity, "variable_id": variable,
        "job_id": jobs[0]["id"] if jobs else "none", "job_definition_id": batch.json()["batchJobDefinitionId"],
        "incident_id": "none",
    }


@pytest.fixture(scope="module")
def schema(server: LiveServer) -> Any:
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    document = requests.get(f"{server.engine_rest}/openapi.json", timeout=REQUEST_TIMEOUT).json()
    errors = [str(error)[:300] for error in OPENAPI_30_VALIDATOR.iter_errors(document)]
    assert not errors, f"not a valid OpenAPI 3.0 document: {errors[:5]}"
    return schemathesis.openapi.from_dict(document)


def _problems(operation_label: str, case: Any, response: Any) -> list[str]:
    """Baton's own 5xx rule: a 5xx is a bug unless it is one of Camunda's deliberate 500s."""
    if response.status_code < 500:
        return []
    try:
        body = response.json()
    except ValueError:
        body = {}
    for type_, pattern in DELIBERATE_500.get(operation_label, []):
        if (response.status_code == 500 and body.get("type") == type_
                and re.search(pattern, body.get("message") or "", re.DOTALL)):
            return []
    return [f"{response.status_code} {body or response.text[:300]!r} for {case.method} {response.request.url} "
            f"body={case.body!r}"[:2000]]


def test_fuzz_every_operation(server: LiveServer, session: requests.Session, seeded: dict[str, str],
                              schema: Any) -> None:
    failures: list[str] = []
    checks = [response_schema_conformance, status_code_conformance]
    operations = 0

    def check(case: Any) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        response = case.call(base_url=server.url, session=session, timeout=REQUEST_TIMEOUT)
        problems = _problems(label, case, response)
        if problems:
            raise AssertionError(problems[0])
        case.validate_response(response, checks=checks)

    all_operations = [result.ok() for result in schema.get_all_operations()]
    # 1. The seeded ids, so that GETs by id find something: reads first, then writes (which may
    #    complete the task or delete the instance).
    for operation in sorted(all_operations, key=lambda op: op.method.upper() != "GET"):
        names = re.findall(r"\{([^}]+)\}", operation.path)
        if names:
            try:
                check(operation.Case(path_parameters={n: seeded.get(n, "none") for n in names}))
            except Exception as error:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.method.upper()} {operation.path} [seeded ids]: {error}")
    # 2. Generated requests, valid and invalid, fixed seed, no shrinking (bounded time).
    for operation in all_operations:
        operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @seed(SEED)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                      report_multiple_bugs=False)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                check(case)

            try:
                run()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # noqa: BLE001 - schemathesis raises exception groups; reported below
                failures.append(f"{label} [{mode.value}]: {str(error)[:3000]}")
    assert operations >= 90, f"only {operations} operations in the document"
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)
