"""Typed process variables: the one value model shared by every layer.

A :class:`TypedValue` pairs one of Camunda's type names (the eight Baton supports) with the
Python form of the value. The API dialects translate their wire formats to and from it, the
store keeps it through :func:`to_storage` / :func:`from_storage`, and the engine sees plain
Python values through :func:`to_engine`. Nothing here imports Flask, SQLAlchemy or
SpiffWorkflow.

Python forms, by type:

=========  ==========================================================================
String     ``str``
Integer    ``int`` within 32 bits
Long       ``int`` within 64 bits
Double     finite ``float``
Boolean    ``bool``
Json       the parsed document: dict (str keys) / list / str / int / float / bool / None
Date       timezone-aware ``datetime`` in UTC
Null       ``None``
=========  ==========================================================================

Every type may also hold ``None`` (Camunda's "typed null", e.g. ``{"value": null, "type":
"String"}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

VALUE_TYPES = ("String", "Integer", "Long", "Double", "Boolean", "Json", "Date", "Null")

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class TypedValue:
    """A variable value with its declared type.

    Construction validates the value against the type and normalizes it (Date → UTC, Double →
    float, Json → a fresh JSON-safe copy with tuples as lists), so every TypedValue in the
    system can be stored and rendered without further checks. Invalid combinations raise
    ``TypeError``/``ValueError``: they are programming errors, not client errors.
    """

    type: str
    value: Any

    def __post_init__(self) -> None:
        if self.type not in VALUE_TYPES:
            raise ValueError(f"unknown value type {self.type!r}")
        if self.value is not None:
            # frozen: normalizing needs object.__setattr__
            object.__setattr__(self, "value", _normalize(self.type, self.value))


def _normalize(type_: str, value: Any) -> Any:
    if type_ == "String":
        if isinstance(value, str):
            return str.__str__(value)  # exact str, also for str subclasses (enums)
    elif type_ in ("Integer", "Long"):
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = (INT32_MIN, INT32_MAX) if type_ == "Integer" else (INT64_MIN, INT64_MAX)
            if not low <= value <= high:
                raise ValueError(f"{value} is out of range for {type_}")
            return int(value)
    elif type_ == "Double":
        if isinstance(value, int | float) and not isinstance(value, bool):
            result = float(value)
            if not math.isfinite(result):
                raise ValueError("Double values must be finite (no JSON form otherwise)")
            return result
    elif type_ == "Boolean":
        if isinstance(value, bool):
            return value
    elif type_ == "Date":
        if isinstance(value, datetime):
            return _utc(value)
    elif type_ == "Json":
        return _strict_json(value, ())
    elif type_ == "Null":
        raise ValueError("a Null value must be None")
    raise TypeError(f"{type(value).__name__} is not a valid {type_} value")


def _utc(value: datetime) -> datetime:
    # Naive datetimes are read as UTC (what camunda-client and most scripts mean).
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _strict_json(value: Any, path: tuple[int, ...]) -> Any:
    """Copy a JSON document, rejecting anything without an exact JSON form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Json documents cannot hold NaN or infinity")
        return float(value)
    if isinstance(value, dict | list | tuple):
        if id(value) in path:
            raise ValueError("Json document contains a reference cycle")
        inner = (*path, id(value))
        if isinstance(value, dict):
            result: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"Json object keys must be strings, not {type(key).__name__}")
                result[str.__str__(key)] = _strict_json(item, inner)
            return result
        return [_strict_json(item, inner) for item in value]
    raise TypeError(f"{type(value).__name__} cannot be part of a Json document")


def _lenient_json(value: Any, path: tuple[int, ...]) -> Any:
    """Turn a runtime structure (e.g. built by a script) into a JSON document.

    Leaves without a JSON form become their text, mirroring the top-level rule of contract 4.4;
    datetimes become ISO 8601 text in UTC. Raises ValueError on reference cycles.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        number = _finite_float(value)
        return _text(value) if number is None else number
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        if id(value) in path:
            raise ValueError("reference cycle")
        inner = (*path, id(value))
        if isinstance(value, dict):
            return {_json_key(key): _lenient_json(item, inner) for key, item in value.items()}
        return [_lenient_json(item, inner) for item in value]
    return _text(value)


def _finite_float(value: float | Decimal) -> float | None:
    """The value as a finite float, or None (NaN, infinity, or a Decimal too large for a float)."""
    if isinstance(value, Decimal) and not value.is_finite():
        return None  # float(Decimal("sNaN")) would raise
    number = float(value)
    return number if math.isfinite(number) else None


def _json_key(key: Any) -> str:
    # The same key spelling json.dumps would produce for scalars.
    if isinstance(key, str):
        return str.__str__(key)
    if key is None or isinstance(key, bool):
        return "null" if key is None else ("true" if key else "false")
    return _text(key)


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ must not break typing
        return object.__repr__(value)


def infer(value: Any) -> TypedValue:
    """Type a value that arrived without a type (JSON input) or was produced by the process.

    JSON values follow contract 4.3. Runtime values additionally: datetime → Date (naive = UTC),
    date → Date at midnight UTC, Decimal → Double, tuple → Json. Anything without a faithful
    typed form (sets, bytes, objects, NaN/infinity, integers beyond 64 bits) becomes a String
    holding its text (contract 4.4).
    """
    if value is None:
        return TypedValue("Null", None)
    if isinstance(value, bool):  # bool is an int subclass: test it first
        return TypedValue("Boolean", bool(value))
    if isinstance(value, int):
        if INT32_MIN <= value <= INT32_MAX:
            return TypedValue("Integer", int(value))
        if INT64_MIN <= value <= INT64_MAX:
            return TypedValue("Long", int(value))
        return TypedValue("String", _text(value))  # a lossy Double would corrupt it silently
    if isinstance(value, float | Decimal):
        number = _finite_float(value)
        if number is not None:
            return TypedValue("Double", number)
        return TypedValue("String", _text(value))
    if isinstance(value, str):
        return TypedValue("String", value)
    if isinstance(value, datetime):
        return TypedValue("Date", value)
    if isinstance(value, date):
        return TypedValue("Date", datetime.combine(value, time(), UTC))
    if isinstance(value, dict | list | tuple):
        try:
            return TypedValue("Json", _lenient_json(value, ()))
        except (ValueError, RecursionError):
            return TypedValue("String", _text(value))
    return TypedValue("String", _text(value))


def to_storage(tv: TypedValue) -> dict[str, Any]:
    """A JSON-safe dict that :func:`from_storage` turns back into an equal TypedValue.

    Dates are ISO 8601 text with microseconds and offset; everything else is already JSON.
    """
    value = tv.value
    if value is not None:
        if tv.type == "Date":
            value = value.isoformat(timespec="microseconds")
        elif tv.type == "Json":
            value = _strict_json(value, ())  # a copy: the caller may mutate the stored dict
    return {"type": tv.type, "value": value}


def from_storage(d: Mapping[str, Any]) -> TypedValue:
    """Inverse of :func:`to_storage`. Raises ValueError/TypeError on malformed input."""
    if not isinstance(d, Mapping):
        raise TypeError("stored variable must be a mapping")
    type_ = d.get("type")
    value = d.get("value")
    if not isinstance(type_, str) or type_ not in VALUE_TYPES:
        raise ValueError(f"stored variable has unknown type {type_!r}")
    if value is not None:
        if type_ == "Date":
            if not isinstance(value, str):
                raise TypeError("stored Date must be ISO text")
            value = datetime.fromisoformat(value)
        elif type_ in ("Integer", "Long") and isinstance(value, float) and value.is_integer():
            value = int(value)  # tolerate stores that hand integers back as floats
    return TypedValue(type_, value)


def to_engine(tv: TypedValue) -> Any:
    """The value as SpiffWorkflow task data holds it.

    Json documents are copied so that a script mutating them in place cannot change the
    TypedValue (which would hide the change from :func:`same_value`).
    """
    if tv.type == "Json" and tv.value is not None:
        return _strict_json(tv.value, ())
    return tv.value


def same_value(runtime: Any, stored: TypedValue) -> bool:
    """Whether the engine still holds ``stored``'s value, so its declared type can be kept.

    Comparison is type-strict (``True`` is not ``1``, ``1`` is not ``1.0``), except that
    Integer and Long are the same kind, so a Long 5 stays Long while the engine holds 5.
    A Json document matches any runtime structure with the same JSON form.
    """
    if runtime is None:
        return stored.value is None  # a typed null (e.g. String null) keeps its type
    if stored.type == "Json":
        try:
            return _strict_equal(_lenient_json(runtime, ()), stored.value)
        except (ValueError, RecursionError):
            return False
    fresh = infer(runtime)
    return _kind(fresh.type) == _kind(stored.type) and _strict_equal(fresh.value, stored.value)


def keep_or_infer(runtime: Any, previous: TypedValue | None) -> TypedValue:
    """Type a runtime value: keep ``previous`` if the value is unchanged, else infer anew."""
    if previous is not None and same_value(runtime, previous):
        return previous
    return infer(runtime)


def _kind(type_: str) -> str:
    return "Integer" if type_ == "Long" else type_


def _strict_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    # int vs float must differ (Json 1 vs 1.0 is a changed document)
    return type(a) is type(b) and a == b
