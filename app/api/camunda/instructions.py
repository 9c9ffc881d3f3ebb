"""Modification / restart / start instructions: JSON → engine ``Instruction`` with Camunda's messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api.camunda.variables import parse_variables
from app.engine.positioning import Instruction
from app.errors import InvalidRequest
from app.values import TypedValue

_START_MEMBER = {"startBeforeActivity": "activityId", "startAfterActivity": "activityId",
                 "startTransition": "transitionId"}


@dataclass(frozen=True)
class ParsedInstruction:
    instruction: Instruction
    variables: dict[str, TypedValue] = field(default_factory=dict)
    local_variables: dict[str, TypedValue] = field(default_factory=dict)


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Cannot deserialize member '{name}' of an instruction: expected a string")
    return value


def parse_instruction(item: Any, *, allow_cancel: bool) -> ParsedInstruction | None:
    """One instruction; ``None`` for a ``cancel`` that the caller ignores (restart)."""
    if not isinstance(item, dict):
        raise InvalidRequest("Each instruction must be a JSON object")
    kind = item.get("type")
    if kind == "cancel":
        present = [n for n in ("activityId", "activityInstanceId", "transitionInstanceId") if _text(item, n)]
        if len(present) != 1:
            raise InvalidRequest("For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', "
                                 "or 'transitionInstanceId', is required")
        if not allow_cancel:
            return None
        instance_ref = _text(item, "activityInstanceId") or _text(item, "transitionInstanceId")
        task_id = instance_ref.rsplit(":", 1)[-1] if instance_ref else None
        return ParsedInstruction(Instruction("cancel", activity_id=_text(item, "activityId"),
                                             activity_instance_id=task_id))
    if kind not in _START_MEMBER:
        raise InvalidRequest(f"Unsupported instruction type '{kind}'")
    required = _START_MEMBER[kind]
    target = _text(item, required)
    if target is None:
        raise InvalidRequest(f"For instruction type '{kind}': '{required}' must be set")
    parsed = parse_variables(item.get("variables"), allow_local=True)
    variables = {n: p.typed for n, p in parsed.items() if not p.local}
    local = {n: p.typed for n, p in parsed.items() if p.local}
    if kind == "startTransition":
        return ParsedInstruction(Instruction(kind, transition_id=target), variables, local)
    return ParsedInstruction(Instruction(kind, activity_id=target), variables, local)


def parse_instructions(items: Any, *, allow_cancel: bool) -> list[ParsedInstruction]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidRequest("Cannot deserialize member 'instructions': expected an array")
    result = []
    for item in items:
        parsed = parse_instruction(item, allow_cancel=allow_cancel)
        if parsed is not None:
            result.append(parsed)
    return result
