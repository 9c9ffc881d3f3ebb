"""Keyfactor's ``QueryString`` language (contract section 5).

``parse`` turns the text into a small tree, checking field names, operators and values
against the endpoint's fields; ``to_sql`` turns the tree into a SQLAlchemy condition and
``to_predicate`` into a Python test (for the in-memory catalogs: step types, workflow types).
Every mistake is an ``InvalidRequest`` (400) whose message names the 1-based position.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from app.errors import InvalidRequest

#: Baton's Status mapping (contract 9.3); 6 is reserved and matches nothing.
STATUS_NAMES = ("Running", "Suspended", "Complete", "Rejected", "Failed", "CanceledForRestart")
RESERVED_STATUS = 6

STRING, GUID, NUMBER, DATE, BOOLEAN, STATUS, STRING_LIST = (
    "string", "guid", "number", "date", "boolean", "status", "string list")

_OPERATORS: dict[str, tuple[str, ...]] = {
    STRING: ("-eq", "-ne", "-contains", "-notcontains", "-startswith", "-endswith"),
    STRING_LIST: ("-eq", "-ne", "-contains", "-notcontains", "-startswith", "-endswith"),
    GUID: ("-eq", "-ne"),
    NUMBER: ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"),
    DATE: ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"),
    BOOLEAN: ("-eq", "-ne"),
    STATUS: ("-eq", "-ne"),
}
ALL_OPERATORS = frozenset(op for ops in _OPERATORS.values() for op in ops)
_NULLABLE = (STRING, GUID, NUMBER, DATE)


class QueryError(InvalidRequest):
    """A malformed QueryString (400)."""


@dataclass(frozen=True)
class Field:
    """A queryable field: its Keyfactor name, type and how a value is prepared before comparing."""

    name: str
    type: str
    #: Applied to a (non-null) string value before comparing, e.g. dropping a ``DOMAIN\\`` part.
    transform: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str
    value: Any  # None = NULL
    position: int


@dataclass(frozen=True)
class Junction:
    kind: str  # "and" | "or"
    parts: tuple[Node, ...]


Node = Comparison | Junction


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "and", "or", "word", "op", "string", "number", "null", "bool", "end"
    value: Any
    position: int


def _fail(position: int, message: str) -> QueryError:
    return QueryError(f"Invalid QueryString at position {position}: {message}")


# --------------------------------------------------------------------------------------------
# Tokens and grammar


def _tokens(text: str) -> list[_Token]:
    result: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            result.append(_Token(char, char, i + 1))
            i += 1
        elif char == '"':
            start, i, chars = i, i + 1, []
            while True:
                if i >= n:
                    raise _fail(start + 1, "the quoted value is not closed")
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '\\"':
                    chars.append(text[i + 1])
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    chars.append(text[i])
                    i += 1
            result.append(_Token("string", "".join(chars), start + 1))
        elif char == "-" and i + 1 < n and text[i + 1].isalpha():
            start = i
            i += 1
            while i < n and text[i].isalpha():
                i += 1
            op = text[start:i].lower()
            if op not in ALL_OPERATORS:
                raise _fail(start + 1, f"unknown operator '{text[start:i]}'")
            result.append(_Token("op", op, start + 1))
        elif char.isdigit() or (char in "-+." and i + 1 < n and text[i + 1].isdigit()):
            start = i
            i += 1
            while i < n and (text[i].isalnum() or text[i] in ".+-") and not text[i].isspace():
                i += 1
            raw = text[start:i]
            try:
                number: int | float = int(raw)
            except ValueError:
                try:
                    number = float(raw)
                except ValueError:
                    raise _fail(start + 1, f"'{raw}' is not a number") from None
            result.append(_Token("number", number, start + 1))
        elif char.isalpha() or char == "_":
            start = i
            while i < n and (text[i].isalnum() or text[i] in "_.:"):
                i += 1
            word = text[start:i]
            lower = word.lower()
            if lower in ("and", "or"):
                result.append(_Token(lower, word, start + 1))
            elif lower == "null":
                result.append(_Token("null", None, start + 1))
            elif lower in ("true", "false"):
                result.append(_Token("bool", lower == "true", start + 1))
            else:
                result.append(_Token("word", word, start + 1))
        else:
            raise _fail(i + 1, f"unexpected character '{char}'")
    result.append(_Token("end", None, n + 1))
    return result


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, Field]) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.fields = {name.lower(): f for name, f in fields.items()}

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            raise _fail(token.position, f"expected AND, OR or the end of the query, found '{token.value}'")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.term()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def term(self) -> Node:
        token = self.peek()
        if token.kind == "(":
            self.take()
            node = self.or_expr()
            closing = self.take()
            if closing.kind != ")":
                raise _fail(closing.position, "expected ')'")
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        token = self.take()
        if token.kind != "word":
            found = "the end of the query" if token.kind == "end" else f"'{token.value}'"
            raise _fail(token.position, f"expected a field name, found {found}")
        spec = self.fields.get(token.value.lower())
        if spec is None:
            known = ", ".join(f.name for f in self.fields.values())
            raise _fail(token.position, f"unknown field '{token.value}' (fields: {known})")
        op_token = self.take()
        if op_token.kind != "op":
            raise _fail(op_token.position, f"expected an operator after '{spec.name}'")
        if op_token.value not in _OPERATORS[spec.type]:
            raise _fail(op_token.position, f"operator '{op_token.value}' does not apply to {spec.name} "
                                           f"({spec.type}); use one of {', '.join(_OPERATORS[spec.type])}")
        value_token = self.take()
        value = _value(spec, op_token.value, value_token)
        return Comparison(spec, op_token.value, value, token.position)


def _value(spec: Field, op: str, token: _Token) -> Any:
    pos, kind, raw = token.position, token.kind, token.value
    if kind in ("end", "(", ")", "and", "or", "op", "word"):
        found = "the end of the query" if kind == "end" else f"'{raw}'"
        raise _fail(pos, f"expected a value for {spec.name}, found {found}")
    if kind == "null":
        if spec.type not in _NULLABLE or op not in ("-eq", "-ne"):
            raise _fail(pos, f"NULL cannot be compared with {spec.name} using '{op}'")
        return None
    if spec.type in (STRING, STRING_LIST):
        if kind != "string":
            raise _fail(pos, f"{spec.name} needs a quoted string value")
        return spec.transform(raw) if spec.transform else raw
    if spec.type == GUID:
        if kind != "string":
            raise _fail(pos, f"{spec.name} needs a quoted GUID value")
        try:
            return str(uuid.UUID(raw.strip()))
        except ValueError:
            raise _fail(pos, f"'{raw}' is not a GUID") from None
    if spec.type == NUMBER:
        if kind == "number" or (kind == "string" and _is_number(raw)):
            number = raw if kind == "number" else float(raw)
            return int(number) if float(number).is_integer() else number
        raise _fail(pos, f"{spec.name} needs a number value")
    if spec.type == DATE:
        if kind != "string":
            raise _fail(pos, f"{spec.name} needs a quoted ISO 8601 date")
        parsed = parse_date(raw)
        if parsed is None:
            raise _fail(pos, f"'{raw}' is not an ISO 8601 date")
        return parsed
    if spec.type == BOOLEAN:
        if kind == "bool":
            return raw
        if kind == "string" and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise _fail(pos, f"{spec.name} needs true or false")
    # Status: a name (any case) or an integer 0-6, quoted or not.
    text = str(raw).strip() if kind in ("string", "number") else ""
    if text.isdigit() and 0 <= int(text) <= RESERVED_STATUS:
        return int(text)
    for number, name in enumerate(STATUS_NAMES):
        if name.lower() == text.lower():
            return number
    raise _fail(pos, f"'{raw}' is not a workflow status ({', '.join(STATUS_NAMES)} or 0-6)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_date(text: str) -> datetime | None:
    """ISO 8601; a date without time is midnight UTC, a time without offset is UTC."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), UTC)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse(text: str | None, fields: Mapping[str, Field]) -> Node | None:
    """The query tree, or None for an empty query (matches everything)."""
    if text is None or not text.strip():
        return None
    return _Parser(text, fields).parse()


# --------------------------------------------------------------------------------------------
# SQL


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_sql(node: Node | None, columns: Mapping[str, Any]) -> ColumnElement[bool]:
    """``columns`` maps each field name to a column expression (Status: its integer expression)."""
    if node is None:
        return true()
    if isinstance(node, Junction):
        parts = [to_sql(part, columns) for part in node.parts]
        return and_(*parts) if node.kind == "and" else or_(*parts)
    column = columns[node.field.name]
    op, value, kind = node.op, node.value, node.field.type
    if value is None:
        return column.is_(None) if op == "-eq" else column.is_not(None)
    if kind == BOOLEAN:
        condition = column if value else not_(column)
        return condition if op == "-eq" else not_(condition)
    if kind == STATUS:
        if value == RESERVED_STATUS:
            return false() if op == "-eq" else true()
        return column == value if op == "-eq" else column != value
    if kind in (STRING, GUID):
        lowered, text = func.lower(column), str(value).lower()
        # Keyfactor's collation ignores case; a negative test also holds for a missing value.
        if op == "-eq":
            return lowered == text
        if op == "-ne":
            return or_(lowered != text, column.is_(None))
        pattern = _escape_like(text)
        if op == "-contains":
            return lowered.like(f"%{pattern}%", escape="\\")
        if op == "-notcontains":
            return or_(not_(lowered.like(f"%{pattern}%", escape="\\")), column.is_(None))
        if op == "-startswith":
            return lowered.like(f"{pattern}%", escape="\\")
        return lowered.like(f"%{pattern}", escape="\\")
    comparisons = {"-eq": column == value, "-lt": column < value, "-le": column <= value,
                   "-gt": column > value, "-ge": column >= value}
    if op == "-ne":
        return or_(column != value, column.is_(None))
    return comparisons[op]


# --------------------------------------------------------------------------------------------
# Python (catalogs)


def _matches(op: str, actual: Any, expected: Any, kind: str) -> bool:
    if expected is None:
        return (actual is None) == (op == "-eq")
    if actual is None:
        return op in ("-ne", "-notcontains")
    if kind in (STRING, STRING_LIST, GUID):
        a, e = str(actual).lower(), str(expected).lower()
        tests = {"-eq": a == e, "-ne": a != e, "-contains": e in a, "-notcontains": e not in a,
                 "-startswith": a.startswith(e), "-endswith": a.endswith(e)}
        return tests[op]
    if kind in (BOOLEAN, STATUS):
        return (actual == expected) == (op == "-eq")
    tests = {"-eq": actual == expected, "-ne": actual != expected, "-lt": actual < expected,
             "-le": actual <= expected, "-gt": actual > expected, "-ge": actual >= expected}
    return tests[op]


def to_predicate(node: Node | None, getters: Mapping[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    if node is None:
        return lambda _item: True
    if isinstance(node, Junction):
        tests = [to_predicate(part, getters) for part in node.parts]
        if node.kind == "and":
            return lambda item: all(test(item) for test in tests)
        return lambda item: any(test(item) for test in tests)
    getter, comparison = getters[node.field.name], node

    def test(item: Any) -> bool:
        actual = getter(item)
        if comparison.field.type == STRING_LIST:
            items = list(actual or [])
            if comparison.op in ("-ne", "-notcontains"):
                # "holds for any element" of the positive test, negated as a whole.
                positive = "-eq" if comparison.op == "-ne" else "-contains"
                return not any(_matches(positive, a, comparison.value, STRING) for a in items)
            return any(_matches(comparison.op, a, comparison.value, STRING) for a in items)
        return _matches(comparison.op, actual, comparison.value, comparison.field.type)
    return test
