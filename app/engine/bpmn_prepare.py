"""Deploy-time rewriting and static checks of a BPMN tree before SpiffWorkflow parses it.

Works on Baton's private, safely parsed copy of the tree (the stored resource bytes are never
changed). Only executable processes are touched: Camunda skips ``isExecutable="false"``
processes, so whatever they contain must not block a deployment.

* JUEL → Python in sequence-flow conditions, conditional events, loop conditions and
  multi-instance cardinality/completion conditions; bare ISO 8601 timer values are quoted.
  Every resulting expression must be valid Python syntax.
* ``camunda:collection``/``camunda:elementVariable`` must name variables (``${items}`` → ``items``);
  Zeebe's ``zeebe:loopCharacteristics`` and ``zeebe:calledElement`` are mapped onto them when the
  Camunda/BPMN attributes are absent (their FEEL must then be a plain ``=name``).
* Refused with a message naming the element: timers without a (valid) definition, conditions in
  a non-Python script language, conditional flows leaving an activity (no implicit inclusive
  split), dynamic ``calledElement``, script tasks whose scriptFormat is not Python or whose
  script lives in an external resource.
"""

from __future__ import annotations

from lxml import etree

from app.engine.juel import (
    JuelError,
    python_syntax_error,
    translate_expression,
    translate_timer,
    translate_variable_name,
)
from app.engine.safe_xml import BPMN_MODEL_NS

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

#: A problem found while preparing: the element to blame and the message.
Problem = tuple[etree._Element, str]

_B = f"{{{BPMN_MODEL_NS}}}"
_GATEWAYS_WITH_CONDITIONS = {f"{_B}exclusiveGateway", f"{_B}inclusiveGateway"}
_TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
_NEEDS_ID = {"sequenceFlow", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
             "boundaryEvent", "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
             "receiveTask", "manualTask", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
             "complexGateway", "eventBasedGateway", "subProcess", "adHocSubProcess", "transaction",
             "callActivity"}
_FLOW_NODES = _NEEDS_ID - {"sequenceFlow"}
#: Expression languages SpiffWorkflow cannot evaluate. XPath is BPMN's declared default and is
#: written by many tools for plain expressions, so it is treated like "no language given".
_FOREIGN_LANGUAGES = ("javascript", "ecmascript", "groovy", "feel", "ruby", "jruby", "nashorn", "graal",
                      "kotlin", "mvel", "dmn")
_PYTHON_SCRIPT_FORMATS = {"python", "py", "text/x-python", "text/python", "application/x-python", "jython"}


def is_executable(process: etree._Element) -> bool:
    """Camunda's rule: every process whose ``isExecutable`` is not false is deployed."""
    return (process.get("isExecutable") or "true").strip().lower() not in ("false", "0")


def executable_processes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.iter(f"{_B}process") if is_executable(p)]


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _blame(element: etree._Element) -> etree._Element:
    """The nearest element (self or ancestor) with an id, for messages and line numbers."""
    current: etree._Element | None = element
    while current is not None and current.get("id") is None:
        current = current.getparent()
    return current if current is not None else element


def called_element(call_activity: etree._Element) -> str | None:
    """``calledElement``, or the Zeebe ``processId`` when only that is given."""
    value = call_activity.get("calledElement")
    if value:
        return value
    for ext in call_activity.iterfind(f"{_B}extensionElements/{{{ZEEBE_NS}}}calledElement"):
        process_id = (ext.get("processId") or "").strip()
        if process_id:
            return process_id
    return value


def _feel_name(value: str) -> str:
    """A Zeebe FEEL value that is a plain variable reference (``=items``) → ``items``."""
    text = value.strip()
    if text.startswith("="):
        text = text[1:].strip()
    return translate_variable_name(text)


class _Preparer:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, element: etree._Element, message: str) -> None:
        self.problems.append((_blame(element), message))

    def expression(self, holder: etree._Element, node: etree._Element, what: str,
                   blank_ok: bool = True) -> None:
        """Translate the text of ``node`` in place; problems are blamed on ``holder``."""
        language = (node.get("language") or "").lower()
        if any(foreign in language for foreign in _FOREIGN_LANGUAGES):
            self.fail(holder, f"The {what} uses the expression language {node.get('language')!r}; "
                              "only JUEL (${...}) and Python expressions are supported")
            return
        text = node.text or ""
        if not text.strip():
            if not blank_ok:
                self.fail(holder, f"The {what} is empty")
            node.text = None  # SpiffWorkflow then treats it as absent
            return
        if text.strip().startswith("="):
            self.fail(holder, f"The {what} {text.strip()!r} is a FEEL expression (Camunda 8), which is not "
                              "supported; use JUEL (${...}) or Python")
            return
        try:
            python = translate_expression(text).strip()
        except JuelError as exc:
            self.fail(holder, f"The {what} {text.strip()!r} cannot be translated: {exc}")
            return
        error = python_syntax_error(python)
        if error:
            self.fail(holder, f"The {what} {text.strip()!r} is not a valid expression: {error}")
            return
        node.text = python

    def run(self, root: etree._Element) -> list[Problem]:
        for process in root.iter(f"{_B}process"):
            # Normalise for SpiffWorkflow, which only accepts the exact string 'true'.
            process.set("isExecutable", "true" if is_executable(process) else "false")
        by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        for process in executable_processes(root):
            if not (process.get("id") or "").strip():
                self.fail(process, "An executable process needs an id (it becomes the process definition key)")
                continue
            for element in process.iter():
                if isinstance(element.tag, str):
                    self.element(element, by_id)
        return self.problems

    def element(self, el: etree._Element, by_id: dict[str, etree._Element]) -> None:
        name = local_name(el)
        if not el.tag.startswith(_B):
            return
        if name in _NEEDS_ID and not el.get("id"):
            self.fail(el.getparent(), f"A {name} without an id cannot be executed")
            return
        if name == "sequenceFlow":
            self.sequence_flow(el, by_id)
        elif name == "timerEventDefinition":
            self.timer(el)
        elif name == "conditionalEventDefinition":
            for condition in el.iterfind(f"{_B}condition"):
                self.expression(el, condition, "condition", blank_ok=False)
            if el.find(f"{_B}condition") is None:
                self.fail(el, "The conditional event has no condition")
        elif name == "standardLoopCharacteristics":
            for condition in el.iterfind(f"{_B}loopCondition"):
                self.expression(el, condition, "loop condition", blank_ok=False)
        elif name == "multiInstanceLoopCharacteristics":
            self.multi_instance(el)
        elif name == "callActivity":
            self.call_activity(el)
        elif name == "scriptTask":
            self.script_task(el)

    def sequence_flow(self, flow: etree._Element, by_id: dict[str, etree._Element]) -> None:
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end) or ""
            node = by_id.get(ref)
            if node is None:
                self.fail(flow, f"The sequence flow's {end} {ref!r} does not exist")
            elif local_name(node) not in _FLOW_NODES or not node.tag.startswith(_B):
                self.fail(flow, f"The sequence flow's {end} {ref!r} is not an activity, event or gateway")
            elif node.getparent() is not flow.getparent():
                self.fail(flow, f"The sequence flow's {end} {ref!r} is not in the same process or subprocess")
        condition = flow.find(f"{_B}conditionExpression")
        if condition is None:
            return
        self.expression(flow, condition, "condition")
        source = by_id.get(flow.get("sourceRef") or "")
        if condition.text and source is not None and source.tag not in _GATEWAYS_WITH_CONDITIONS:
            self.fail(flow, f"Conditional sequence flows are only supported after exclusive or inclusive "
                            f"gateways; this one leaves the {local_name(source)} {source.get('id')!r}")

    def timer(self, definition: etree._Element) -> None:
        kinds = [child for child in definition if local_name(child) in _TIMER_KINDS
                 and child.tag.startswith(_B)]
        if not kinds:
            self.fail(definition.getparent(), "The timer event has no timeDate, timeDuration or timeCycle")
            return
        for node in kinds:
            kind = local_name(node)
            try:
                python = translate_timer(kind, node.text or "")
            except JuelError as exc:
                self.fail(definition.getparent(), f"The timer {kind} {(node.text or '').strip()!r} "
                                                  f"cannot be used: {exc}")
                continue
            error = python_syntax_error(python)
            if error:
                self.fail(definition.getparent(), f"The timer {kind} {python!r} is not valid: {error}")
                continue
            node.text = python

    def multi_instance(self, mi: etree._Element) -> None:
        activity = mi.getparent()
        expressions = (("loopCardinality", "loop cardinality"),
                       ("completionCondition", "completion condition"))
        for tag, what in expressions:
            for node in mi.iterfind(f"{_B}{tag}"):
                self.expression(activity, node, what, blank_ok=tag != "loopCardinality")
        collection_attr, element_attr = f"{{{CAMUNDA_NS}}}collection", f"{{{CAMUNDA_NS}}}elementVariable"
        for zeebe in mi.iterfind(f"{_B}extensionElements/{{{ZEEBE_NS}}}loopCharacteristics"):
            collection, item = zeebe.get("inputCollection"), zeebe.get("inputElement")
            if collection and mi.get(collection_attr) is None:
                try:
                    mi.set(collection_attr, _feel_name(collection))
                except JuelError as exc:
                    self.fail(activity, f"The Zeebe inputCollection {collection!r} is not supported: {exc}")
            if item and mi.get(element_attr) is None:
                mi.set(element_attr, item.strip())
        for attr in ("collection", "elementVariable"):
            value = mi.get(f"{{{CAMUNDA_NS}}}{attr}")
            if value is None:
                continue
            try:
                mi.set(f"{{{CAMUNDA_NS}}}{attr}", translate_variable_name(value))
            except JuelError as exc:
                self.fail(activity, f"The multi-instance camunda:{attr} {value!r} is not a variable: {exc}")

    def call_activity(self, activity: etree._Element) -> None:
        target = called_element(activity)
        if target and ("${" in target or "#{" in target):
            self.fail(activity, f"Call activities with an expression as calledElement ({target!r}) "
                                "are not supported; name the called process id")
        elif target and not activity.get("calledElement"):
            activity.set("calledElement", target)  # from zeebe:calledElement

    def script_task(self, task: etree._Element) -> None:
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format and script_format not in _PYTHON_SCRIPT_FORMATS:
            self.fail(task, f"The script format {task.get('scriptFormat')!r} is not supported; "
                            "scripts must be Python")
        if task.find(f"{_B}script") is None and task.get(f"{{{CAMUNDA_NS}}}resource"):
            self.fail(task, "Scripts loaded from an external resource (camunda:resource) are not supported")


def prepare_tree(root: etree._Element) -> list[Problem]:
    """Rewrite ``root`` in place for SpiffWorkflow and return the problems found (empty if none)."""
    return _Preparer().run(root)

