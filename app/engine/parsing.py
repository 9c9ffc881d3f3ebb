"""Turning uploaded BPMN bytes into SpiffWorkflow specs, safely.

Public API:

* :func:`is_bpmn_resource` — which uploaded resources are BPMN (contract 6.1).
* :func:`parse_deployment` — validate every executable process of one deployment and describe
  it as :class:`ProcessModel` rows; any failure is a :class:`BpmnParseError`, never another
  exception type.
* :func:`load_process` — build the spec and subprocess specs of one process from stored
  resources (used by the spec cache; no XSD validation, the bytes were validated at deploy).

Pipeline per resource: :mod:`safe_xml` (no DTDs, depth limit, BPMN root) → XSD validation
(deploy only) → :mod:`bpmn_prepare` (JUEL → Python, static checks) → :class:`BatonParser`.
Call activities are resolved within the deployment only: a called process that is not part of
the same deployment is a deploy error naming the call activity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity as CallActivityMixin
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask as SubWorkflowTaskMixin

from app.engine.bpmn_parser import BatonParser, schema_errors
from app.engine.bpmn_prepare import CAMUNDA_NS, executable_processes, prepare_tree
from app.engine.safe_xml import BPMN_MODEL_NS, XmlRejected, parse_bpmn_xml

__all__ = [
    "BatonParser",
    "BpmnParseError",
    "BpmnProblem",
    "ParsedDeployment",
    "ProcessModel",
    "is_bpmn_resource",
    "load_process",
    "parse_deployment",
]

_B = f"{{{BPMN_MODEL_NS}}}"
_BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
_EVENT_DEFINITIONS = {"messageEventDefinition", "timerEventDefinition", "signalEventDefinition",
                      "conditionalEventDefinition", "errorEventDefinition", "escalationEventDefinition",
                      "compensateEventDefinition", "cancelEventDefinition", "terminateEventDefinition",
                      "linkEventDefinition", "eventDefinitionRef"}
_EXCEPTION_REPR = re.compile(r"^[A-Za-z_]\w*(Error|Exception)\(")
_TOO_DEEP = ("The model is too deeply nested or has too long a chain of consecutive elements "
             "(more than about 400) to be parsed")


@dataclass
class BpmnProblem:
    """One reason a resource cannot be deployed. ``line``/``column`` are 0 when unknown."""

    message: str
    line: int = 0
    column: int = 0
    element_id: str | None = None


class BpmnParseError(Exception):
    """A BPMN resource cannot be deployed; ``problems`` says why (at least one entry)."""

    def __init__(self, resource_name: str, problems: list[BpmnProblem]) -> None:
        self.resource_name = resource_name
        self.problems = problems or [BpmnProblem("The resource cannot be parsed")]
        super().__init__(f"{resource_name}: " + "; ".join(p.message for p in self.problems))

    @property
    def message(self) -> str:
        return "; ".join(p.message for p in self.problems)

    def details(self) -> dict[str, Any]:
        """Camunda's ParseException ``details`` member for this resource (contract 6.3)."""
        errors = [{"message": p.message, "line": p.line, "column": p.column, "mainElementId": p.element_id,
                   "elementIds": [p.element_id] if p.element_id else []} for p in self.problems]
        return {self.resource_name: {"errors": errors, "warnings": []}}


@dataclass(frozen=True)
class ProcessModel:
    """An executable process of a deployed resource, with the definition fields of contract 6.1."""

    key: str
    name: str | None
    description: str | None
    category: str | None
    version_tag: str | None
    history_ttl: int | None
    startable: bool
    resource_name: str
    has_none_start_event: bool


@dataclass
class ParsedDeployment:
    """``resources``: every BPMN resource (upload order) → its executable processes (may be empty)."""

    resources: dict[str, list[ProcessModel]] = field(default_factory=dict)

    @property
    def processes(self) -> list[ProcessModel]:
        return [model for models in self.resources.values() for model in models]


# --------------------------------------------------------------------------------------------


def is_bpmn_resource(name: str, data: bytes) -> bool:
    """True for ``*.bpmn`` / ``*.bpmn20.xml`` names, or any XML whose root is BPMN ``definitions``."""
    if name.lower().endswith(_BPMN_SUFFIXES):
        return True
    try:
        parse_bpmn_xml(data)
    except XmlRejected:
        # A hostile DTD in front of a BPMN document must be refused loudly, not stored silently.
        return b"<!DOCTYPE" in data[:4096] and BPMN_MODEL_NS.encode() in data
    return True


class _Collector:
    """Problems per resource, with element line numbers looked up in that resource's tree."""

    def __init__(self, trees: dict[str, etree._Element]) -> None:
        self.trees = trees
        self.problems: dict[str, list[BpmnProblem]] = {}
        self._lines: dict[str, dict[str, int]] = {}

    def line_of(self, resource: str, element_id: str | None) -> int:
        if element_id is None or resource not in self.trees:
            return 0
        if resource not in self._lines:
            self._lines[resource] = {el.get("id"): el.sourceline or 0 for el in self.trees[resource].iter()
                                     if isinstance(el.tag, str) and el.get("id") is not None}
        return self._lines[resource].get(element_id, 0)

    def add(self, resource: str, message: str, element_id: str | None = None, line: int = 0,
            column: int = 0) -> None:
        problem = BpmnProblem(message or "Unknown error", line or self.line_of(resource, element_id), column,
                              element_id or None)
        bucket = self.problems.setdefault(resource, [])
        if problem not in bucket:
            bucket.append(problem)

    def add_exception(self, exc: BaseException, resource: str, fallback_id: str | None = None) -> None:
        if isinstance(exc, BpmnParseError):
            for problem in exc.problems:
                self.add(exc.resource_name, problem.message, problem.element_id, problem.line, problem.column)
            return
        if isinstance(exc, XmlRejected):
            self.add(resource, exc.message, None, exc.line, exc.column)
            return
        if isinstance(exc, ValidationException):
            file_name = getattr(exc, "file_name", "") or resource
            target = file_name if file_name in self.trees else resource
            element_id = getattr(exc, "id", "") or fallback_id
            line = getattr(exc, "line_number", 0)
            message = str(exc.args[0]) if exc.args else "Validation failed"
            tag = getattr(exc, "tag", "")
            if message.startswith("There is no support implemented") and tag:
                message = f"The element type {tag} is not supported"
            elif message.startswith("RecursionError("):
                message = _TOO_DEEP
            elif _EXCEPTION_REPR.match(message):
                # SpiffWorkflow wraps unexpected exceptions as their repr() in a ValidationException.
                message = f"The element cannot be parsed: {message}"
            self.add(target, message, element_id, line if isinstance(line, int) else 0)
            return
        if isinstance(exc, RecursionError):
            message = _TOO_DEEP
        else:
            message = f"The model cannot be parsed: {type(exc).__name__}: {exc}"
        self.add(resource, message, fallback_id)

    def raise_first(self, order: list[str]) -> None:
        for resource in order + [r for r in self.problems if r not in order]:
            if self.problems.get(resource):
                raise BpmnParseError(resource, self.problems[resource])


def _schema_error_element(root: etree._Element, message: str, line: int) -> str | None:
    """Best element id for an XSD error, which only gives a line and (in the text) the tag."""
    match = re.match(r"Element '(\{[^}]*\}[^']+|[^']+)'", message)
    candidates = [el for el in root.iter() if isinstance(el.tag, str) and el.sourceline == line and el.get("id")]
    for element in candidates:
        if match and element.tag == match.group(1):
            return element.get("id")
    return candidates[0].get("id") if candidates else None


def _bpmn_resources(resources: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in resources.items() if is_bpmn_resource(name, data)}


def _load_trees(resources: dict[str, bytes], validate: bool) -> dict[str, etree._Element]:
    """Safe-parse and prepare every resource; raises BpmnParseError for the first bad one."""
    trees: dict[str, etree._Element] = {}
    for name, data in resources.items():
        collector = _Collector({})
        try:
            root = parse_bpmn_xml(data)
            collector.trees[name] = root
            if validate:
                for message, line, column in schema_errors(root):
                    element_id = _schema_error_element(root, message, line)
                    collector.add(name, f"XML schema violation: {message}", element_id, line, column)
            if not collector.problems:
                for element, message in prepare_tree(root):
                    collector.add(name, message, element.get("id"), element.sourceline or 0)
        except Exception as exc:  # noqa: BLE001 - every failure must become a BpmnParseError
            collector.add_exception(exc, name)
        collector.raise_first([name])
        trees[name] = root
    return trees


def _new_parser(trees: dict[str, etree._Element], collector: _Collector) -> BatonParser:
    # XSD validation already happened (or is skipped for stored resources): no validator here.
    parser = BatonParser(validator=None)
    for name, root in trees.items():
        try:
            parser.add_bpmn_xml(root, filename=name)
        except Exception as exc:  # noqa: BLE001
            collector.add_exception(exc, name)
    return parser


def _resource_of(parser: BatonParser, process_id: str, default: str) -> str:
    process_parser = parser.get_process_parser(process_id)
    return getattr(process_parser, "filename", None) or default


def _build_specs(parser: BatonParser, key: str, resource: str) -> tuple[BpmnProcessSpec, dict[str, Any]]:
    """get_spec + get_subprocess_specs, with call activity targets checked first (clean errors)."""
    spec = parser.get_spec(key)
    seen: set[str] = set()
    pending = [spec]
    while pending:
        current = pending.pop()
        for task_spec in list(current.task_specs.values()):
            if not isinstance(task_spec, SubWorkflowTaskMixin) or task_spec.spec in seen:
                continue
            target = task_spec.spec
            target_parser = parser.get_process_parser(target)
            if isinstance(task_spec, CallActivityMixin):
                where = _resource_of(parser, current.name, resource)
                if target_parser is None:
                    raise _error(where, task_spec.bpmn_id, f"The call activity {task_spec.bpmn_id!r} calls the "
                                 f"process {target!r}, which is not part of this deployment")
                if not target_parser.process_executable:
                    raise _error(where, task_spec.bpmn_id, f"The call activity {task_spec.bpmn_id!r} calls the "
                                 f"process {target!r}, which is not executable (isExecutable=\"false\")")
            seen.add(target)
            pending.append(parser.get_spec(target))
    return spec, parser.get_subprocess_specs(key)


def _error(resource: str, element_id: str | None, message: str) -> BpmnParseError:
    return BpmnParseError(resource, [BpmnProblem(message, element_id=element_id)])


def _history_ttl(process: etree._Element, resource: str) -> int | None:
    raw = (process.get(f"{{{CAMUNDA_NS}}}historyTimeToLive") or "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d+)|P(\d+)D", raw)
    if match is None:
        raise _error(resource, process.get("id"),
                     f"camunda:historyTimeToLive {raw!r} is not a number of days (e.g. 180 or P180D)")
    return int(match.group(1) or match.group(2))


def _has_none_start_event(process: etree._Element) -> bool:
    for start in process.iterfind(f"{_B}startEvent"):
        if not any(isinstance(c.tag, str) and etree.QName(c).localname in _EVENT_DEFINITIONS for c in start):
            return True
    return False


def _process_model(root: etree._Element, process: etree._Element, resource: str) -> ProcessModel:
    documentation = process.find(f"{_B}documentation")
    startable = (process.get(f"{{{CAMUNDA_NS}}}isStartableInTasklist") or "true").strip().lower() != "false"
    return ProcessModel(
        key=process.get("id") or "",
        name=process.get("name"),
        description=documentation.text if documentation is not None else None,
        category=root.get("targetNamespace"),
        version_tag=process.get(f"{{{CAMUNDA_NS}}}versionTag"),
        history_ttl=_history_ttl(process, resource),
        startable=startable,
        resource_name=resource,
        has_none_start_event=_has_none_start_event(process),
    )


def parse_deployment(resources: dict[str, bytes]) -> ParsedDeployment:
    """Validate all BPMN resources of one deployment together and describe their executable processes.

    Non-BPMN resources are ignored. Raises :class:`BpmnParseError` for the first failing
    resource (with every problem collected for it); no other exception type escapes.
    """
    try:
        return _parse_deployment(resources)
    except BpmnParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a 500
        first = next(iter(resources), "")
        raise BpmnParseError(first, [BpmnProblem(f"The deployment cannot be parsed: {type(exc).__name__}: "
                                                 f"{exc}")]) from exc


def _parse_deployment(resources: dict[str, bytes]) -> ParsedDeployment:
    trees = _load_trees(_bpmn_resources(resources), validate=True)
    collector = _Collector(trees)
    parser = _new_parser(trees, collector)
    collector.raise_first(list(trees))

    result = ParsedDeployment()
    for name, root in trees.items():
        models: list[ProcessModel] = []
        for process in executable_processes(root):
            key = process.get("id") or ""
            try:
                models.append(_process_model(root, process, name))
                _build_specs(parser, key, name)
            except Exception as exc:  # noqa: BLE001
                collector.add_exception(exc, name, fallback_id=key)
        result.resources[name] = models
    collector.raise_first(list(trees))
    return result


def load_process(resources: dict[str, bytes], key: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Build the spec and subprocess specs of process ``key`` from a deployment's stored resources.

    Deterministic; skips XSD validation (the resources were validated when deployed). Raises
    :class:`BpmnParseError` if the process cannot be built (or is not in the resources).
    """
    try:
        trees = _load_trees(_bpmn_resources(resources), validate=False)
        collector = _Collector(trees)
        parser = _new_parser(trees, collector)
        collector.raise_first(list(trees))
        resource = _resource_of(parser, key, next(iter(trees), ""))
        if parser.get_process_parser(key) is None:
            raise _error(resource, None, f"The process {key!r} is not defined in these resources")
        try:
            return _build_specs(parser, key, resource)
        except Exception as exc:  # noqa: BLE001
            collector.add_exception(exc, resource, fallback_id=key)
            collector.raise_first([resource])
            raise
    except BpmnParseError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise BpmnParseError(next(iter(resources), ""), [BpmnProblem(f"{type(exc).__name__}: {exc}")]) from exc

