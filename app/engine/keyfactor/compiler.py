"""Compile a Keyfactor step list into one executable BPMN 2.0 process with a diagram.

``compile_definition(process_key, name, workflow_type, steps)`` validates ``steps`` (contract 7.5),
puts them in run order and appends the implicit ``EnrollStep``/``RevokeStep`` (contract 7.4, see
:func:`.validation.executable_steps`), then emits UTF-8 XML that deploys through
``app.engine.parsing.parse_deployment`` and runs with :func:`.engine.make_keyfactor_script_engine`.

The mapping (ids are stable for the same step list; K2 relies on them):

* ``kf_start`` — the none start event (``Start``); ``Complete`` — the none end event after the
  last step; ``kf_rejected`` — a *terminate* end event (``Rejected``), present only when the
  definition has a ``RequireApproval`` step: every denial ends there and nothing else runs.
* Each step's main activity has the id :func:`step_activity_id` (``Step_`` + UniqueName with
  every character outside ``[A-Za-z0-9_-]`` written as ``.<hex code>.``; unique because
  UniqueNames are and never contain ``.``) and the step's DisplayName as ``name``. Its
  ``bpmn:documentation`` holds the normalized step as JSON: SpiffWorkflow 3.2.0 keeps
  ``documentation`` on every task spec but drops ``camunda:properties`` of script tasks, so the
  engine reads the step configuration from ``task.task_spec.documentation``.
* ``RequireApproval`` → ``bpmn:userTask`` (the instance waits there, READY). K2 completes it
  with the process variable ``kf_approved`` (bool): True when enough approvals arrived, False on
  the first denial. After it, the exclusive gateway ``kf_approval_<activity id>``: the flow
  with the condition ``kf_approved == True`` continues, the default flow goes to ``kf_rejected``.
  ``kf_approved`` stays in the process variables (:data:`INTERNAL_VARIABLES`: hide it from
  ``CurrentStateData``).
* Every other step type → ``bpmn:scriptTask`` whose script is exactly ``kf_step("<UniqueName>")``
  (a double-quoted Python string literal); the engine runs the step's connector for it.
* A step with ``Conditions`` or ``Enabled: false`` gets the exclusive gateway
  ``kf_gate_<activity id>`` in front: its flow with the condition ``kf_should_run("<UniqueName>")``
  enters the step, its default flow skips it, and the exclusive gateway ``kf_join_<activity id>``
  after the step (after its approval gateway, for RequireApproval) merges both. The engine
  evaluates ``kf_should_run`` itself (Enabled, then every condition via
  :func:`.tokens.condition_holds` on the data bucket), so a skipped step never runs or waits.
* Sequence flows are ``Flow_1``, ``Flow_2``, … in document order; each gateway's default flow is
  its ``default`` attribute. The diagram (``bpmndi``) lays the steps out left to right on one
  line, skip flows above it and the rejection end event below it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.engine.keyfactor.validation import executable_steps

__all__ = ["INTERNAL_VARIABLES", "START_EVENT_ID", "COMPLETE_EVENT_ID", "REJECTED_EVENT_ID", "compile_definition",
           "python_string_literal", "step_activity_id"]

START_EVENT_ID = "kf_start"
COMPLETE_EVENT_ID = "Complete"
REJECTED_EVENT_ID = "kf_rejected"
#: Process variables the compiled model uses for its own routing (not Keyfactor data).
INTERNAL_VARIABLES = frozenset({"kf_approved"})

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI}
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Layout: element sizes and the three horizontal lanes (skip flows, main line, rejection).
_SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "exclusiveGateway": (50, 50),
          "userTask": (100, 80), "scriptTask": (100, 80)}
_MAIN_Y, _SKIP_Y, _REJECT_Y, _GAP = 200, 80, 340, 50


def step_activity_id(unique_name: str) -> str:
    """The BPMN id of a step's main activity: ``Step_`` + the name, NCName-safe and injective."""
    encoded = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_-") else f".{ord(ch):x}." for ch in unique_name)
    return f"Step_{encoded}"


def python_string_literal(text: str) -> str:
    """A double-quoted Python string literal for ``text`` (non-printable characters escaped)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable() and ch not in "\u2028\u2029":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


@dataclass
class _Node:
    id: str
    kind: str
    name: str | None = None
    x: float = 0
    y: float = 0
    documentation: str | None = None
    script: str | None = None
    terminate: bool = False
    default: str | None = None
    direction: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return _SIZES[self.kind]

    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.size[1] / 2

    def right(self) -> tuple[float, float]:
        return self.x + self.size[0], self.y + self.size[1] / 2

    def top(self) -> tuple[float, float]:
        return self.x + self.size[0] / 2, self.y

    def bottom(self) -> tuple[float, float]:
        return self.x + self.size[0] / 2, self.y + self.size[1]


@dataclass
class _Flow:
    id: str
    source: _Node
    target: _Node
    name: str | None = None
    condition: str | None = None
    lane: str = "main"  # main | skip | reject


@dataclass
class _Open:
    """A flow still to be drawn from ``source`` to whatever comes next on the main line."""

    source: _Node
    name: str | None = None
    condition: str | None = None
    default: bool = False
    lane: str = "main"


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[_Node] = []
        self.flows: list[_Flow] = []
        self.cursor = 150.0

    def node(self, node_id: str, kind: str, name: str | None = None, **extra: Any) -> _Node:
        node = _Node(node_id, kind, name, **extra)
        width, height = node.size
        node.x, node.y = self.cursor, _MAIN_Y - height / 2
        self.cursor += width + _GAP
        self.nodes.append(node)
        return node

    def connect(self, pending: list[_Open], target: _Node) -> None:
        for item in pending:
            flow = _Flow(f"Flow_{len(self.flows) + 1}", item.source, target, item.name, item.condition, item.lane)
            self.flows.append(flow)
            item.source.outgoing.append(flow.id)
            target.incoming.append(flow.id)
            if item.default:
                item.source.default = flow.id


def _layout_rejection(builder: _Builder, rejected: _Node) -> None:
    sources = [f.source for f in builder.flows if f.target is rejected]
    anchor = sources[-1]
    rejected.x = anchor.x + (anchor.size[0] - rejected.size[0]) / 2
    rejected.y = _REJECT_Y - rejected.size[1] / 2


def _waypoints(flow: _Flow) -> list[tuple[float, float]]:
    if flow.lane == "skip":
        (sx, sy), (tx, ty) = flow.source.top(), flow.target.top()
        return [(sx, sy), (sx, _SKIP_Y), (tx, _SKIP_Y), (tx, ty)]
    if flow.lane == "reject":
        (sx, sy), target = flow.source.bottom(), flow.target
        if abs(sx - target.top()[0]) < 1:
            return [(sx, sy), target.top()]
        return [(sx, sy), (sx, _REJECT_Y), target.left()]
    return [flow.source.right(), flow.target.left()]


def _build(steps: list[dict[str, Any]]) -> _Builder:
    builder = _Builder()
    pending = [_Open(builder.node(START_EVENT_ID, "startEvent", "Start"))]
    rejected: _Node | None = None
    rejections: list[_Open] = []
    for step in steps:
        activity_id = step_activity_id(step["UniqueName"])
        literal = python_string_literal(step["UniqueName"])
        gated = bool(step["Conditions"]) or not step["Enabled"]
        skip: _Open | None = None
        if gated:
            gate = builder.node(f"kf_gate_{activity_id}", "exclusiveGateway", f"Run {step['DisplayName']}?",
                                direction="Diverging")
            builder.connect(pending, gate)
            pending = [_Open(gate, "run", f"kf_should_run({literal})")]
            skip = _Open(gate, "skip", default=True, lane="skip")
        documentation = json.dumps(step, ensure_ascii=True)
        if step["ExtensionName"] == "RequireApproval":
            activity = builder.node(activity_id, "userTask", step["DisplayName"], documentation=documentation)
            builder.connect(pending, activity)
            decision = builder.node(f"kf_approval_{activity_id}", "exclusiveGateway", "Approved?",
                                    direction="Diverging")
            builder.connect([_Open(activity)], decision)
            pending = [_Open(decision, "approved", "kf_approved == True")]
            rejections.append(_Open(decision, "denied", default=True, lane="reject"))
        else:
            activity = builder.node(activity_id, "scriptTask", step["DisplayName"], documentation=documentation,
                                    script=f"kf_step({literal})")
            builder.connect(pending, activity)
            pending = [_Open(activity)]
        if skip is not None:
            join = builder.node(f"kf_join_{activity_id}", "exclusiveGateway", None, direction="Converging")
            builder.connect([*pending, skip], join)
            pending = [_Open(join, default=True)]
    builder.connect(pending, builder.node(COMPLETE_EVENT_ID, "endEvent", "Complete"))
    if rejections:
        rejected = builder.node(REJECTED_EVENT_ID, "endEvent", "Rejected", terminate=True)
        builder.connect(rejections, rejected)
        _layout_rejection(builder, rejected)
    return builder


def _sub(parent: etree._Element, ns: str, tag: str, **attrs: Any) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})


def _process_xml(process: etree._Element, builder: _Builder) -> None:
    for node in builder.nodes:
        el = _sub(process, BPMN, node.kind, id=node.id, name=_xml_text(node.name) if node.name else None,
                  gatewayDirection=node.direction, default=node.default,
                  scriptFormat="python" if node.kind == "scriptTask" else None)
        if node.documentation is not None:
            _sub(el, BPMN, "documentation").text = node.documentation
        for flow_id in node.incoming:
            _sub(el, BPMN, "incoming").text = flow_id
        for flow_id in node.outgoing:
            _sub(el, BPMN, "outgoing").text = flow_id
        if node.terminate:
            _sub(el, BPMN, "terminateEventDefinition", id=f"{node.id}_definition")
        if node.script is not None:
            _sub(el, BPMN, "script").text = node.script
    for flow in builder.flows:
        el = _sub(process, BPMN, "sequenceFlow", id=flow.id, name=flow.name, sourceRef=flow.source.id,
                  targetRef=flow.target.id)
        if flow.condition is not None:
            condition = _sub(el, BPMN, "conditionExpression")
            condition.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
            condition.text = flow.condition


def _diagram_xml(root: etree._Element, process_key: str, builder: _Builder) -> None:
    diagram = _sub(root, BPMNDI, "BPMNDiagram", id="BPMNDiagram_1")
    plane = _sub(diagram, BPMNDI, "BPMNPlane", id="BPMNPlane_1", bpmnElement=process_key)
    for node in builder.nodes:
        shape = _sub(plane, BPMNDI, "BPMNShape", id=f"{node.id}_di", bpmnElement=node.id)
        if node.kind == "exclusiveGateway":
            shape.set("isMarkerVisible", "true")
        width, height = node.size
        _sub(shape, DC, "Bounds", x=f"{node.x:g}", y=f"{node.y:g}", width=width, height=height)
    for flow in builder.flows:
        edge = _sub(plane, BPMNDI, "BPMNEdge", id=f"{flow.id}_di", bpmnElement=flow.id)
        for x, y in _waypoints(flow):
            _sub(edge, DI, "waypoint", x=f"{x:g}", y=f"{y:g}")


def compile_definition(process_key: str, name: str, workflow_type: str, steps: list[dict[str, Any]]) -> bytes:
    """BPMN 2.0 XML (UTF-8 bytes) for a Keyfactor definition version; see the module docstring.

    ``process_key`` becomes the process id: an XML NCName that is none of the generated ids (it
    must not start with ``Step_``, ``kf_`` or ``Flow_``, nor be ``Complete``). Raises ValueError
    for a bad key and :class:`.validation.StepValidationError` for invalid steps.
    """
    if not isinstance(process_key, str) or not _NCNAME.fullmatch(process_key):
        raise ValueError(f"The process key {process_key!r} is not a valid XML id (NCName)")
    builder = _build(executable_steps(steps, workflow_type))
    taken = {n.id for n in builder.nodes} | {f.id for f in builder.flows}
    if process_key in taken or process_key.startswith(("Step_", "kf_", "Flow_", "BPMN")) or process_key in (
            "Start", "End", "Complete"):
        raise ValueError(f"The process key {process_key!r} collides with ids the compiler generates")
    root = etree.Element(f"{{{BPMN}}}definitions", nsmap=_NSMAP, id=f"Definitions_{process_key}",
                         targetNamespace="urn:baton:keyfactor", exporter="Baton", exporterVersion="1.0")
    process = _sub(root, BPMN, "process", id=process_key, name=_xml_text(name or process_key),
                   isExecutable="true")
    _process_xml(process, builder)
    _diagram_xml(root, process_key, builder)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
