"""Deploy-time translation of Camunda Modeler JUEL (and bare ISO timer literals) into Python.

SpiffWorkflow evaluates conditions, timer expressions and multi-instance expressions as Python;
Camunda Modeler writes JUEL (``${amount > 100 && approved}``) and bare ISO 8601 timer values
(``PT1H``). We translate the common JUEL subset once, when a model is deployed, and refuse the
rest with a :class:`JuelError` naming what is unsupported.

The translator (``juel_parser``) is a tokenizer plus a recursive-descent parser that renders a
fixed set of constructs; nothing is done by regex substitution, so JUEL text can only ever become the Python
constructs rendered below: names, literals, ``x['key']`` subscripts, boolean/comparison/
arithmetic operators and conditional expressions. Names starting with ``_`` are rejected, so
``${a.__class__}`` or ``${__import__('os')}`` cannot turn into attribute access or calls.

Decisions:

* ``a.b`` becomes ``a['b']``: process variables are plain JSON data (dicts), not objects.
* ``empty x`` becomes the pure expression ``(x is None or x == '' or x == [] or x == {})``
  rather than a call to a helper, so the expression evaluator needs no extra function and
  ``0``/``False`` are (as in JUEL) not empty.
* Every JUEL binary operator keeps JUEL's grouping: the output is parenthesised wherever
  Python's precedence differs (``!a == b`` is ``(not a) == b``; comparisons never chain).
"""

from __future__ import annotations

import ast
import keyword
import re

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine.juel_parser import JuelError, check_name, parse_juel

__all__ = [
    "JuelError",
    "contains_juel",
    "python_syntax_error",
    "translate_expression",
    "translate_timer",
    "translate_variable_name",
]


_EL_START = re.compile(r"[$#]\{")


def contains_juel(text: str | None) -> bool:
    """True if ``text`` contains a JUEL ``${`` / ``#{`` marker."""
    return bool(text) and _EL_START.search(text) is not None


def _split_el(text: str) -> str | None:
    """The body of a text that is exactly one ``${...}``/``#{...}``; None if it has no marker."""
    stripped = text.strip()
    if not contains_juel(stripped):
        return None
    if not (stripped[:2] in ("${", "#{") and stripped.endswith("}")):
        raise JuelError("mixed text and expressions are not supported; "
                        "the whole value must be a single ${...} expression")
    return stripped[2:-1]


def translate_expression(text: str) -> str:
    """Translate one JUEL expression (``${...}`` or ``#{...}``) into a Python expression.

    Text without a ``${``/``#{`` marker is assumed to be Python already and returned unchanged.
    Raises :class:`JuelError` for anything outside the supported subset.
    """
    body = _split_el(text)
    if body is None:
        return text
    return parse_juel(body)


def translate_variable_name(text: str) -> str:
    """Translate a value that must name a variable (``camunda:collection``): ``${items}`` or ``items``."""
    body = _split_el(text)
    name = (body if body is not None else text).strip()
    check_name(name, "variable")
    if keyword.iskeyword(name):
        raise JuelError(f"variable {name!r} is a Python keyword")
    return name


_DURATION = re.compile(
    r"P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CYCLE_LIKE = re.compile(r"R\d*/", re.IGNORECASE)
_CRON_LIKE = re.compile(r"^[\d*?/,\-LW#A-Z]+(\s+[\d*?/,\-LW#A-Z]+){4,6}$", re.IGNORECASE)
_ISO_LIKE = re.compile(r"(P\d|PT\d|R\d*/|\d{4}-\d{2})", re.IGNORECASE)


def _is_duration(text: str) -> bool:
    if not _DURATION.fullmatch(text):
        return False
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:
        return False
    return True


def _is_date(text: str) -> bool:
    if not _DATE_LIKE.match(text):
        return False
    try:
        TimerEventDefinition.get_datetime(text)
    except Exception:
        return False
    return True


def _is_cycle(text: str) -> bool:
    if not _CYCLE_LIKE.match(text):
        return False
    try:
        TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:
        return False
    return True


_TIMER_CHECKS = {
    "timeDuration": (_is_duration, "an ISO 8601 duration such as PT1H"),
    "timeDate": (_is_date, "an ISO 8601 date-time such as 2024-05-01T12:00:00Z"),
    "timeCycle": (_is_cycle, "an ISO 8601 repeating interval such as R3/PT10M"),
}


def translate_timer(kind: str, text: str) -> str:
    """Translate a timer definition value into a Python expression SpiffWorkflow evaluates.

    ``kind`` is ``timeDuration``, ``timeDate`` or ``timeCycle``. Bare ISO 8601 literals become
    quoted Python strings (checked with SpiffWorkflow's own timer parsing, so they are accepted
    at run time); ``${...}`` is translated as JUEL; anything else is taken as Python already.
    """
    if kind not in _TIMER_CHECKS:
        raise JuelError(f"unknown timer kind {kind!r}")
    value = text.strip()
    if not value:
        raise JuelError(f"the {kind} is empty")
    if contains_juel(value):
        return translate_expression(value)
    check, expected = _TIMER_CHECKS[kind]
    if check(value):
        return repr(value)
    for other_kind, (other_check, _) in _TIMER_CHECKS.items():
        if other_check(value):
            raise JuelError(f"{value!r} is a {other_kind} value, not valid for {kind}: expected {expected}")
    if kind == "timeCycle" and _CRON_LIKE.match(value):
        raise JuelError(f"cron expressions are not supported in timeCycle ({value!r}); use R<n>/<duration>")
    if _ISO_LIKE.match(value):
        # Not quoted and not valid ISO: as a Python name it would only fail later, at run time.
        raise JuelError(f"{value!r} is not valid for {kind}: expected {expected}")
    return value


def python_syntax_error(expression: str) -> str | None:
    """None if ``expression`` is a syntactically valid Python expression, else the error text."""
    try:
        ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        return f"invalid Python expression ({exc.msg})"
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return f"invalid Python expression ({type(exc).__name__})"
    return None
