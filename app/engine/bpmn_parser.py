"""Baton's SpiffWorkflow parser: CamundaParser plus fixes for real-world BPMN files.

What differs from plain ``CamundaParser`` (SpiffWorkflow 3.2.0), and why:

* The XSD validator is built once per process (building it costs far more than a parse).
* ``raise_validation_exception(..., node=...)`` works: 3.2.0's event parsers pass ``node=`` to a
  method that does not accept it, so a missing error/escalation/signal reference surfaced as a
  ``TypeError`` instead of the real message.
* Several outgoing flows from an activity are a parallel split (BPMN's implicit split).
* Outgoing flows of exclusive/inclusive gateways are tried in document order (as Camunda does,
  instead of by diagram y coordinate), and a flow without a condition counts as ``True``
  (Camunda's behaviour), so descriptive models with unlabelled gateway branches deploy.
* Data stores (and data store references without a data store) are ignored, as in Camunda 7;
  SpiffWorkflow refused any file declaring one. Walking up to a data object in an enclosing
  process no longer loops forever (3.2.0 never advanced past the direct parent).
* Multi-instance accepts both Camunda's ``camunda:collection``/``loopCardinality`` form and
  the standard ``loopDataInputRef`` form (CamundaParser only knew the former).
* Embedded subprocesses get SpiffWorkflow's own ``SubWorkflowTask``/``EventSubprocess`` specs
  (CamundaParser made every subprocess a ``CallActivity``); ``triggeredByEvent="false"`` is
  no longer taken for an event subprocess.
* Business rule tasks: with a DMN reference they are refused (Baton has no DMN); without one
  they behave like service tasks instead of failing with ``KeyError: decisionRef``.
* Messages, boundary events and call activities with missing references get clean
  ``ValidationException`` messages naming the element.

Expressions are translated from JUEL before this parser sees the tree (see ``bpmn_prepare``).
Nothing is executed while parsing.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    EventBasedGatewayParser,
    ReceiveTaskParser,
    SendTaskParser,
)
from SpiffWorkflow.bpmn.parser.task_parsers import (
    AdHocSubprocessParser,
    ConditionalGatewayParser,
    GatewayParser,
    SubprocessParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import (
    AdHocSubprocess,
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventBasedGateway,
    EventSubprocess,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ManualTask,
    NoneTask,
    ParallelGateway,
    ReceiveTask,
    ScriptTask,
    SendTask,
    ServiceTask,
    StartEvent,
    SubWorkflowTask,
    TransactionSubprocess,
)
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    CallActivityParser,
    CamundaTaskParser,
    ScriptTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask

from app.engine.safe_xml import BPMN_MODEL_NS

__all__ = ["BatonParser", "get_validator", "schema_errors"]

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

# --------------------------------------------------------------------------------------------
# XSD validation (the validator is expensive: build it once, share it under a lock, because
# lxml keeps the error log on the schema object).

_validator: BpmnValidator | None = None
_validator_lock = threading.Lock()


def get_validator() -> BpmnValidator:
    """The process-wide BPMN 2.0 XSD validator (built on first use)."""
    global _validator
    if _validator is None:
        with _validator_lock:
            if _validator is None:
                _validator = BpmnValidator()
    return _validator


def schema_errors(root: etree._Element, limit: int = 20) -> list[tuple[str, int, int]]:
    """XSD errors of a BPMN tree as (message, line, column); empty when it is valid."""
    validator = get_validator()
    with _validator_lock:
        validator.preprocess(root)  # SpiffWorkflow's fix-up for bpmn.io correlation properties
        if validator.validator.validate(root):
            return []
        entries = list(validator.validator.error_log)
    return [(e.message, e.line or 0, e.column or 0) for e in entries[:limit]]


# --------------------------------------------------------------------------------------------
# Task parser fixes, mixed in front of every SpiffWorkflow task parser Baton uses.


def _find_by_id(root: etree._Element, tag: str, element_id: str) -> etree._Element | None:
    # Linear scan instead of SpiffWorkflow's f-string XPath, which breaks on quotes in ids.
    for element in root.iter(full_tag(tag)):
        if element.get("id") == element_id:
            return element
    return None


_PASS_THROUGH_DATA = {"dataInput", "dataOutput", "property"}


def _find_any(root: etree._Element, element_id: str) -> etree._Element | None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") == element_id:
            return element
    return None


class _BatonTaskMixin(TaskParser):
    """Overrides shared by all of Baton's task parsers (must come first in the bases)."""

    def raise_validation_exception(self, message: str, node: Any = None) -> None:
        raise ValidationException(message, node=self.node if node is None else node, file_name=self.filename)

    def handles_multiple_outgoing(self) -> bool:
        # BPMN: several unconditional outgoing flows of an activity are an implicit parallel split.
        return True

    def get_position(self, node: Any = None) -> dict[str, float]:
        # SpiffWorkflow orders outgoing flows by the target's y coordinate; a constant keeps
        # document order (stable sort), which is the order Camunda evaluates conditions in.
        return {"x": 0.0, "y": 0.0}

    def _resolve_data_object_ref(self, ref: Any) -> Any:
        if ref is None:
            return None
        current, seen = self.process_parser, set()
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            spec = current.spec
            data_obj = spec.data_objects.get(ref.get("dataObjectRef")) if spec is not None else None
            if data_obj is not None:
                return data_obj
            current = current.parent
        return None

    def _data_references(self, path: str, kind: str) -> list[Any]:
        specs = []
        root = self.node.getroottree().getroot()
        for ref_node in self.xpath(path):
            ref_id = (ref_node.text or "").strip()
            obj_ref = self.process_parser.get_data_object_reference(ref_id)
            if obj_ref is None:
                obj_ref = _find_by_id(root, "dataObjectReference", ref_id)
            data_obj = self._resolve_data_object_ref(obj_ref)
            if data_obj is not None:
                specs.append(data_obj)
                continue
            store_ref = self.process_parser.get_data_store_reference(ref_id)
            if store_ref is None:
                store_ref = _find_by_id(root, "dataStoreReference", ref_id)
            if store_ref is not None:
                store = self.process_parser.data_stores.get(store_ref.get("dataStoreRef"))
                if store is not None:
                    specs.append(store)
                # else: a data store without implementation is ignored, as Camunda 7 does.
                continue
            target = _find_any(root, ref_id)
            if target is not None and etree.QName(target).localname in _PASS_THROUGH_DATA:
                # Process inputs/outputs and properties already live in task data in SpiffWorkflow.
                continue
            what = "data object" if obj_ref is not None else "data object or data store reference"
            self.raise_validation_exception(f"The {kind} refers to {ref_id!r}, which is not a known {what}")
        return specs

    def parse_incoming_data_references(self) -> list[Any]:
        return self._data_references("./bpmn:dataInputAssociation/bpmn:sourceRef", "dataInputAssociation")

    def parse_outgoing_data_references(self) -> list[Any]:
        return self._data_references("./bpmn:dataOutputAssociation/bpmn:targetRef", "dataOutputAssociation")

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        # Standard BPMN form (loopDataInputRef) → SpiffWorkflow's BPMN classes; otherwise Camunda's
        # camunda:collection / loopCardinality form.
        if self.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef"):
            TaskParser._add_multiinstance_task(self, loop_characteristics)
        else:
            CamundaTaskParser._add_multiinstance_task(self, loop_characteristics)


class _BatonEventMixin(_BatonTaskMixin):
    """Event parsers: clean errors for dangling message/signal/error/escalation references."""

    def _check_ref(self, definition: Any, attribute: str, known: dict[str, Any], what: str) -> None:
        ref = definition.get(attribute)
        if ref and ref not in known:
            self.raise_validation_exception(f"The {what} {ref!r} referenced by this event is not defined")

    def parse_message_event(self, message_event: Any) -> Any:
        self._check_ref(message_event, "messageRef", self.process_parser.parser.messages, "message")
        return super().parse_message_event(message_event)

    def parse_signal_event(self, signal_event: Any) -> Any:
        self._check_ref(signal_event, "signalRef", self.process_parser.parser.signals, "signal")
        return super().parse_signal_event(signal_event)

    def parse_error_event(self, error_event: Any) -> Any:
        self._check_ref(error_event, "errorRef", self.process_parser.parser.errors, "error")
        return super().parse_error_event(error_event)

    def parse_escalation_event(self, escalation_event: Any) -> Any:
        known = self.process_parser.parser.escalations
        self._check_ref(escalation_event, "escalationRef", known, "escalation")
        return super().parse_escalation_event(escalation_event)


class BatonTaskParser(_BatonTaskMixin, CamundaTaskParser):
    pass


class BatonUserTaskParser(_BatonTaskMixin, UserTaskParser):
    pass


class BatonScriptTaskParser(_BatonTaskMixin, ScriptTaskParser):
    pass


class BatonCallActivityParser(_BatonTaskMixin, CallActivityParser):
    pass


class BatonSubprocessParser(_BatonTaskMixin, CamundaTaskParser):
    """Embedded and event subprocesses with SpiffWorkflow's own spec classes."""

    def create_task(self) -> Any:
        subworkflow_spec = SubprocessParser.get_subprocess_spec(self)
        spec_class = self.spec_class
        if self.node.get("triggeredByEvent") == "true":
            spec_class = EventSubprocess
        return spec_class(self.spec, self.bpmn_id, subworkflow_spec=subworkflow_spec, **self.bpmn_attributes)


class BatonAdHocSubprocessParser(_BatonTaskMixin, AdHocSubprocessParser):
    pass


class BatonBusinessRuleTaskParser(_BatonTaskMixin, CamundaTaskParser):
    """Business rule tasks without DMN run like service tasks; DMN references are refused."""

    @staticmethod
    def get_decision_ref(node: Any) -> str | None:
        # Called by BpmnDmnParser for every businessRuleTask while the file is added.
        return node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")

    def create_task(self) -> Any:
        decision = self.get_decision_ref(self.node)
        if decision is None:
            called = self.xpath("./bpmn:extensionElements/zeebe:calledDecision")
            decision = called[0].get("decisionId", "") if called else None
        if decision is not None:
            self.raise_validation_exception(
                f"Business rule tasks that call a DMN decision ({decision!r}) are not supported")
        return self.spec_class(self.spec, self.bpmn_id, **self.bpmn_attributes)


class BatonGatewayParser(_BatonTaskMixin, GatewayParser):
    pass


class BatonConditionalGatewayParser(_BatonTaskMixin, ConditionalGatewayParser):
    def connect_outgoing(self, outgoing_task: Any, sequence_flow_node: Any, is_default: bool) -> None:
        if not is_default and self.parse_condition(sequence_flow_node) is None:
            # Camunda takes a non-default flow without a condition as always true.
            self.task.connect_outgoing_if("True", outgoing_task)
            return
        super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)


class BatonEventBasedGatewayParser(_BatonEventMixin, EventBasedGatewayParser):
    pass


class BatonStartEventParser(_BatonEventMixin, CamundaStartEventParser):
    def create_task(self) -> Any:
        task = super().create_task()
        # SpiffWorkflow 3.2.0 ignores isInterrupting; the runtime needs it for event subprocesses.
        task.interrupting = (self.node.get("isInterrupting") or "true").strip().lower() != "false"
        return task


class BatonEndEventParser(_BatonEventMixin, CamundaEndEventParser):
    pass


class BatonIntermediateCatchEventParser(_BatonEventMixin, CamundaIntermediateCatchEventParser):
    pass


class BatonIntermediateThrowEventParser(_BatonEventMixin, CamundaIntermediateThrowEventParser):
    pass


class BatonBoundaryEventParser(_BatonEventMixin, CamundaBoundaryEventParser):
    def create_task(self) -> Any:
        # 3.2.0 raised NotImplementedError with the element's XML as the message.
        definition = self.get_event_definition([
            CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH, MESSAGE_EVENT_XPATH,
            SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
        ])
        if isinstance(definition, NoneEventDefinition):
            self.raise_validation_exception("A boundary event needs an event definition "
                                            "(timer, message, signal, error, escalation, conditional, ...)")
        cancel_activity = self.node.get("cancelActivity", default="true").lower() == "true"
        return self._create_task(definition, cancel_activity)


class BatonSendTaskParser(_BatonEventMixin, SendTaskParser):
    pass


class BatonReceiveTaskParser(_BatonEventMixin, ReceiveTaskParser):
    pass


# --------------------------------------------------------------------------------------------


_NSMAP = {
    "bpmn": BPMN_MODEL_NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "camunda": CAMUNDA_MODEL_NS,
    "zeebe": ZEEBE_NS,
}

_DEFAULT = object()


class BatonParser(CamundaParser):
    """The parser Baton uses for every deployment (see the module docstring for what it changes)."""

    OVERRIDE_PARSER_CLASSES = {
        full_tag("startEvent"): (BatonStartEventParser, StartEvent),
        full_tag("endEvent"): (BatonEndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (BatonIntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (BatonIntermediateThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (BatonBoundaryEventParser, BoundaryEvent),
        full_tag("userTask"): (BatonUserTaskParser, UserTask),
        full_tag("task"): (BatonTaskParser, NoneTask),
        full_tag("manualTask"): (BatonTaskParser, ManualTask),
        full_tag("serviceTask"): (BatonTaskParser, ServiceTask),
        full_tag("businessRuleTask"): (BatonBusinessRuleTaskParser, ServiceTask),
        full_tag("scriptTask"): (BatonScriptTaskParser, ScriptTask),
        full_tag("sendTask"): (BatonSendTaskParser, SendTask),
        full_tag("receiveTask"): (BatonReceiveTaskParser, ReceiveTask),
        full_tag("subProcess"): (BatonSubprocessParser, SubWorkflowTask),
        full_tag("transaction"): (BatonSubprocessParser, TransactionSubprocess),
        full_tag("adHocSubProcess"): (BatonAdHocSubprocessParser, AdHocSubprocess),
        full_tag("callActivity"): (BatonCallActivityParser, CallActivity),
        full_tag("exclusiveGateway"): (BatonConditionalGatewayParser, ExclusiveGateway),
        full_tag("inclusiveGateway"): (BatonConditionalGatewayParser, InclusiveGateway),
        full_tag("parallelGateway"): (BatonGatewayParser, ParallelGateway),
        full_tag("eventBasedGateway"): (BatonEventBasedGatewayParser, EventBasedGateway),
    }

    #: Data store implementations by name. None: data stores are ignored, as in Camunda 7.
    DATA_STORE_CLASSES: dict[str, Any] = {}

    def __init__(self, namespaces: dict[str, str] | None = None, validator: Any = _DEFAULT) -> None:
        """``validator`` defaults to the shared XSD validator; pass None to skip XSD checks."""
        if validator is _DEFAULT:
            validator = get_validator()
        super().__init__(namespaces=namespaces or dict(_NSMAP), validator=validator)

    def _add_data_stores(self, bpmn: Any) -> None:
        known = [store for store in bpmn.xpath(".//bpmn:dataStore", namespaces=self.namespaces)
                 if store.get("name") in self.DATA_STORE_CLASSES]
        for data_store in known:
            spec_class = self.DATA_STORE_CLASSES[data_store.get("name")]
            self.data_stores[data_store.get("id")] = spec_class(
                data_store.get("id"), data_store.get("name"),
                data_store.get("capacity"), data_store.get("isUnlimited"))
