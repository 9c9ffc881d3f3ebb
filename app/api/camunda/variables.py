"""Camunda variable value objects ↔ :class:`~app.values.TypedValue` (contract 4.1–4.4).

Wire form: ``{"value": …, "type": "Integer", "valueInfo": {"transient": false}}``.
:func:`parse_variable` returns a :class:`ParsedVariable`: the TypedValue plus the request-only
flags ``transient`` (from ``valueInfo``) and ``local`` (instruction variables), which are not
part of the value and are never stored with it.

Error messages are Camunda's own where Camunda has one; endpoints usually prefix them
(``Cannot instantiate process definition <id>: …``), so catch :class:`InvalidRequest` and
re-raise with ``e.message`` and ``e.camunda_type`` if a prefix is needed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.api.camunda.dates import format_date, parse_date
from app.errors import InvalidRequest
from app.values import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, VALUE_TYPES, TypedValue, infer

_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# Decimal notation as Java's Double.parseDouble reads it, minus NaN/Infinity/hex (no JSON form).
_DOUBLE_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_JAVA_CLASS = {
    "String": "java.lang.String",
    "Integer": "java.lang.Integer",
    "Long": "java.lang.Long",
    "Double": "java.lang.Double",
    "Boolean": "java.lang.Boolean",
    "Date": "java.util.Date",
}

JSON_VALUE_MESSAGE = "Must provide 'null' or String value for value of SerializableValue type 'Json'."


@dataclass(frozen=True)
class ParsedVariable:
    """One parsed value object. ``typed`` is what gets stored; the flags steer the endpoint."""

    typed: TypedValue
    transient: bool = False
    local: bool = False


class _Unconvertible(Exception):
    """Internal signal: the value does not fit the declared type."""


def parse_variable(name: str, obj: Any, *, allow_local: bool = False) -> ParsedVariable:
    """Parse one value object. ``allow_local`` reads the ``local`` flag of instruction variables.

    Raises :class:`InvalidRequest` (400): unsupported type (``RestException``), a value that
    does not fit its type (Camunda's ``Cannot convert value …`` text), bad Json, or a
    malformed value object.
    """
    if not isinstance(obj, Mapping):
        raise InvalidRequest(f"Invalid value object for variable '{name}': expected a JSON object")
    value = obj.get("value")
    raw_type = obj.get("type")
    transient = _flag(name, obj.get("valueInfo"), "transient")
    local = _flag(name, obj, "local") if allow_local else False

    if raw_type is None:  # no type: infer (contract 4.3); pycamunda sends "type": null
        return ParsedVariable(infer(value), transient, local)
    if not isinstance(raw_type, str):
        raise InvalidRequest(f"Unsupported value type '{_java_text(raw_type)}'", camunda_type="RestException")
    # Camunda lower-cases only the first letter before looking the name up.
    type_ = raw_type[:1].upper() + raw_type[1:]
    if type_ not in VALUE_TYPES:
        raise InvalidRequest(f"Unsupported value type '{raw_type}'", camunda_type="RestException")

    if type_ == "Null" or value is None:
        # Camunda keeps typed nulls ({"value": null, "type": "String"} stays a String).
        return ParsedVariable(TypedValue(type_, None), transient, local)
    if type_ == "Json":
        document = _json_document(name, value)
        try:
            return ParsedVariable(TypedValue("Json", document), transient, local)
        except (TypeError, ValueError, RecursionError):  # e.g. NaN inside a document given directly
            raise InvalidRequest(f"Cannot parse value of variable '{name}' as Json: not valid JSON") from None
    try:
        converted = _CONVERTERS[type_](value)
    except (_Unconvertible, ValueError, OverflowError):
        java_class = _JAVA_CLASS[type_]
        raise InvalidRequest(
            f"Cannot convert value '{_java_text(value)}' of type '{raw_type}' to java type {java_class}"
        ) from None
    return ParsedVariable(TypedValue(type_, converted), transient, local)


def parse_variables(
    obj: Any, *, allow_local: bool = False, member: str = "variables"
) -> dict[str, ParsedVariable]:
    """Parse a map of value objects, keeping the transient/local flags. ``None`` gives ``{}``."""
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise InvalidRequest(f"Invalid value for '{member}': expected a JSON object")
    return {name: parse_variable(name, value, allow_local=allow_local) for name, value in obj.items()}


def parse_variable_map(obj: Any, *, member: str = "variables") -> dict[str, TypedValue]:
    """Parse a map of value objects to TypedValues (flags dropped). ``None`` gives ``{}``."""
    return {name: parsed.typed for name, parsed in parse_variables(obj, member=member).items()}


def render_variable(tv: TypedValue) -> dict[str, Any]:
    """The response value object: all three members, ``valueInfo`` always ``{}``."""
    value = tv.value
    if value is not None:
        if tv.type == "Date":
            value = format_date(value)
        elif tv.type == "Json":
            # Camunda emits Json as compact JSON text, not as a nested document.
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return {"value": value, "type": tv.type, "valueInfo": {}}


def render_variable_map(d: Mapping[str, TypedValue]) -> dict[str, dict[str, Any]]:
    """Render a whole variable map (``{}`` when empty, never ``None``)."""
    return {name: render_variable(tv) for name, tv in d.items()}


# --- conversions -----------------------------------------------------------------------


def _flag(name: str, container: Any, key: str) -> bool:
    """Read an optional boolean (``valueInfo.transient``, ``local``); null/missing is False."""
    if container is None:
        return False
    if not isinstance(container, Mapping):
        raise InvalidRequest(f"Invalid valueInfo of variable '{name}': expected a JSON object")
    flag = container.get(key)
    if flag is None:
        return False
    if not isinstance(flag, bool):
        raise InvalidRequest(f"The property '{key}' should have a value of type 'boolean'.")  # Camunda's text
    return flag


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)  # numbers and booleans become their JSON text (5 → "5")
    raise _Unconvertible


def _to_int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise _Unconvertible
    if isinstance(value, float):
        # Integral floats (5.0) pass as Jackson lets them; 1.5 is refused (contract 4.2).
        if not value.is_integer():
            raise _Unconvertible
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INTEGER_RE.fullmatch(text):
            raise _Unconvertible
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise _Unconvertible
    return value


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        raise _Unconvertible
    if isinstance(value, str):
        text = value.strip()
        if not _DOUBLE_RE.fullmatch(text):
            raise _Unconvertible
        value = text
    elif not isinstance(value, int | float):
        raise _Unconvertible
    result = float(value)  # OverflowError for huge ints
    if not math.isfinite(result):
        raise _Unconvertible
    return result


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Unconvertible


def _to_date(value: Any) -> Any:
    if not isinstance(value, str):
        raise _Unconvertible  # only the text forms of contract section 3
    return parse_date(value)


_CONVERTERS = {
    "String": _to_string,
    "Integer": lambda v: _to_int(v, INT32_MIN, INT32_MAX),
    "Long": lambda v: _to_int(v, INT64_MIN, INT64_MAX),
    "Double": _to_double,
    "Boolean": _to_boolean,
    "Date": _to_date,
}


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _json_document(name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value, parse_constant=_reject_constant)  # no NaN/Infinity
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        except RecursionError:
            reason = "nested too deeply"
        raise InvalidRequest(f"Cannot parse value of variable '{name}' as Json: {reason}")
    if isinstance(value, dict | list):  # Baton choice: a document given directly
        return value
    raise InvalidRequest(JSON_VALUE_MESSAGE)


def _java_text(value: Any) -> str:
    """Roughly what Java's String.valueOf prints for the JSON value (used in messages)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
