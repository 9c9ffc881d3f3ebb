"""Helpers shared by the end-to-end, corpus and hostile-input tests.

Kept out of ``conftest.py`` on purpose: several ``conftest.py`` files exist under ``tests/``, so
``from conftest import ...`` depends on collection order. Import these with
``from e2e_helpers import ...`` (``tests/`` is on ``sys.path`` because of its conftest).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PROCESSES = ROOT / "processes"
ER = "/engine-rest"

PARSE_PREFIX = "ENGINE-09005 Could not parse BPMN process. Errors: "
GENERIC_500 = "An unexpected error occurred; see the server log"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------
# Error bodies


def assert_camunda_error(body: Any, status: int, type_: str, message: str | None = None, *,
                         contains: str | None = None) -> None:
    """Camunda's error shape (contract 2.1): exactly type/message/code (+ details for parse errors)."""
    assert isinstance(body, dict), body
    allowed = {"type", "message", "code", "details"} if type_ == "ParseException" else {"type", "message", "code"}
    assert {"type", "message", "code"} <= set(body) <= allowed, body
    assert body["type"] == type_, body
    assert body["code"] == (None if status < 500 else 0), body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    if contains is not None:
        assert contains in body["message"], body
    assert "Traceback" not in body["message"] and 'File "' not in body["message"], body


def assert_parse_error(body: Any, resources: list[str] | tuple[str, ...], *, contains: str | None = None) -> dict:
    """A deployment refused with Camunda's ParseException shape (contract 6.3); returns errors[0]."""
    assert_camunda_error(body, 400, "ParseException")
    assert body["message"].startswith(PARSE_PREFIX), body["message"]
    details = body["details"]
    assert isinstance(details, dict) and len(details) >= 1, body
    resource = next(iter(details))
    assert resource in resources, (resource, resources)
    entry = details[resource]
    assert set(entry) == {"errors", "warnings"}, entry
    assert entry["warnings"] == []
    assert entry["errors"], entry
    for error in entry["errors"]:
        assert set(error) == {"message", "line", "column", "mainElementId", "elementIds"}, error
        assert isinstance(error["message"], str) and error["message"].strip(), error
        assert isinstance(error["line"], int) and not isinstance(error["line"], bool) and error["line"] >= 0
        assert isinstance(error["column"], int) and not isinstance(error["column"], bool) and error["column"] >= 0
        assert isinstance(error["elementIds"], list), error
        if error["mainElementId"] is None:
            assert error["elementIds"] == [], error
        else:
            assert isinstance(error["mainElementId"], str), error
            assert error["elementIds"] == [error["mainElementId"]], error
    first = entry["errors"][0]
    # The top-level message carries the first problem's text after Camunda's prefix.
    assert first["message"] in body["message"], (first, body["message"])
    if contains is not None:
        assert contains in first["message"], first
    return first


# ------------------------------------------------------------------------------------------
# Variables that must come back exactly as sent (contract 4.1-4.4).

TYPED_VARIABLES: dict[str, dict[str, Any]] = {
    "customer": {"value": "ACME Grüße ✓", "type": "String"},
    "quantity": {"value": 42, "type": "Integer"},
    "orderNumber": {"value": 2**40 + 7, "type": "Long"},
    "smallLong": {"value": 5, "type": "Long"},  # stays Long, not Integer
    "price": {"value": 3.25, "type": "Double"},
    "express": {"value": True, "type": "Boolean"},
    "items": {"value": '{"lines":[{"sku":"A-1","qty":2},{"sku":"B-2","qty":0.5}],"note":"Ünïcode","gift":null}',
              "type": "Json"},
    "nothing": {"value": None, "type": "Null"},
}
#: A Date variable, tested on its own: a datetime in task data must survive every save at a wait state.
DATE_VARIABLE: dict[str, dict[str, Any]] = {"due": {"value": "2024-05-01T12:30:00.123+0000", "type": "Date"}}


def rendered(variables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """How Baton answers a variable map it was given: every value object with ``valueInfo: {}``."""
    return {name: {"value": v["value"], "type": v["type"], "valueInfo": {}} for name, v in variables.items()}


# ------------------------------------------------------------------------------------------
# An order process: user task, JUEL gateway, message catch, script, two end events.

ORDER_ACTIVITIES = ["start", "review", "approvedGateway", "waitPayment", "ship", "shipped"]


def order_model(key: str = "e2e-order") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_order" targetNamespace="http://baton.example/e2e">
  <bpmn:message id="Message_payment" name="payment-received" />
  <bpmn:process id="{key}" name="E2E order" isExecutable="true">
    <bpmn:startEvent id="start" name="Order placed" />
    <bpmn:userTask id="review" name="Review order" />
    <bpmn:exclusiveGateway id="approvedGateway" name="Approved?" default="toRejected" />
    <bpmn:intermediateCatchEvent id="waitPayment" name="Payment received">
      <bpmn:messageEventDefinition messageRef="Message_payment" />
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="ship" name="Ship" scriptFormat="python">
      <bpmn:script>shipped = True
shippedQuantity = quantity * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="shipped" name="Shipped" />
    <bpmn:endEvent id="rejected" name="Rejected" />
    <bpmn:sequenceFlow id="toReview" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="toGateway" sourceRef="review" targetRef="approvedGateway" />
    <bpmn:sequenceFlow id="toPayment" sourceRef="approvedGateway" targetRef="waitPayment">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{approved}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="toRejected" sourceRef="approvedGateway" targetRef="rejected" />
    <bpmn:sequenceFlow id="toShip" sourceRef="waitPayment" targetRef="ship" />
    <bpmn:sequenceFlow id="toShipped" sourceRef="ship" targetRef="shipped" />
  </bpmn:process>
</bpmn:definitions>
"""
