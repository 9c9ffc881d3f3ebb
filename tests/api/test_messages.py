"""POST /message and POST /signal (contract 10.1, 11.1, 18.1)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ADMIN

MISMATCH = "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message"

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">\n')


def bpmn(body: str, *, messages: tuple[str, ...] = (), signals: tuple[str, ...] = ()) -> str:
    refs = "".join(f'<bpmn:message id="Message_{n}" name="{n}" />\n' for n in messages)
    refs += "".join(f'<bpmn:signal id="Signal_{n}" name="{n}" />\n' for n in signals)
    return f"{_HEAD}{refs}{body}\n</bpmn:definitions>\n"


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


CATCH = bpmn(
    '<bpmn:process id="catcher" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:intermediateCatchEvent id="waitPayment"><bpmn:messageEventDefinition messageRef="Message_payment" />'
    '</bpmn:intermediateCatchEvent><bpmn:userTask id="afterPayment" /><bpmn:endEvent id="end" />'
    + flows(("start", "waitPayment"), ("waitPayment", "afterPayment"), ("afterPayment", "end"))
    + "</bpmn:process>", messages=("payment",))

RECEIVE = bpmn(
    '<bpmn:process id="receiver" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:receiveTask id="receiveOrder" messageRef="Message_orderReady" />'
    '<bpmn:userTask id="ship" /><bpmn:endEvent id="end" />'
    + flows(("start", "receiveOrder"), ("receiveOrder", "ship"), ("ship", "end"))
    + "</bpmn:process>", messages=("orderReady",))

MESSAGE_START = bpmn(
    '<bpmn:process id="starter" isExecutable="true">'
    '<bpmn:startEvent id="byMessage"><bpmn:messageEventDefinition messageRef="Message_newOrder" />'
    '</bpmn:startEvent><bpmn:userTask id="handle" /><bpmn:endEvent id="end" />'
    + flows(("byMessage", "handle"), ("handle", "end"))
    + "</bpmn:process>", messages=("newOrder",))

# A none start event and a message start event in one process.
TWO_STARTS = bpmn(
    '<bpmn:process id="twoStarts" isExecutable="true"><bpmn:startEvent id="plain" />'
    '<bpmn:startEvent id="byMessage"><bpmn:messageEventDefinition messageRef="Message_kick" />'
    '</bpmn:startEvent><bpmn:userTask id="fromPlain" /><bpmn:userTask id="fromMessage" />'
    '<bpmn:endEvent id="end1" /><bpmn:endEvent id="end2" />'
    + flows(("plain", "fromPlain"), ("fromPlain", "end1"), ("byMessage", "fromMessage"), ("fromMessage", "end2"))
    + "</bpmn:process>", messages=("kick",))

BOUNDARY = bpmn(
    '<bpmn:process id="reviewer" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:userTask id="review" /><bpmn:endEvent id="done" />'
    '<bpmn:boundaryEvent id="cancelled" attachedToRef="review">'
    '<bpmn:messageEventDefinition messageRef="Message_cancel" /></bpmn:boundaryEvent>'
    '<bpmn:userTask id="cleanUp" /><bpmn:endEvent id="aborted" />'
    + flows(("start", "review"), ("review", "done"), ("cancelled", "cleanUp"), ("cleanUp", "aborted"))
    + "</bpmn:process>", messages=("cancel",))

SIGNAL_CATCH = bpmn(
    '<bpmn:process id="signalWaiter" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:intermediateCatchEvent id="waitAlarm"><bpmn:signalEventDefinition signalRef="Signal_alarm" />'
    '</bpmn:intermediateCatchEvent><bpmn:userTask id="react" /><bpmn:endEvent id="end" />'
    + flows(("start", "waitAlarm"), ("waitAlarm", "react"), ("react", "end"))
    + "</bpmn:process>", signals=("alarm",))

SIGNAL_START = bpmn(
    '<bpmn:process id="signalStarted" isExecutable="true">'
    '<bpmn:startEvent id="onAlarm"><bpmn:signalEventDefinition signalRef="Signal_alarm" /></bpmn:startEvent>'
    '<bpmn:userTask id="investigate" /><bpmn:endEvent id="end" />'
    + flows(("onAlarm", "investigate"), ("investigate", "end"))
    + "</bpmn:process>", signals=("alarm",))


# The catch event leads straight to the end.
CATCH_THEN_END = bpmn(
    '<bpmn:process id="lastStep" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:intermediateCatchEvent id="waitDone"><bpmn:messageEventDefinition messageRef="Message_done" />'
    '</bpmn:intermediateCatchEvent><bpmn:endEvent id="end" />'
    + flows(("start", "waitDone"), ("waitDone", "end"))
    + "</bpmn:process>", messages=("done",))


def message(client: Any, **body: Any) -> Any:
    return client.post("/engine-rest/message", json=body)


def tasks_of(client: Any, instance_id: str) -> list[str]:
    response = client.get(f"/engine-rest/task?processInstanceId={instance_id}")
    assert response.status_code == 200, response.get_json()
    return sorted(t["taskDefinitionKey"] for t in response.get_json())


def variables_of(client: Any, instance_id: str) -> dict[str, Any]:
    response = client.get(f"/engine-rest/process-instance/{instance_id}/variables")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def instances_of(client: Any, key: str) -> list[dict[str, Any]]:
    response = client.get(f"/engine-rest/process-instance?processDefinitionKey={key}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_mismatch(response: Any, name: str) -> str:
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["type"] == "RestException"
    assert body["message"].startswith(f"{MISMATCH} '{name}': ")
    return body["message"]


# ------------------------------------------------------------------------------------------
# Intermediate catch events and receive tasks


def test_catch_event_by_business_key_sets_typed_variables_first(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    first = client.start("catcher", business_key="order-1")
    other = client.start("catcher", business_key="order-2")
    assert tasks_of(client, first["id"]) == []

    response = message(client, messageName="payment", businessKey="order-1",
                       processVariables={"amount": {"value": 5, "type": "Long"},
                                         "paid": {"value": True, "type": None, "valueInfo": None}})
    assert response.status_code == 204, response.get_json()
    assert response.data == b""

    assert tasks_of(client, first["id"]) == ["afterPayment"]
    assert tasks_of(client, other["id"]) == []
    variables = variables_of(client, first["id"])
    assert variables["amount"] == {"value": 5, "type": "Long", "valueInfo": {}}
    assert variables["paid"] == {"value": True, "type": "Boolean", "valueInfo": {}}
    assert "amount" not in variables_of(client, other["id"])


def test_receive_task_by_process_instance_id(client: Any) -> None:
    client.deploy_ok({"receive.bpmn": RECEIVE})
    first = client.start("receiver")
    second = client.start("receiver")

    response = message(client, messageName="orderReady", processInstanceId=second["id"], resultEnabled=True)
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["resultType"] == "Execution"
    assert result["processInstance"] is None
    assert result["execution"]["processInstanceId"] == second["id"]
    assert set(result["execution"]) == {"id", "processInstanceId", "ended", "tenantId"}
    assert result["execution"]["ended"] is False
    assert "variables" not in result
    assert tasks_of(client, second["id"]) == ["ship"]
    assert tasks_of(client, first["id"]) == []


def test_correlation_keys_match_typed_values(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    seven = client.start("catcher", variables={"orderId": {"value": 7, "type": "Long"},
                                               "customer": {"value": "ACME"}})
    eight = client.start("catcher", variables={"orderId": {"value": 8, "type": "Long"},
                                               "customer": {"value": "ACME"}})

    # A key with another explicit type does not match the Long variable.
    assert_mismatch(message(client, messageName="payment",
                            correlationKeys={"orderId": {"value": 7, "type": "Integer"}}), "payment")
    # Both instances share the customer: two executions for a single correlation.
    text = assert_mismatch(message(client, messageName="payment",
                                   correlationKeys={"customer": {"value": "ACME", "type": "String"}}), "payment")
    assert "2 executions match" in text

    response = message(client, messageName="payment", resultEnabled=True,
                       correlationKeys={"orderId": {"value": 7, "type": "Long"},
                                        "customer": {"value": "ACME", "type": None}})
    assert response.status_code == 200, response.get_json()
    assert [r["execution"]["processInstanceId"] for r in response.get_json()] == [seven["id"]]
    # Without a type, numbers match by value (pycamunda sends keys without a type).
    response = message(client, messageName="payment", correlationKeys={"orderId": {"value": 8}},
                       localCorrelationKeys={})
    assert response.status_code == 204, response.get_json()
    assert tasks_of(client, seven["id"]) == ["afterPayment"]
    assert tasks_of(client, eight["id"]) == ["afterPayment"]


def test_local_correlation_keys_match_process_variables(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    a = client.start("catcher", variables={"region": {"value": "north"}})
    client.start("catcher", variables={"region": {"value": "south"}})
    response = message(client, messageName="payment", localCorrelationKeys={"region": {"value": "north"}})
    assert response.status_code == 204, response.get_json()
    assert tasks_of(client, a["id"]) == ["afterPayment"]


def test_no_match_and_several_matches_are_400(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    text = assert_mismatch(message(client, messageName="payment"), "payment")
    assert text == f"{MISMATCH} 'payment': No process definition or execution matches the parameters"

    client.start("catcher", business_key="same")
    client.start("catcher", business_key="same")
    assert_mismatch(message(client, messageName="payment", businessKey="other"), "payment")
    assert_mismatch(message(client, messageName="nobody-waits"), "nobody-waits")
    text = assert_mismatch(message(client, messageName="payment", businessKey="same"), "payment")
    assert "2 executions match the correlation keys" in text
    # Nothing moved.
    assert all(tasks_of(client, i["id"]) == [] for i in instances_of(client, "catcher"))


def test_all_hits_every_waiting_execution_and_zero_is_fine(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    response = message(client, messageName="payment", all=True)
    assert response.status_code == 204, response.get_json()
    assert message(client, messageName="payment", all=True, resultEnabled=True).get_json() == []

    ids = [client.start("catcher", business_key="batch")["id"] for _ in range(3)]
    untouched = client.start("catcher", business_key="elsewhere")["id"]
    response = message(client, messageName="payment", all=True, businessKey="batch", resultEnabled=True,
                       variablesInResultEnabled=True, processVariables={"note": {"value": "paid"}})
    assert response.status_code == 200, response.get_json()
    results = response.get_json()
    assert sorted(r["execution"]["processInstanceId"] for r in results) == sorted(ids)
    for result in results:
        assert result["variables"]["note"] == {"value": "paid", "type": "String", "valueInfo": {}}
    assert all(tasks_of(client, i) == ["afterPayment"] for i in ids)
    assert tasks_of(client, untouched) == []


def test_result_of_an_execution_that_ends_the_instance(client: Any) -> None:
    client.deploy_ok({"end.bpmn": CATCH_THEN_END})
    instance = client.start("lastStep", business_key="fin")
    response = message(client, messageName="done", businessKey="fin", resultEnabled=True,
                       variablesInResultEnabled=True, processVariablesLocal={"local": {"value": 1}},
                       processVariables={"global": {"value": "g"}})
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["execution"]["ended"] is True
    # Local variables travel with the token: Baton has no separate activity scopes.
    assert result["variables"] == {"global": {"value": "g", "type": "String", "valueInfo": {}},
                                   "local": {"value": 1, "type": "Integer", "valueInfo": {}}}
    assert client.get(f"/engine-rest/process-instance/{instance['id']}").status_code == 404


def test_suspended_instance_is_not_a_target(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    instance = client.start("catcher", business_key="s")
    response = client.put(f"/engine-rest/process-instance/{instance['id']}/suspended", json={"suspended": True})
    assert response.status_code == 204
    assert_mismatch(message(client, messageName="payment", businessKey="s"), "payment")
    client.put(f"/engine-rest/process-instance/{instance['id']}/suspended", json={"suspended": False})
    assert message(client, messageName="payment", businessKey="s").status_code == 204


# ------------------------------------------------------------------------------------------
# Message start events


def test_message_start_event_creates_instance_with_business_key(client: Any) -> None:
    client.deploy_ok({"start.bpmn": MESSAGE_START})
    response = message(client, messageName="newOrder", businessKey="bk-7", resultEnabled=True,
                       variablesInResultEnabled=True,
                       processVariables={"qty": {"value": 3, "type": "Long"}})
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["resultType"] == "ProcessDefinition"
    assert result["execution"] is None
    instance = result["processInstance"]
    assert set(instance) == {"links", "id", "definitionId", "definitionKey", "businessKey", "caseInstanceId",
                             "ended", "suspended", "tenantId"}
    assert instance["businessKey"] == "bk-7"
    assert instance["definitionKey"] == "starter"
    assert instance["ended"] is False and instance["suspended"] is False
    assert result["variables"] == {"qty": {"value": 3, "type": "Long", "valueInfo": {}}}

    assert tasks_of(client, instance["id"]) == ["handle"]
    assert variables_of(client, instance["id"])["qty"]["type"] == "Long"
    history = client.get(f"/engine-rest/history/process-instance/{instance['id']}")
    assert history.status_code == 200, history.get_json()
    assert history.get_json()["startActivityId"] == "byMessage"


def test_message_start_event_of_latest_version_only(client: Any) -> None:
    client.deploy_ok({"start.bpmn": MESSAGE_START})
    second = client.deploy_ok({"start.bpmn": MESSAGE_START.replace("handle", "handle2")}, name="v2")
    response = message(client, messageName="newOrder", resultEnabled=True)
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    definition_ids = [d["id"] for d in (second["deployedProcessDefinitions"] or {}).values()]
    assert result["processInstance"]["definitionId"] in definition_ids
    assert tasks_of(client, result["processInstance"]["id"]) == ["handle2"]


def test_message_start_next_to_a_none_start_event(client: Any) -> None:
    client.deploy_ok({"two.bpmn": TWO_STARTS})
    plain = client.start("twoStarts")
    assert tasks_of(client, plain["id"]) == ["fromPlain"]
    response = message(client, messageName="kick", resultEnabled=True)
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    new_id = result["processInstance"]["id"]
    assert tasks_of(client, new_id) == ["fromMessage"]
    # The none start event never ran in the message-started instance.
    history = client.get(f"/engine-rest/history/activity-instance?processInstanceId={new_id}")
    assert sorted(a["activityId"] for a in history.get_json()) == ["byMessage", "fromMessage"]


def test_message_start_not_used_with_process_instance_id(client: Any) -> None:
    client.deploy_ok({"start.bpmn": MESSAGE_START})
    response = message(client, messageName="newOrder", processInstanceId="00000000-0000-0000-0000-000000000000")
    assert_mismatch(response, "newOrder")
    assert instances_of(client, "starter") == []


# ------------------------------------------------------------------------------------------
# Boundary events


def test_boundary_message_interrupts_user_task(client: Any) -> None:
    client.deploy_ok({"boundary.bpmn": BOUNDARY})
    instance = client.start("reviewer", business_key="r-1")
    assert tasks_of(client, instance["id"]) == ["review"]
    response = message(client, messageName="cancel", businessKey="r-1", resultEnabled=True)
    assert response.status_code == 200, response.get_json()
    assert tasks_of(client, instance["id"]) == ["cleanUp"]
    # The interrupted task's subscription is gone with it: a second cancel finds nobody.
    assert_mismatch(message(client, messageName="cancel", businessKey="r-1"), "cancel")


# ------------------------------------------------------------------------------------------
# Request validation


@pytest.mark.parametrize(("body", "text"), [
    ({}, "No message name supplied"),
    ({"messageName": None, "all": True}, "No message name supplied"),
    ({"messageName": "m", "tenantId": "t", "withoutTenantId": True},
     "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'."),
    ({"messageName": "m", "variablesInResultEnabled": True},
     "Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' set to true."),
])
def test_message_request_errors(client: Any, body: dict[str, Any], text: str) -> None:
    response = client.post("/engine-rest/message", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"type": "InvalidRequestException", "message": text, "code": None}


def test_bad_process_variable_is_400(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    client.start("catcher")
    response = message(client, messageName="payment", processVariables={"n": {"value": "x", "type": "Integer"}})
    assert response.status_code == 400
    assert "java.lang.Integer" in response.get_json()["message"]


def test_tenant_restriction(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": CATCH})
    client.start("catcher")
    assert_mismatch(message(client, messageName="payment", tenantId="acme"), "payment")
    assert message(client, messageName="payment", withoutTenantId=True).status_code == 204


# ------------------------------------------------------------------------------------------
# Signals


def test_signal_reaches_every_waiting_instance_and_starts_definitions(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": SIGNAL_CATCH, "start.bpmn": SIGNAL_START})
    a = client.start("signalWaiter")
    b = client.start("signalWaiter")
    response = client.post("/engine-rest/signal", json={"name": "alarm",
                                                        "variables": {"level": {"value": 3, "type": "Long"}}})
    assert response.status_code == 204, response.get_json()
    for instance in (a, b):
        assert tasks_of(client, instance["id"]) == ["react"]
        assert variables_of(client, instance["id"])["level"] == {"value": 3, "type": "Long", "valueInfo": {}}
    [started] = instances_of(client, "signalStarted")
    assert tasks_of(client, started["id"]) == ["investigate"]
    assert variables_of(client, started["id"])["level"]["type"] == "Long"

    # Nobody waiting is not an error; the start event starts another instance.
    assert client.post("/engine-rest/signal", json={"name": "alarm"}).status_code == 204
    assert len(instances_of(client, "signalStarted")) == 2
    assert client.post("/engine-rest/signal", json={"name": "unheard"}).status_code == 204


def test_signal_to_one_execution(client: Any) -> None:
    client.deploy_ok({"catch.bpmn": SIGNAL_CATCH})
    a = client.start("signalWaiter")
    b = client.start("signalWaiter")
    executions = client.get(f"/engine-rest/history/activity-instance?processInstanceId={b['id']}"
                            "&activityId=waitAlarm")
    assert executions.status_code == 200, executions.get_json()
    [waiting] = executions.get_json()
    execution_id = waiting["executionId"]
    response = client.post("/engine-rest/signal", json={"name": "alarm", "executionId": execution_id})
    assert response.status_code == 204, response.get_json()
    assert tasks_of(client, b["id"]) == ["react"]
    assert tasks_of(client, a["id"]) == []

    # The execution no longer waits; an unknown one does not exist: both 500 as in Camunda.
    assert client.post("/engine-rest/signal", json={"name": "alarm", "executionId": execution_id}).status_code == 500
    response = client.post("/engine-rest/signal", json={"name": "alarm", "executionId": "nope"})
    assert response.status_code == 500
    assert "nope" in response.get_json()["message"]


@pytest.mark.parametrize(("body", "text"), [
    ({}, "No signal name given"),
    ({"name": "alarm", "executionId": "x", "tenantId": "t"}, None),
    ({"name": "alarm", "executionId": "x", "withoutTenantId": True}, None),
])
def test_signal_request_errors(client: Any, body: dict[str, Any], text: str | None) -> None:
    response = client.post("/engine-rest/signal", json=body)
    assert response.status_code == 400
    assert response.get_json()["type"] == "InvalidRequestException"
    if text is not None:
        assert response.get_json()["message"] == text


# ------------------------------------------------------------------------------------------
# A real client against a real server


@pytest.mark.server
def test_pycamunda_correlates_against_live_server(live_server: Any) -> None:
    import pycamunda.message
    import requests

    base = live_server.engine_rest
    files = {"resource-0": ("catch.bpmn", CATCH.encode())}
    deployed = requests.post(f"{base}/deployment/create", auth=ADMIN, files=files,
                             data={"deployment-name": "pycamunda"}, timeout=10)
    assert deployed.status_code == 200, deployed.text
    started = requests.post(f"{base}/process-definition/key/catcher/start", auth=ADMIN, timeout=10,
                            json={"businessKey": "py-1", "variables": {}})
    assert started.status_code == 200, started.text
    instance_id = started.json()["id"]

    correlate = pycamunda.message.CorrelateSingle(url=base, message_name="payment", business_key="py-1",
                                                  result_enabled=True)
    correlate.auth = requests.auth.HTTPBasicAuth(*ADMIN)
    correlate.add_process_variable("approved", True)
    [result] = correlate()
    assert result.result_type == pycamunda.message.ResultType.execution
    assert result.execution.process_instance_id == instance_id

    tasks = requests.get(f"{base}/task", params={"processInstanceId": instance_id}, auth=ADMIN, timeout=10)
    assert [t["taskDefinitionKey"] for t in tasks.json()] == ["afterPayment"]
    variables = requests.get(f"{base}/process-instance/{instance_id}/variables", auth=ADMIN, timeout=10).json()
    assert variables["approved"]["value"] is True

    again = pycamunda.message.CorrelateSingle(url=base, message_name="payment", business_key="py-1",
                                              result_enabled=True)
    again.auth = requests.auth.HTTPBasicAuth(*ADMIN)
    with pytest.raises(pycamunda.BadRequest):
        again()


@pytest.mark.server
def test_concurrent_single_correlations_deliver_once(live_server: Any) -> None:
    """Racing correlations to one waiting execution: one wins, the others find nobody (no 5xx)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    base = live_server.engine_rest
    files = {"resource-0": ("catch.bpmn", CATCH.encode())}
    assert requests.post(f"{base}/deployment/create", auth=ADMIN, files=files, timeout=10).status_code == 200
    started = requests.post(f"{base}/process-definition/key/catcher/start", auth=ADMIN, timeout=10,
                            json={"businessKey": "race"})
    assert started.status_code == 200, started.text

    def correlate(_: int) -> int:
        return requests.post(f"{base}/message", auth=ADMIN, timeout=30,
                             json={"messageName": "payment", "businessKey": "race"}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(correlate, range(6)))
    assert sorted(statuses) == [204] + [400] * 5, statuses
    tasks = requests.get(f"{base}/task", params={"processInstanceId": started.json()["id"]}, auth=ADMIN,
                         timeout=10).json()
    assert [t["taskDefinitionKey"] for t in tasks] == ["afterPayment"]


# ------------------------------------------------------------------------------------------
# Event subprocesses started by a message or a signal (BPMN 10.3.6)


def _event_subprocess_model(key: str, start_definition: str, interrupting: bool) -> str:
    return bpmn(
        f'<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="start" />'
        '<bpmn:userTask id="work" /><bpmn:endEvent id="end" />'
        + flows(("start", "work"), ("work", "end"))
        + '<bpmn:subProcess id="handler" triggeredByEvent="true">'
        f'<bpmn:startEvent id="handlerStart" isInterrupting="{str(interrupting).lower()}">{start_definition}'
        '</bpmn:startEvent><bpmn:userTask id="handle" /><bpmn:endEvent id="handlerEnd" />'
        + flows(("handlerStart", "handle"), ("handle", "handlerEnd"))
        + "</bpmn:subProcess></bpmn:process>", messages=("escalate",), signals=("halt",))


def test_message_starts_a_non_interrupting_event_subprocess(client: Any) -> None:
    model = _event_subprocess_model("escalating", '<bpmn:messageEventDefinition messageRef="Message_escalate" />',
                                    interrupting=False)
    client.deploy_ok({"escalating.bpmn": model})
    instance = client.start("escalating", business_key="e-1")
    other = client.start("escalating", business_key="e-2")
    response = message(client, messageName="escalate", businessKey="e-1",
                       processVariables={"why": {"value": "late", "type": "String"}})
    assert response.status_code == 204, response.get_json()
    assert tasks_of(client, instance["id"]) == ["handle", "work"]  # the main flow goes on
    assert tasks_of(client, other["id"]) == ["work"]
    assert variables_of(client, instance["id"])["why"]["value"] == "late"
    # Non-interrupting: it can start again while the process runs.
    assert message(client, messageName="escalate", businessKey="e-1").status_code == 204
    assert tasks_of(client, instance["id"]) == ["handle", "handle", "work"]
    for task in client.get(f"/engine-rest/task?processInstanceId={instance['id']}").get_json():
        assert client.post(f"/engine-rest/task/{task['id']}/complete", json={}).status_code == 204
    history = client.get(f"/engine-rest/history/process-instance/{instance['id']}").get_json()
    assert history["state"] == "COMPLETED"
    # An ended instance no longer subscribes.
    assert_mismatch(message(client, messageName="escalate", businessKey="e-1"), "escalate")


def test_signal_starts_an_interrupting_event_subprocess(client: Any) -> None:
    model = _event_subprocess_model("haltable", '<bpmn:signalEventDefinition signalRef="Signal_halt" />',
                                    interrupting=True)
    client.deploy_ok({"haltable.bpmn": model})
    instance = client.start("haltable")
    assert client.post("/engine-rest/signal", json={"name": "halt"}).status_code == 204
    assert tasks_of(client, instance["id"]) == ["handle"]  # the main flow's task was interrupted
    activities = client.get(f"/engine-rest/history/activity-instance?processInstanceId={instance['id']}"
                            "&activityId=work").get_json()
    assert [a["canceled"] for a in activities] == [True]
    # Interrupting: once started it does not start again.
    assert client.post("/engine-rest/signal", json={"name": "halt"}).status_code == 204
    assert tasks_of(client, instance["id"]) == ["handle"]
    [task] = client.get(f"/engine-rest/task?processInstanceId={instance['id']}").get_json()
    assert client.post(f"/engine-rest/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"/engine-rest/history/process-instance/{instance['id']}").get_json()["state"] == "COMPLETED"
