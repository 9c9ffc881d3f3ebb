"""End to end against a real server: gunicorn with two workers on a loopback port.

The same order flow runs over plain ``requests`` and through pycamunda 0.6.1 used exactly as a
user would (no patches): multipart deployment with duplicate filtering, a start with every
supported variable type, user tasks, message correlation by business key, and the history.
Also: HTTP Basic failures answer 401 with a challenge, and ``baton serve`` (what ``make run``
calls) migrates, deploys ``processes/`` and serves the shipped process end to end.

Every test that uses ``live_server`` runs on SQLite and, with ``BATON_TEST_POSTGRES_URL``, on
PostgreSQL. Each server starts on an empty database, so both gunicorn workers race to create the
configured admin user; the server must come up and answer either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pycamunda
import pycamunda.deployment
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pytest
import requests
from e2e_helpers import (
    DATE_VARIABLE,
    ORDER_ACTIVITIES,
    PROCESSES,
    TYPED_VARIABLES,
    assert_camunda_error,
    free_port,
    order_model,
    rendered,
)

pytestmark = pytest.mark.server

TIMEOUT = 15  # seconds for any single HTTP call


def admin_of(server: Any) -> tuple[str, str]:
    return server.env["BATON_ADMIN_USER"], server.env["BATON_ADMIN_PASSWORD"]


def session_for(server: Any) -> requests.Session:
    session = requests.Session()
    session.auth = admin_of(server)
    return session


def get_json(session: requests.Session, url: str, **params: Any) -> Any:
    response = session.get(url, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def deploy(session: requests.Session, base: str, name: str, files: dict[str, str], **fields: str) -> requests.Response:
    parts = {f"upload-{i}": (filename, content.encode(), "application/octet-stream")
             for i, (filename, content) in enumerate(files.items())}
    return session.post(f"{base}/deployment/create", data={"deployment-name": name, **fields}, files=parts,
                        timeout=TIMEOUT)


# ------------------------------------------------------------------------------------------
# Plain requests


def test_order_flow_over_http(live_server: Any) -> None:
    base = live_server.engine_rest
    http = session_for(live_server)
    xml = order_model("e2e-order")

    first = deploy(http, base, "e2e-orders", {"order.bpmn": xml}, **{"enable-duplicate-filtering": "true"})
    assert first.status_code == 200, first.text
    deployment = first.json()
    [definition] = deployment["deployedProcessDefinitions"].values()
    assert definition["key"] == "e2e-order" and definition["version"] == 1
    assert definition["resource"] == "order.bpmn" and definition["deploymentId"] == deployment["id"]
    assert definition["name"] == "E2E order"
    assert deployment["links"] == [{"method": "GET", "href": f"{base}/deployment/{deployment['id']}", "rel": "self"}]

    # The same bytes again with duplicate filtering: nothing new, the existing deployment is described.
    again = deploy(http, base, "e2e-orders", {"order.bpmn": xml}, **{"enable-duplicate-filtering": "true"})
    assert again.status_code == 200, again.text
    assert again.json()["deployedProcessDefinitions"] is None
    assert again.json()["id"] == deployment["id"]
    assert get_json(http, f"{base}/deployment/count") == {"count": 1}
    assert get_json(http, f"{base}/process-definition/count", key="e2e-order") == {"count": 1}
    stored = get_json(http, f"{base}/process-definition/{definition['id']}/xml")
    assert stored["bpmn20Xml"] == xml  # kept verbatim

    # Start with every supported variable type; they come back exactly as sent.
    started = http.post(f"{base}/process-definition/key/e2e-order/start",
                        json={"businessKey": "order-1001", "variables": TYPED_VARIABLES}, timeout=TIMEOUT)
    assert started.status_code == 200, started.text
    instance = started.json()
    instance_id = instance["id"]
    assert instance["businessKey"] == "order-1001" and instance["ended"] is False
    assert instance["definitionId"] == definition["id"]
    assert get_json(http, f"{base}/process-instance/{instance_id}/variables") == rendered(TYPED_VARIABLES)
    # Also when read one by one.
    for name, value in rendered(TYPED_VARIABLES).items():
        assert get_json(http, f"{base}/process-instance/{instance_id}/variables/{name}") == value

    # The user task, completed with a Boolean that the JUEL gateway reads.
    [task] = get_json(http, f"{base}/task", processInstanceId=instance_id)
    assert task["taskDefinitionKey"] == "review" and task["name"] == "Review order"
    done = http.post(f"{base}/task/{task['id']}/complete",
                     json={"variables": {"approved": {"value": True, "type": "Boolean"}}}, timeout=TIMEOUT)
    assert done.status_code == 204, done.text
    assert get_json(http, f"{base}/task", processInstanceId=instance_id) == []
    tree = get_json(http, f"{base}/process-instance/{instance_id}/activity-instances")
    assert [c["activityId"] for c in tree["childActivityInstances"]] == ["waitPayment"]

    # A message for another business key matches nothing and changes nothing.
    wrong = http.post(f"{base}/message", json={"messageName": "payment-received", "businessKey": "order-9999"},
                      timeout=TIMEOUT)
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["type"] == "RestException"
    assert "MismatchingMessageCorrelationException" in wrong.json()["message"]
    assert get_json(http, f"{base}/process-instance/count", businessKey="order-1001") == {"count": 1}

    correlated = http.post(f"{base}/message", json={
        "messageName": "payment-received", "businessKey": "order-1001", "resultEnabled": True,
        "processVariables": {"paidAmount": {"value": 99.5, "type": "Double"}}}, timeout=TIMEOUT)
    assert correlated.status_code == 200, correlated.text
    [result] = correlated.json()
    assert result["resultType"] == "Execution" and result["processInstance"] is None
    assert result["execution"]["processInstanceId"] == instance_id

    # The script ran and the instance ended: runtime forgets it, history keeps everything.
    assert get_json(http, f"{base}/process-instance/count", businessKey="order-1001") == {"count": 0}
    assert http.get(f"{base}/process-instance/{instance_id}", timeout=TIMEOUT).status_code == 404
    historic = get_json(http, f"{base}/history/process-instance/{instance_id}")
    assert historic["state"] == "COMPLETED"
    assert historic["businessKey"] == "order-1001" and historic["startActivityId"] == "start"
    assert historic["endTime"] is not None and historic["durationInMillis"] >= 0
    assert historic["startUserId"] == admin_of(live_server)[0]
    [listed] = get_json(http, f"{base}/history/process-instance", processInstanceId=instance_id)
    assert listed == historic
    assert get_json(http, f"{base}/history/process-instance/count", completed="true",
                    processDefinitionKey="e2e-order") == {"count": 1}

    activities = get_json(http, f"{base}/history/activity-instance", processInstanceId=instance_id,
                          sortBy="occurrence", sortOrder="asc")
    assert [a["activityId"] for a in activities] == ORDER_ACTIVITIES
    types = {a["activityId"]: a["activityType"] for a in activities}
    assert types == {"start": "startEvent", "review": "userTask", "approvedGateway": "exclusiveGateway",
                     "waitPayment": "intermediateMessageCatch", "ship": "scriptTask", "shipped": "noneEndEvent"}
    assert all(a["endTime"] is not None and a["canceled"] is False for a in activities)
    assert all(a["parentActivityInstanceId"] == instance_id for a in activities)
    by_id = {a["activityId"]: a for a in activities}
    assert by_id["review"]["taskId"] == task["id"]
    assert by_id["shipped"]["completeScope"] is True
    assert "rejected" not in by_id

    variables = get_json(http, f"{base}/history/variable-instance", processInstanceId=instance_id)
    values = {v["name"]: {"value": v["value"], "type": v["type"], "valueInfo": v["valueInfo"]} for v in variables}
    assert values == {
        **rendered(TYPED_VARIABLES),
        "approved": {"value": True, "type": "Boolean", "valueInfo": {}},
        "paidAmount": {"value": 99.5, "type": "Double", "valueInfo": {}},
        "shipped": {"value": True, "type": "Boolean", "valueInfo": {}},
        "shippedQuantity": {"value": 84, "type": "Integer", "valueInfo": {}},
    }
    assert all(v["processInstanceId"] == instance_id for v in variables)




def test_date_variable_round_trips_through_wait_states(live_server: Any) -> None:
    base = live_server.engine_rest
    http = session_for(live_server)
    assert deploy(http, base, "e2e-orders", {"order.bpmn": order_model()}).status_code == 200
    variables = {**TYPED_VARIABLES, **DATE_VARIABLE}
    started = http.post(f"{base}/process-definition/key/e2e-order/start", json={"variables": variables},
                        timeout=TIMEOUT)
    assert started.status_code == 200, started.text
    instance_id = started.json()["id"]
    assert get_json(http, f"{base}/process-instance/{instance_id}/variables") == rendered(variables)
    [task] = get_json(http, f"{base}/task", processInstanceId=instance_id)
    done = http.post(f"{base}/task/{task['id']}/complete", json={"variables": {
        "approved": {"value": True, "type": "Boolean"},
        "reviewedAt": {"value": "2024-05-02T08:00:00.000+0000", "type": "Date"}}}, timeout=TIMEOUT)
    assert done.status_code == 204, done.text
    expected = {**rendered(variables), "approved": {"value": True, "type": "Boolean", "valueInfo": {}},
                "reviewedAt": {"value": "2024-05-02T08:00:00.000+0000", "type": "Date", "valueInfo": {}}}
    assert get_json(http, f"{base}/process-instance/{instance_id}/variables") == expected
    history = {v["name"]: v for v in get_json(http, f"{base}/history/variable-instance", processInstanceId=instance_id)}
    assert {name: {"value": v["value"], "type": v["type"], "valueInfo": v["valueInfo"]}
            for name, v in history.items()} == expected


def test_rejected_order_takes_the_default_flow(live_server: Any) -> None:
    base = live_server.engine_rest
    http = session_for(live_server)
    assert deploy(http, base, "e2e-orders", {"order.bpmn": order_model()}).status_code == 200
    started = http.post(f"{base}/process-definition/key/e2e-order/start",
                        json={"variables": {"quantity": {"value": 1, "type": "Integer"}}}, timeout=TIMEOUT)
    assert started.status_code == 200, started.text
    instance_id = started.json()["id"]
    [task] = get_json(http, f"{base}/task", processInstanceId=instance_id)
    assert http.post(f"{base}/task/{task['id']}/complete", json={"variables": {"approved": {
        "value": False, "type": "Boolean"}}}, timeout=TIMEOUT).status_code == 204
    historic = get_json(http, f"{base}/history/process-instance/{instance_id}")
    assert historic["state"] == "COMPLETED"
    ended = get_json(http, f"{base}/history/activity-instance", processInstanceId=instance_id,
                     completeScope="true")
    assert [a["activityId"] for a in ended] == ["rejected"]
    # Nobody waits for the payment: correlating now is a mismatch, not a success.
    late = http.post(f"{base}/message", json={"messageName": "payment-received"}, timeout=TIMEOUT)
    assert late.status_code == 400


# ------------------------------------------------------------------------------------------
# pycamunda 0.6.1, unmodified


def authed(request: Any, server: Any) -> Any:
    request.auth = admin_of(server)  # pycamunda/base.py: CamundaRequest.auth, passed to requests
    return request


def test_order_flow_with_pycamunda(live_server: Any) -> None:
    url = live_server.engine_rest
    xml = order_model("pyc-order").encode()

    create = authed(pycamunda.deployment.Create(url=url, name="pyc-orders", enable_duplicate_filtering=True),
                    live_server)
    create.add_resource(xml)  # raw bytes: the part's filename is "resource-0"
    deployment = create()
    [definition] = deployment.deployed_process_definitions.values()
    assert definition.key == "pyc-order" and definition.version == 1
    assert definition.resource == "resource-0"

    again = authed(pycamunda.deployment.Create(url=url, name="pyc-orders", enable_duplicate_filtering=True),
                   live_server)
    again.add_resource(xml)
    repeated = again()
    assert repeated.id_ == deployment.id_
    assert not repeated.deployed_process_definitions

    start = authed(pycamunda.processdef.StartInstance(url=url, key="pyc-order", business_key="py-7"), live_server)
    start.add_variable("quantity", 3, "Integer")
    start.add_variable("customer", "Initech")  # no type: pycamunda sends "type": null
    start.add_variable("price", 12.5, "Double")
    instance = start()
    assert instance.business_key == "py-7" and instance.definition_id == definition.id_

    listed = authed(pycamunda.processinst.GetList(url=url, business_key="py-7"), live_server)()
    assert [p.id_ for p in listed] == [instance.id_]
    variables = authed(pycamunda.processinst.VariablesGetList(url=url, process_instance_id=instance.id_),
                       live_server)()
    assert {name: (v.value, v.type_) for name, v in variables.items()} == {
        "quantity": (3, "Integer"), "customer": ("Initech", "String"), "price": (12.5, "Double")}

    tasks = authed(pycamunda.task.GetList(url=url, process_instance_id=instance.id_), live_server)()
    assert [t.task_definition_key for t in tasks] == ["review"]
    complete = authed(pycamunda.task.Complete(url=url, id_=tasks[0].id_), live_server)
    complete.add_variable("approved", True, "Boolean")
    complete()
    assert authed(pycamunda.task.GetList(url=url, process_instance_id=instance.id_), live_server)() == ()

    # result_enabled=True: pycamunda crashes on the (correct) 204 otherwise (contract 18.1).
    correlate = authed(pycamunda.message.CorrelateSingle(url=url, message_name="payment-received",
                                                         business_key="py-7", result_enabled=True), live_server)
    correlate.add_process_variable("paidAmount", 37.5, "Double")
    [result] = correlate()
    assert result.result_type == pycamunda.message.ResultType.execution
    assert result.execution.process_instance_id == instance.id_

    assert authed(pycamunda.processinst.GetList(url=url, business_key="py-7"), live_server)() == ()
    http = session_for(live_server)
    historic = get_json(http, f"{url}/history/process-instance/{instance.id_}")
    assert historic["state"] == "COMPLETED"
    shipped = get_json(http, f"{url}/history/variable-instance", processInstanceId=instance.id_,
                       variableName="shippedQuantity")
    assert [(v["value"], v["type"]) for v in shipped] == [(6, "Integer")]


def test_pycamunda_sees_errors_as_its_own_exceptions(live_server: Any) -> None:
    url = live_server.engine_rest
    with pytest.raises(pycamunda.Unauthorized):
        pycamunda.processdef.GetList(url=url)()  # no credentials
    with pytest.raises(pycamunda.NotFound):
        authed(pycamunda.processinst.Get(url=url, id_="00000000-0000-0000-0000-000000000000"), live_server)()
    start = authed(pycamunda.processdef.StartInstance(url=url, key="no-such-process"), live_server)
    with pytest.raises(pycamunda.NotFound):
        start()


# ------------------------------------------------------------------------------------------
# Authentication on the real server


BAD_CREDENTIALS = {"missing": None, "wrong-password": ("admin", "wrong-password"),
                   "unknown-user": ("nobody", "admin-secret"), "empty": ("", "")}


def test_bad_credentials_get_401_with_a_basic_challenge(live_server: Any) -> None:
    base = live_server.engine_rest
    admin = admin_of(live_server)
    for label, auth in BAD_CREDENTIALS.items():
        for method, path in [("GET", "/process-definition"), ("GET", "/engine"), ("POST", "/message"),
                             ("POST", "/deployment/create")]:
            response = requests.request(method, f"{base}{path}", auth=auth, json={} if method == "POST" else None,
                                        timeout=TIMEOUT)
            assert response.status_code == 401, (label, path, response.text)
            assert response.headers["WWW-Authenticate"].startswith("Basic"), (label, response.headers)
            assert_camunda_error(response.json(), 401, "AuthenticationException")
            assert admin[1] not in response.text
    # Nothing was created by the refused requests, and the right credentials work on the same server.
    assert get_json(session_for(live_server), f"{base}/deployment/count") == {"count": 0}


# ------------------------------------------------------------------------------------------
# `make run` runs `baton serve`


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_baton_serve_deploys_and_runs_the_shipped_process(tmp_path: Path) -> None:
    baton = Path(sys.executable).with_name("baton")
    if not baton.exists():
        pytest.skip(f"the baton command is not installed next to {sys.executable}")
    port = free_port()
    admin = ("operator", "serve-secret")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update({"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.sqlite3'}", "BATON_HOST": "127.0.0.1",
                "BATON_PORT": str(port), "BATON_ADMIN_USER": admin[0], "BATON_ADMIN_PASSWORD": admin[1],
                "BATON_PROCESSES_DIR": str(PROCESSES), "BATON_JOB_POLL_INTERVAL": "0.2"})
    log_path = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}/engine-rest"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(baton), "serve"], cwd=tmp_path, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            definition = None
            while time.monotonic() < deadline:
                assert process.poll() is None, f"baton serve exited: {log_path.read_text()[-3000:]}"
                try:
                    response = requests.get(f"{base}/process-definition/key/certificate-approval", auth=admin,
                                            timeout=2)
                    if response.status_code == 200:
                        definition = response.json()
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            assert definition is not None, f"not serving after 60 s: {log_path.read_text()[-3000:]}"
            assert definition["version"] == 1 and definition["versionTag"] == "1.0"
            assert definition["historyTimeToLive"] == 180
            assert definition["resource"] == "certificate-approval.bpmn"

            http = requests.Session()
            http.auth = admin
            started = http.post(f"{base}/process-definition/key/certificate-approval/start", json={
                "businessKey": "csr-42", "variables": {"subject": {"value": "CN=web01.example.com",
                                                                   "type": "String"}}}, timeout=TIMEOUT)
            assert started.status_code == 200, started.text
            instance_id = started.json()["id"]
            [task] = get_json(http, f"{base}/task", processInstanceId=instance_id)
            assert task["taskDefinitionKey"] == "ReviewRequest"
            done = http.post(f"{base}/task/{task['id']}/complete", json={
                "variables": {"approved": {"value": True, "type": "Boolean"}}}, timeout=TIMEOUT)
            assert done.status_code == 204, done.text
            historic = get_json(http, f"{base}/history/process-instance/{instance_id}")
            assert historic["state"] == "COMPLETED" and historic["businessKey"] == "csr-42"
            [status] = get_json(http, f"{base}/history/variable-instance", processInstanceId=instance_id,
                                variableName="status")
            assert (status["value"], status["type"]) == ("ready-for-issuance", "String")
            ended = get_json(http, f"{base}/history/activity-instance", processInstanceId=instance_id,
                             completeScope="true")
            assert [a["activityId"] for a in ended] == ["Issued"]
        finally:
            _stop(process)
    output = log_path.read_text()
    assert f"created admin user '{admin[0]}'" in output
    assert "deployed 1 new definition(s)" in output
    assert process.returncode is not None
