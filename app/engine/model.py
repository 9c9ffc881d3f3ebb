"""A static index of one process model, read from the BPMN XML (not from SpiffWorkflow specs).

SpiffWorkflow 3.x specs drop sequence-flow ids and most Camunda attributes, so restart
positioning, history (activity types) and user tasks read them from here. Built with the same
safe XML parsing as deployments; nothing is translated or executed.

Spec names vs. BPMN ids (SpiffWorkflow 3.2.0): ``task_spec.bpmn_id`` is the BPMN id (``None``
for SpiffWorkflow's internal specs such as ``Start``, ``End``, ``<id>.BoundaryEventSplit``,
``StartEventSplit``); ``task_spec.name`` equals the id except for the inner task of a
multi-instance/loop activity, named ``"<id> [child]"``. :meth:`ModelIndex.activity_for_spec`
handles both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.engine.bpmn_prepare import CAMUNDA_NS, called_element, local_name
from app.engine.parsing import BpmnParseError, BpmnProblem, is_bpmn_resource
from app.engine.safe_xml import BPMN_MODEL_NS, XmlRejected, parse_bpmn_xml

__all__ = ["MULTI_INSTANCE_BODY", "ActivityInfo", "FlowInfo", "ModelIndex", "build_model_index",
           "multi_instance_body_id"]

_B = f"{{{BPMN_MODEL_NS}}}"
_C = f"{{{CAMUNDA_NS}}}"

#: Camunda's activity type of the scope that wraps a multi-instance activity.
MULTI_INSTANCE_BODY = "multiInstanceBody"

_CONTAINERS = {"subProcess", "adHocSubProcess", "transaction"}
_TASKS = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
          "manualTask"}
_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway", "eventBasedGateway"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
FLOW_NODES = _CONTAINERS | _TASKS | _GATEWAYS | _EVENTS | {"callActivity"}

_DEFINITION_KINDS = {
    "messageEventDefinition": "message", "timerEventDefinition": "timer", "signalEventDefinition": "signal",
    "conditionalEventDefinition": "conditional", "errorEventDefinition": "error",
    "escalationEventDefinition": "escalation", "compensateEventDefinition": "compensation",
    "cancelEventDefinition": "cancel", "terminateEventDefinition": "terminate", "linkEventDefinition": "link",
}

# Camunda's activity type names (contract 13.2), by element and event definition kind.
_EVENT_TYPES: dict[str, tuple[dict[str | None, str], str]] = {
    "startEvent": ({None: "startEvent", "timer": "startTimerEvent", "message": "messageStartEvent",
                    "signal": "signalStartEvent", "conditional": "conditionalStartEvent",
                    "error": "errorStartEvent", "escalation": "escalationStartEvent",
                    "compensation": "compensationStartEvent"}, "startEvent"),
    "endEvent": ({None: "noneEndEvent", "terminate": "terminateEndEvent", "error": "errorEndEvent",
                  "message": "messageEndEvent", "signal": "signalEndEvent", "escalation": "escalationEndEvent",
                  "compensation": "compensationEndEvent", "cancel": "cancelEndEvent"}, "noneEndEvent"),
    "intermediateCatchEvent": ({"message": "intermediateMessageCatch", "timer": "intermediateTimer",
                                "signal": "intermediateSignalCatch", "conditional": "intermediateConditional",
                                "link": "intermediateLinkCatch"}, "intermediateCatchEvent"),
    "intermediateThrowEvent": ({None: "intermediateNoneThrowEvent", "message": "intermediateMessageThrowEvent",
                                "signal": "intermediateSignalThrow",
                                "escalation": "intermediateEscalationThrowEvent",
                                "compensation": "intermediateCompensationThrowEvent"}, "intermediateThrowEvent"),
    "boundaryEvent": ({"timer": "boundaryTimer", "message": "boundaryMessage", "signal": "boundarySignal",
                       "error": "boundaryError", "escalation": "boundaryEscalation",
                       "conditional": "boundaryConditional", "compensation": "compensationBoundaryCatch",
                       "cancel": "cancelBoundaryCatch"}, "boundaryEvent"),
}


def multi_instance_body_id(activity_id: str) -> str:
    """Camunda's id for the multi-instance body of ``activity_id``."""
    return f"{activity_id}#{MULTI_INSTANCE_BODY}"


@dataclass
class FlowInfo:
    id: str
    source: str | None
    target: str | None
    condition: str | None = None  # the condition as written in the model (JUEL or Python)


@dataclass
class ActivityInfo:
    id: str
    name: str | None
    activity_type: str  # Camunda's name (contract 13.2); the multi-instance body is separate
    element: str  # local tag name, e.g. 'userTask'
    parent_id: str | None = None  # enclosing subProcess/transaction/adHocSubProcess
    incoming: list[str] = field(default_factory=list)  # sequence flow ids
    outgoing: list[str] = field(default_factory=list)
    documentation: str | None = None
    event_kind: str | None = None  # 'timer', 'message', ... ('multiple' if several); events only
    attached_to: str | None = None  # boundary events
    cancel_activity: bool | None = None  # boundary events: interrupting?
    is_interrupting: bool | None = None  # start events of event subprocesses
    triggered_by_event: bool = False  # event subprocesses
    is_multi_instance: bool = False
    is_sequential: bool = False  # multi-instance only
    is_loop: bool = False  # standardLoopCharacteristics
    called_element: str | None = None
    async_before: bool = False
    async_after: bool = False
    # user tasks
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    form_key: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    priority: str | None = None
    # external tasks (camunda:type="external")
    external_topic: str | None = None
    task_priority: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # camunda:properties
    # events
    message_name: str | None = None
    signal_name: str | None = None
    timer_kind: str | None = None  # 'timeDate' | 'timeDuration' | 'timeCycle'
    timer_text: str | None = None  # as written in the model


@dataclass
class ModelIndex:
    key: str
    process_name: str | None
    resource_name: str
    activities: dict[str, ActivityInfo] = field(default_factory=dict)
    flows: dict[str, FlowInfo] = field(default_factory=dict)
    none_start_event_id: str | None = None

    def activity_for_spec(self, task_spec: Any) -> ActivityInfo | None:
        """The activity of a SpiffWorkflow task spec (or spec name); None for internal specs."""
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        name = bpmn_id if bpmn_id is not None else getattr(task_spec, "name", task_spec)
        if isinstance(name, str) and name.endswith(" [child]"):
            name = name[: -len(" [child]")]
        return self.activities.get(name) if isinstance(name, str) else None

    def flow_index(self) -> dict[str, tuple[str | None, str | None]]:
        """Flows as ``{id: (source, target)}`` (the shape restart positioning uses)."""
        return {f.id: (f.source, f.target) for f in self.flows.values()}


# --------------------------------------------------------------------------------------------


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


class _Indexer:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.names = {kind: {el.get("id"): el.get("name") for el in root.iter(f"{_B}{kind}")}
                      for kind in ("message", "signal")}

    def definitions(self, event: etree._Element) -> list[etree._Element]:
        found = []
        for child in event:
            if not isinstance(child.tag, str) or not child.tag.startswith(_B):
                continue
            name = local_name(child)
            if name in _DEFINITION_KINDS:
                found.append(child)
            elif name == "eventDefinitionRef":
                target = self.by_id.get(_text(child) or "")
                if target is not None and local_name(target) in _DEFINITION_KINDS:
                    found.append(target)
        return found

    def index(self, process: etree._Element, resource: str) -> ModelIndex:
        model = ModelIndex(key=process.get("id") or "", process_name=process.get("name"), resource_name=resource)
        self._scope(process, None, model)
        for flow in model.flows.values():
            if flow.source in model.activities:
                model.activities[flow.source].outgoing.append(flow.id)
            if flow.target in model.activities:
                model.activities[flow.target].incoming.append(flow.id)
        for child in process.iterfind(f"{_B}startEvent"):
            if not self.definitions(child):
                model.none_start_event_id = child.get("id")
                break
        return model

    def _scope(self, scope: etree._Element, parent_id: str | None, model: ModelIndex) -> None:
        for child in scope:
            if not isinstance(child.tag, str) or not child.tag.startswith(_B):
                continue
            name = local_name(child)
            if name == "sequenceFlow" and child.get("id"):
                model.flows[child.get("id")] = FlowInfo(child.get("id"), child.get("sourceRef"),
                                                        child.get("targetRef"),
                                                        _text(child.find(f"{_B}conditionExpression")))
            elif name in FLOW_NODES and child.get("id"):
                model.activities[child.get("id")] = self.activity(child, name, parent_id)
                if name in _CONTAINERS:
                    self._scope(child, child.get("id"), model)

    def activity(self, el: etree._Element, element: str, parent_id: str | None) -> ActivityInfo:
        info = ActivityInfo(id=el.get("id"), name=el.get("name"), activity_type=element, element=element,
                            parent_id=parent_id, documentation=_text(el.find(f"{_B}documentation")))
        info.async_before = _truthy(el.get(f"{_C}asyncBefore")) or _truthy(el.get(f"{_C}async"))
        info.async_after = _truthy(el.get(f"{_C}asyncAfter"))
        info.properties = {p.get("name"): p.get("value") or ""
                           for p in el.iterfind(f"{_B}extensionElements/{_C}properties/{_C}property")
                           if p.get("name")}
        mi = el.find(f"{_B}multiInstanceLoopCharacteristics")
        if mi is not None:
            info.is_multi_instance = True
            info.is_sequential = _truthy(mi.get("isSequential"))
        info.is_loop = el.find(f"{_B}standardLoopCharacteristics") is not None
        if element in _EVENTS:
            self._event(el, element, info)
        elif element == "userTask":
            self._user_task(el, info)
        elif element == "callActivity":
            info.called_element = called_element(el)
        elif element in _CONTAINERS:
            info.triggered_by_event = _truthy(el.get("triggeredByEvent"))
        if element in ("serviceTask", "sendTask", "businessRuleTask") and el.get(f"{_C}type") == "external":
            info.external_topic = el.get(f"{_C}topic")
            info.task_priority = el.get(f"{_C}taskPriority")
        if element in ("sendTask", "receiveTask"):
            ref = el.get("messageRef")
            info.message_name = (self.names["message"].get(ref) or ref) if ref else None
        return info

    def _user_task(self, el: etree._Element, info: ActivityInfo) -> None:
        info.assignee = el.get(f"{_C}assignee")
        info.candidate_users = _split(el.get(f"{_C}candidateUsers"))
        info.candidate_groups = _split(el.get(f"{_C}candidateGroups"))
        info.form_key = el.get(f"{_C}formKey")
        info.due_date = el.get(f"{_C}dueDate")
        info.follow_up_date = el.get(f"{_C}followUpDate")
        info.priority = el.get(f"{_C}priority")

    def _event(self, el: etree._Element, element: str, info: ActivityInfo) -> None:
        definitions = self.definitions(el)
        kinds = [_DEFINITION_KINDS[local_name(d)] for d in definitions]
        kind = kinds[0] if len(kinds) == 1 else (None if not kinds else "multiple")
        info.event_kind = kind
        types, fallback = _EVENT_TYPES[element]
        info.activity_type = types.get(kind, fallback)
        if element == "boundaryEvent":
            info.attached_to = el.get("attachedToRef")
            info.cancel_activity = (el.get("cancelActivity") or "true").strip().lower() != "false"
        if element == "startEvent":
            info.is_interrupting = (el.get("isInterrupting") or "true").strip().lower() != "false"
        for definition in definitions:
            def_kind = _DEFINITION_KINDS[local_name(definition)]
            if def_kind == "message":
                ref = definition.get("messageRef")
                # Without messageRef SpiffWorkflow uses the event's name as the message name.
                info.message_name = (self.names["message"].get(ref) or ref) if ref else el.get("name")
            elif def_kind == "signal":
                ref = definition.get("signalRef")
                info.signal_name = (self.names["signal"].get(ref) or ref) if ref else el.get("name")
            elif def_kind == "timer":
                for child in definition:
                    if isinstance(child.tag, str) and local_name(child) in ("timeDate", "timeDuration", "timeCycle"):
                        info.timer_kind, info.timer_text = local_name(child), _text(child)
                        break


def build_model_index(resources: dict[str, bytes], key: str) -> ModelIndex:
    """Index the process ``key`` found in the BPMN resources of one deployment.

    Raises :class:`BpmnParseError` if no resource defines it (or a resource is not safe XML).
    """
    for name, data in resources.items():
        if not is_bpmn_resource(name, data):
            continue
        try:
            root = parse_bpmn_xml(data)
        except XmlRejected as exc:
            raise BpmnParseError(name, [BpmnProblem(exc.message, exc.line, exc.column)]) from None
        for process in root.iter(f"{_B}process"):
            if process.get("id") == key:
                return _Indexer(root).index(process, name)
    raise BpmnParseError(next(iter(resources), ""), [BpmnProblem(f"The process {key!r} is not defined "
                                                                 "in these resources", element_id=key)])
