"""Compiling step lists to BPMN: deployable, complete diagram, documented ids."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from lxml import etree

from app.engine.bpmn_parser import schema_errors
from app.engine.keyfactor.catalog import StepValidationError
from app.engine.keyfactor.compiler import compile_definition, python_string_literal, step_activity_id
from app.engine.parsing import load_process, parse_deployment

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "scriptTask", "userTask", "exclusiveGateway")

STEPS: list[dict[str, Any]] = [
    {"UniqueName": "StartNOOP", "ExtensionName": "NOOPStep", "Outputs": {"continue": "Approve"}},
    {"UniqueName": "Approve", "DisplayName": "Approve it", "ExtensionName": "RequireApproval",
     "Signals": [{"SignalName": "ApprovalStatus", "RoleIds": [1]}], "Conditions": [{"Value": "$(metadata:Go)"}],
     "Outputs": {"continue": "Mail"}},
    {"UniqueName": "Mail", "ExtensionName": "Email", "Enabled": False,
     "ConfigurationParameters": {"Subject": "s", "Message": "m", "Recipients": ["a@example.com"]},
     "Outputs": {"continue": "Second approval"}},
    {"UniqueName": "Second approval", "ExtensionName": "RequireApproval",
     "Signals": [{"SignalName": "ApprovalStatus", "RoleIds": [2]}], "Outputs": {"continue": "EndNOOP"}},
    {"UniqueName": "EndNOOP", "ExtensionName": "NOOPStep"},
]


def compiled(steps: list[dict[str, Any]] = STEPS, workflow_type: str = "Enrollment",
             key: str = "Keyfactor_abc") -> tuple[bytes, etree._Element]:
    xml = compile_definition(key, "Web server enrollment", workflow_type, steps)
    return xml, etree.fromstring(xml)


def test_compiled_xml_deploys_and_validates_against_the_xsd() -> None:
    xml, root = compiled()
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    parsed = parse_deployment({"Keyfactor_abc.bpmn": xml})
    (model,) = parsed.processes
    assert model.key == "Keyfactor_abc" and model.name == "Web server enrollment" and model.has_none_start_event
    assert schema_errors(root) == []
    processes = root.findall("bpmn:process", NS)
    assert len(processes) == 1 and processes[0].get("isExecutable") == "true"


def test_diagram_covers_every_node_and_flow() -> None:
    _, root = compiled()
    process = root.find("bpmn:process", NS)
    nodes = [el.get("id") for tag in FLOW_NODES for el in process.findall(f"bpmn:{tag}", NS)]
    flows = [el.get("id") for el in process.findall("bpmn:sequenceFlow", NS)]
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == "Keyfactor_abc"
    shapes = {s.get("bpmnElement"): s for s in plane.findall("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.findall("bpmndi:BPMNEdge", NS)}
    assert sorted(shapes) == sorted(nodes)
    assert sorted(edges) == sorted(flows)
    for shape in shapes.values():
        bounds = shape.find("dc:Bounds", NS)
        assert float(bounds.get("width")) > 0 and float(bounds.get("height")) > 0
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", NS)) >= 2
    xs = [float(shapes[n].find("dc:Bounds", NS).get("x")) for n in ("kf_start", "Step_StartNOOP", "Complete")]
    assert xs == sorted(xs)  # left to right


def test_element_mapping() -> None:
    _, root = compiled()
    process = root.find("bpmn:process", NS)
    by_id = {el.get("id"): el for el in process}

    def tag(element_id: str) -> str:
        return etree.QName(by_id[element_id]).localname

    assert tag("kf_start") == "startEvent" and tag("Complete") == "endEvent"
    assert tag("kf_rejected") == "endEvent"
    assert by_id["kf_rejected"].find("bpmn:terminateEventDefinition", NS) is not None
    assert tag("Step_StartNOOP") == "scriptTask"
    assert by_id["Step_StartNOOP"].findtext("bpmn:script", namespaces=NS) == 'kf_step("StartNOOP")'
    approve = by_id["Step_Approve"]
    assert tag("Step_Approve") == "userTask" and approve.get("name") == "Approve it"
    assert json.loads(approve.findtext("bpmn:documentation", namespaces=NS))["UniqueName"] == "Approve"
    second = step_activity_id("Second approval")
    assert second == "Step_Second.20.approval" and tag(second) == "userTask"
    # gates only for the conditional and the disabled step
    gates = sorted(i for i in by_id if i.startswith("kf_gate_"))
    assert gates == ["kf_gate_Step_Approve", "kf_gate_Step_Mail"]
    assert {"kf_join_Step_Approve", "kf_join_Step_Mail", "kf_approval_Step_Approve",
            f"kf_approval_{second}"} <= set(by_id)
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", NS)}
    gate = by_id["kf_gate_Step_Approve"]
    conditional = [f for f in flows.values() if f.get("sourceRef") == gate.get("id") and f.get("id") != gate.get(
        "default")]
    assert conditional[0].findtext("bpmn:conditionExpression", namespaces=NS) == 'kf_should_run("Approve")'
    assert conditional[0].get("targetRef") == "Step_Approve"
    decision = by_id["kf_approval_Step_Approve"]
    assert flows[decision.get("default")].get("targetRef") == "kf_rejected"
    approved = [f for f in flows.values() if f.get("sourceRef") == decision.get("id") and f is not flows[
        decision.get("default")]]
    assert approved[0].findtext("bpmn:conditionExpression", namespaces=NS) == "kf_approved == True"
    # the implicit EnrollStep comes last, before Complete
    assert tag("Step_EnrollStep") == "scriptTask"
    into_complete = [f for f in flows.values() if f.get("targetRef") == "Complete"]
    assert [f.get("sourceRef") for f in into_complete] == ["Step_EnrollStep"]


def test_spec_keeps_the_step_configuration() -> None:
    xml, _ = compiled()
    spec, _ = load_process({"k.bpmn": xml}, "Keyfactor_abc")
    step = json.loads(spec.task_specs["Step_Mail"].documentation)
    assert step["ExtensionName"] == "Email" and step["Enabled"] is False
    assert step["ConfigurationParameters"]["Recipients"] == ["a@example.com"]


def test_no_rejection_end_without_approvals() -> None:
    _, root = compiled([{"UniqueName": "Only", "ExtensionName": "NOOPStep"}], "Expiration")
    ids = {el.get("id") for el in root.find("bpmn:process", NS)}
    assert "kf_rejected" not in ids and "Step_EnrollStep" not in ids
    assert {"kf_start", "Step_Only", "Complete"} <= ids


def test_empty_definition_compiles() -> None:
    xml, root = compiled([], "CertificateLeftCollection")
    parse_deployment({"k.bpmn": xml})
    tags = [etree.QName(el).localname for el in root.find("bpmn:process", NS)]
    assert tags == ["startEvent", "endEvent", "sequenceFlow"]


@pytest.mark.parametrize("name", ["a b", "a_b", "x\"y'z", "Ümlaut", "tab\there", "back\\slash", "emoji 😀",
                                  "ctl\x01", "1starts-with-digit"])
def test_unusual_unique_names(name: str) -> None:
    steps = [{"UniqueName": name, "ExtensionName": "NOOPStep", "DisplayName": name,
              "Conditions": [{"Value": "true"}]}]
    xml, root = compiled(steps, "Expiration")
    parse_deployment({"k.bpmn": xml})
    activity = root.find(f"bpmn:process/bpmn:scriptTask[@id='{step_activity_id(name)}']", NS)
    assert activity is not None
    call = ast.parse(activity.findtext("bpmn:script", namespaces=NS), mode="eval").body
    assert call.func.id == "kf_step" and call.args[0].value == name


def test_step_activity_ids_are_distinct() -> None:
    names = ["a b", "a_b", "a.20.b", "a-b", "A b", "a\u00a0b"]
    ids = [step_activity_id(n) for n in names]
    assert len(set(ids)) == len(ids)
    assert step_activity_id("RequireApproval1") == "Step_RequireApproval1"


def test_python_string_literal_round_trips() -> None:
    for text in ["plain", 'q"uote', "back\\", "new\nline", "\u2028", "😀", "\x00"]:
        assert ast.literal_eval(python_string_literal(text)) == text


@pytest.mark.parametrize("key", ["", "1abc", "has space", "kf_start", "Step_x", "Complete", "Flow_1", "a:b"])
def test_bad_process_keys(key: str) -> None:
    with pytest.raises(ValueError):
        compile_definition(key, "n", "Expiration", [])


def test_invalid_steps_are_refused() -> None:
    with pytest.raises(StepValidationError):
        compile_definition("Keyfactor_x", "n", "Expiration", [{"UniqueName": "P", "ExtensionName": "PowerShell"}])
