"""Declarative parsing of Camunda list/count queries (contract 5.1–5.4, 2.3, 12.2–12.3).

Each list/count endpoint declares one :class:`QuerySpec` (the filters Baton implements with
their kinds, the Camunda filters it does not implement, its ``sortBy`` values, whether
``orQueries`` are allowed) and calls :meth:`QuerySpec.from_args` for ``GET`` or
:meth:`QuerySpec.from_json` for ``POST``. Both give the same :class:`ParsedQuery`, so the
service layer never sees the wire format.

Filter kinds and the Python value they produce in ``ParsedQuery.filters``:

=============  ======================================  ===========================================
kind           GET (query string)                      value
=============  ======================================  ===========================================
``str``        first value, taken verbatim             ``str``
``str_list``   comma-separated and/or repeated keys    ``list[str]`` (no empties, no duplicates)
``bool``       ``true``/``false``, any case            ``bool``
``true_only``  as ``bool``; ``false`` means absent     ``True``
``int``        decimal, 32-bit                         ``int``
``date``       contract section 3                      aware UTC ``datetime``
``variables``  ``name_op_value`` expressions           ``list[VariableFilter]``
=============  ======================================  ===========================================

Absent means: key missing, JSON ``null``, an empty JSON list, or an empty GET value for a
non-string kind. Absent filters are not in ``filters``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.api.camunda.dates import parse_date
from app.errors import InvalidRequest
from app.values import INT32_MAX, INT32_MIN

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    Args = MultiDict[str, str] | Mapping[str, str]

FILTER_KINDS = frozenset({"str", "str_list", "bool", "true_only", "int", "date", "variables"})
VARIABLE_OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like", "notLike")
SORT_ORDERS = {"asc": True, "desc": False}  # case-sensitive, as in Camunda

VARIABLE_FORMAT_MESSAGE = "variable query parameter has to have format KEY_OPERATOR_VALUE."
SORT_PAIR_MESSAGE = "Only a single sorting parameter specified. sortBy and sortOrder required"
NESTED_OR_MESSAGE = "Invalid query usage: cannot set or() within 'or' query"
OR_SORTING_MESSAGE = "Invalid query usage: cannot set sorting within 'or' query"

# Members with a fixed meaning on every query; they cannot be declared as filters.
_RESERVED = frozenset({"sortBy", "sortOrder", "sorting", "orQueries", "firstResult", "maxResults"})
_INT_RE = re.compile(r"[+-]?[0-9]+")
_ABSENT: Any = object()

_EXPECTED = {
    "str": "a string",
    "str_list": "an array of strings",
    "bool": "a boolean",
    "true_only": "a boolean",
    "int": "an integer",
    "date": "a date string like 2024-05-01T12:30:00.000+0000",
    "variables": "an array of {name, operator, value} objects",
}


@dataclass(frozen=True)
class VariableFilter:
    """One variable condition. GET values are always strings; POST values keep their JSON type."""

    name: str
    operator: str
    value: Any


@dataclass
class ParsedQuery:
    """A query in wire-independent form.

    ``sorting`` is a list of ``(sortBy, ascending)``, primary key first. ``or_queries`` holds one
    filter dict per non-empty ``orQueries`` entry (OR inside each, AND between them and with
    ``filters``). ``max_results`` is None for "unlimited".
    """

    filters: dict[str, Any] = field(default_factory=dict)
    sorting: list[tuple[str, bool]] = field(default_factory=list)
    first_result: int = 0
    max_results: int | None = None
    or_queries: list[dict[str, Any]] = field(default_factory=list)


class QuerySpec:
    """The query parameters one Camunda list/count endpoint understands."""

    def __init__(
        self,
        filters: Mapping[str, str],
        unsupported: Iterable[str] = (),
        sort_by: Iterable[str] = (),
        or_queries: bool = False,
    ) -> None:
        self.filters: dict[str, str] = dict(filters)
        self.unsupported: frozenset[str] = frozenset(unsupported)
        self.sort_by: frozenset[str] = frozenset(sort_by)
        self.or_queries: bool = or_queries
        # Declaration mistakes are programming errors: fail at import time, not per request.
        bad_kinds = {name: kind for name, kind in self.filters.items() if kind not in FILTER_KINDS}
        if bad_kinds:
            raise ValueError(f"unknown filter kinds: {bad_kinds}")
        # "orQueries" may be declared unsupported (POST answers 400 then), but not when allowed.
        reserved_for_unsupported = _RESERVED if or_queries else _RESERVED - {"orQueries"}
        clash = (
            (self.filters.keys() & self.unsupported)
            | (self.filters.keys() & _RESERVED)
            | (self.unsupported & reserved_for_unsupported)
        )
        if clash:
            raise ValueError(f"filter names declared twice or reserved: {sorted(clash)}")

    # --- GET ---------------------------------------------------------------------------

    def from_args(self, args: Args) -> ParsedQuery:
        """Parse a ``GET`` query string (werkzeug ``MultiDict``; a plain mapping works too)."""
        for name in sorted(self.unsupported - {"orQueries"}):  # orQueries is POST-only
            if any(raw != "" and raw.lower() != "false" for raw in _getlist(args, name)):
                raise _unsupported(name)
        filters: dict[str, Any] = {}
        for name, kind in self.filters.items():
            raws = _getlist(args, name)
            if raws:
                value = _from_text(name, kind, raws)
                if value is not _ABSENT:
                    filters[name] = value
        pair = _sort_pair(self.sort_by, _first(args, "sortBy"), _first(args, "sortOrder"))
        first_result, max_results = parse_paging(args)
        return ParsedQuery(filters, [pair] if pair else [], first_result, max_results)

    # --- POST --------------------------------------------------------------------------

    def from_json(self, body: Mapping[str, Any] | None, args: Args) -> ParsedQuery:
        """Parse a ``POST`` query body; paging still comes from the query string (5.4)."""
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise InvalidRequest("The request body must be a JSON object")  # as common.json_body()
        filters = self._members(body, "")
        sorting: list[tuple[str, bool]] = []
        # Camunda's query DTOs also take top-level sortBy/sortOrder in POST bodies.
        pair = _sort_pair(self.sort_by, body.get("sortBy"), body.get("sortOrder"))
        if pair:
            sorting.append(pair)
        sorting.extend(self._sorting(body.get("sorting")))
        or_queries = self._or_queries(body.get("orQueries")) if self.or_queries else []
        first_result, max_results = parse_paging(args)
        return ParsedQuery(filters, sorting, first_result, max_results, or_queries)

    def _members(self, body: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        for name in sorted(self.unsupported):
            if _given(body.get(name)):
                raise _unsupported(name)
        filters: dict[str, Any] = {}
        for name, kind in self.filters.items():
            raw = body.get(name)
            if raw is not None:
                value = _from_json(prefix + name, kind, raw)
                if value is not _ABSENT:
                    filters[name] = value
        return filters

    def _sorting(self, raw: Any) -> list[tuple[str, bool]]:
        if raw is None:
            return []
        if isinstance(raw, Mapping):  # camunda-client sends one object, not an array
            raw = [raw]
        if not isinstance(raw, list):
            raise _wrong_member("sorting", "an array of {sortBy, sortOrder} objects")
        result = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise _wrong_member(f"sorting[{index}]", "a {sortBy, sortOrder} object")
            pair = _sort_pair(self.sort_by, entry.get("sortBy"), entry.get("sortOrder"))
            if pair:
                result.append(pair)
        return result

    def _or_queries(self, raw: Any) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _wrong_member("orQueries", "an array of query objects")
        result = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise _wrong_member(f"orQueries[{index}]", "a query object")
            if _given(entry.get("orQueries")):
                raise InvalidRequest(NESTED_OR_MESSAGE)
            if any(_given(entry.get(key)) for key in ("sorting", "sortBy", "sortOrder")):
                raise InvalidRequest(OR_SORTING_MESSAGE)
            filters = self._members(entry, f"orQueries[{index}].")
            if filters:  # an empty OR group restricts nothing
                result.append(filters)
        return result


# --- single parameters of non-query endpoints -----------------------------------------------


def parse_bool_param(args: Args, name: str, default: bool) -> bool:
    """A boolean query parameter (``cascade``, ``failIfNotExists``…); missing or empty → default."""
    raw = _first(args, name)
    if raw is None or raw == "":
        return default
    value = _bool_text(raw)
    if value is None:
        raise _bad_param(name, raw)
    return value


def parse_int_param(
    args: Args, name: str, default: int | None = None, *, minimum: int | None = None
) -> int | None:
    """A 32-bit integer query parameter; missing or empty → default; below ``minimum`` → 400."""
    raw = _first(args, name)
    if raw is None or raw == "":
        return default
    value = _int_text(raw)
    if value is None or (minimum is not None and value < minimum):
        raise _bad_param(name, raw)
    return value


def parse_date_param(args: Args, name: str) -> datetime | None:
    """A date query parameter (contract section 3); missing or empty → None."""
    raw = _first(args, name)
    if raw is None or raw == "":
        return None
    try:
        return parse_date(raw)
    except ValueError:
        raise _bad_param(name, raw) from None


def parse_paging(args: Args) -> tuple[int, int | None]:
    """``(firstResult, maxResults)`` from the query string; negative or non-integer → 400."""
    first_result = parse_int_param(args, "firstResult", 0, minimum=0) or 0
    max_results = parse_int_param(args, "maxResults", None, minimum=0)
    return first_result, max_results


# --- helpers ----------------------------------------------------------------------------------


def _getlist(args: Args, name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = args.get(name)
    return [] if value is None else [value]


def _first(args: Args, name: str) -> str | None:
    values = _getlist(args, name)
    return values[0] if values else None  # Camunda reads the first of repeated keys


def _bool_text(raw: str) -> bool | None:
    lowered = raw.lower()
    return True if lowered == "true" else False if lowered == "false" else None


def _int_text(raw: str) -> int | None:
    # strip(): an unencoded "+5" arrives as " 5"
    text = raw.strip()
    if not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if INT32_MIN <= value <= INT32_MAX else None


def _from_text(name: str, kind: str, raws: list[str]) -> Any:
    if kind == "str":
        return raws[0]
    if kind == "str_list":
        items = [item for raw in raws for item in raw.split(",") if item]
        return list(dict.fromkeys(items)) or _ABSENT
    if kind == "variables":
        expressions = [expr for raw in raws for expr in raw.split(",") if expr]
        return [_variable_expression(expr) for expr in expressions] or _ABSENT
    raw = raws[0]
    if raw == "":  # "?active=" says nothing (Camunda's converters read it as null)
        return _ABSENT
    if kind in ("bool", "true_only"):
        value = _bool_text(raw)
        if value is None:
            raise _bad_param(name, raw)
        return _ABSENT if kind == "true_only" and not value else value
    if kind == "int":
        number = _int_text(raw)
        if number is None:
            raise _bad_param(name, raw)
        return number
    try:  # date
        return parse_date(raw)
    except ValueError:
        raise _bad_param(name, raw) from None


def _variable_expression(expression: str) -> VariableFilter:
    parts = expression.split("_")
    # Java's split() drops a trailing empty part, so "a_eq_" has the wrong format in Camunda.
    if len(parts) != 3 or parts[2] == "":
        raise InvalidRequest(VARIABLE_FORMAT_MESSAGE)
    name, operator, value = parts
    _check_operator(operator)
    return VariableFilter(name, operator, value)


def _from_json(member: str, kind: str, raw: Any) -> Any:
    """Convert one non-null JSON member; ``member`` is its path for messages."""
    if kind == "str":
        if isinstance(raw, str):
            return raw
    elif kind == "str_list":
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return list(dict.fromkeys(raw)) or _ABSENT
    elif kind in ("bool", "true_only"):
        value = raw if isinstance(raw, bool) else _bool_text(raw) if isinstance(raw, str) else None
        if value is not None:
            return _ABSENT if kind == "true_only" and not value else value
    elif kind == "int":
        number = _json_int(raw)
        if number is not None:
            return number
    elif kind == "date":
        if isinstance(raw, str):
            try:
                return parse_date(raw)
            except ValueError:
                pass
    else:  # variables
        return _json_variables(member, raw)
    raise _wrong_member(member, _EXPECTED[kind])


def _json_int(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        return _int_text(raw)
    if isinstance(raw, int) and INT32_MIN <= raw <= INT32_MAX:
        return raw
    return None


def _json_variables(member: str, raw: Any) -> Any:
    if not isinstance(raw, list):
        raise _wrong_member(member, _EXPECTED["variables"])
    result = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise _wrong_member(f"{member}[{index}]", "a {name, operator, value} object with a name")
        operator = entry.get("operator")
        _check_operator(operator)
        value = entry.get("value")
        if not (value is None or isinstance(value, str | int | float)):
            raise _wrong_member(f"{member}[{index}].value", "a string, number, boolean or null")
        result.append(VariableFilter(entry["name"], operator, value))
    return result or _ABSENT


def _check_operator(operator: Any) -> None:
    if not isinstance(operator, str) or operator not in VARIABLE_OPERATORS:
        raise InvalidRequest(f"Invalid variable comparator specified: {_plain(operator)}")


def _sort_pair(allowed: frozenset[str], sort_by: Any, sort_order: Any) -> tuple[str, bool] | None:
    """Validate one sortBy/sortOrder pair; both missing → None. Value checks come first, as in
    Camunda, whose setters reject a bad value before the pair is checked for completeness."""
    if sort_by is None and sort_order is None:
        return None
    # isinstance first: a JSON array or object is unhashable and would raise TypeError (a 500).
    if sort_by is not None and (not isinstance(sort_by, str) or sort_by not in allowed):
        raise InvalidRequest(f"sortBy parameter has invalid value: {_plain(sort_by)}")
    if sort_order is not None and (not isinstance(sort_order, str) or sort_order not in SORT_ORDERS):
        raise InvalidRequest(f"sortOrder parameter has invalid value: {_plain(sort_order)}")
    if sort_by is None or sort_order is None:
        raise InvalidRequest(SORT_PAIR_MESSAGE)
    return sort_by, SORT_ORDERS[sort_order]


def _given(value: Any) -> bool:
    """Whether a JSON member counts as set: not null, false, "false", [] or {}."""
    if value is None or value is False or value == [] or value == {}:
        return False
    return not (isinstance(value, str) and value.lower() == "false")


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _unsupported(name: str) -> InvalidRequest:
    return InvalidRequest(f"Unsupported query parameter '{name}'")


def _bad_param(name: str, raw: str) -> InvalidRequest:
    return InvalidRequest(f"Cannot set query parameter '{name}' to value '{raw}'")


def _wrong_member(member: str, expected: str) -> InvalidRequest:
    # Same wording as app.api.camunda.common.member() for other JSON bodies.
    return InvalidRequest(f"Cannot deserialize member '{member}': expected {expected}")
