"""JUEL → Python translation (app/engine/juel.py)."""

from __future__ import annotations

import pytest

from app.engine.juel import (
    JuelError,
    python_syntax_error,
    translate_expression,
    translate_timer,
    translate_variable_name,
)

EMPTY_X = "(x is None or x == '' or x == [] or x == {})"

TRANSLATIONS = [
    ("${approved}", "approved"),
    ("#{approved}", "approved"),
    ("  ${ approved }  ", "approved"),
    ("${amount > 100 && approved}", "amount > 100 and approved"),
    ("${a || b && c}", "a or b and c"),
    ("${(a || b) && c}", "(a or b) and c"),
    ("${a and b or not c}", "a and b or not c"),
    ("${!approved}", "not approved"),
    ("${!a == b}", "(not a) == b"),
    ("${!(a == b)}", "not (a == b)"),
    ("${a eq 1}", "a == 1"),
    ("${a ne 'x'}", "a != 'x'"),
    ("${a lt 1 || a gt 2}", "a < 1 or a > 2"),
    ("${a le 1 && a ge 0}", "a <= 1 and a >= 0"),
    ("${a < b == c}", "(a < b) == c"),
    ("${a == b == c}", "(a == b) == c"),
    ("${clarified == 'yes'}", "clarified == 'yes'"),
    ('${name == "Bob"}', "name == 'Bob'"),
    ("${s == 'it\\'s'}", "s == \"it's\""),
    ("${x == null}", "x == None"),
    ("${true}", "True"),
    ("${false || x}", "False or x"),
    ("${3}", "3"),
    ("${2.5e1}", "25.0"),
    ("${-x}", "-x"),
    ("${-(a + b)}", "-(a + b)"),
    ("${a - (b - c)}", "a - (b - c)"),
    ("${a - b - c}", "a - b - c"),
    ("${a + b * c}", "a + b * c"),
    ("${(a + b) * c}", "(a + b) * c"),
    ("${a div 2}", "a / 2"),
    ("${a mod 2 == 0}", "a % 2 == 0"),
    ("${a % 2}", "a % 2"),
    ("${order.total}", "order['total']"),
    ("${order.customer.name == 'x'}", "order['customer']['name'] == 'x'"),
    ("${items[0]}", "items[0]"),
    ("${a['b c'].d}", "a['b c']['d']"),
    ("${empty x}", EMPTY_X),
    ("${not empty x}", f"not {EMPTY_X}"),
    ("${empty x == false}", f"{EMPTY_X} == False"),
    ("${x > 1 ? 'big' : 'small'}", "'big' if x > 1 else 'small'"),
    # No ${...}: already Python, returned unchanged.
    ("x > 1", "x > 1"),
    ("  x == 'a'  ", "  x == 'a'  "),
]


@pytest.mark.parametrize(("juel", "python"), TRANSLATIONS)
def test_translation_table(juel: str, python: str) -> None:
    assert translate_expression(juel) == python


@pytest.mark.parametrize(("juel", "variables", "expected"), [
    ("${amount > 100 && approved}", {"amount": 150, "approved": True}, True),
    ("${amount > 100 && approved}", {"amount": 50, "approved": True}, False),
    ("${!approved}", {"approved": False}, True),
    ("${!a == b}", {"a": True, "b": False}, True),  # (not a) == b, as in JUEL
    ("${a < b == c}", {"a": 1, "b": 2, "c": True}, True),  # (a < b) == c, no chaining
    ("${a - b - c}", {"a": 10, "b": 3, "c": 2}, 5),
    ("${7 div 2}", {}, 3.5),
    ("${7 mod 2}", {}, 1),
    ("${order.total >= 10}", {"order": {"total": 12}}, True),
    ("${order.lines[1].qty}", {"order": {"lines": [{"qty": 1}, {"qty": 4}]}}, 4),
    ("${empty x}", {"x": None}, True),
    ("${empty x}", {"x": ""}, True),
    ("${empty x}", {"x": []}, True),
    ("${empty x}", {"x": {}}, True),
    ("${empty x}", {"x": 0}, False),  # JUEL: 0 and false are not empty
    ("${empty x}", {"x": False}, False),
    ("${empty x}", {"x": "a"}, False),
    ("${not empty x}", {"x": [1]}, True),
    ("${x == null}", {"x": None}, True),
    ("${x > 1 ? 'big' : 'small'}", {"x": 5}, "big"),
    ("${-x + 1}", {"x": 3}, -2),
    ("${a || b && c}", {"a": False, "b": True, "c": False}, False),
])
def test_translated_python_has_juel_semantics(juel: str, variables: dict, expected: object) -> None:
    python = translate_expression(juel)
    assert python_syntax_error(python) is None
    assert eval(python, {"__builtins__": {}}, dict(variables)) == expected  # noqa: S307 - test only


@pytest.mark.parametrize(("juel", "fragment"), [
    ("${execution.getVariable('x')}", "execution"),
    ("${task.name}", "task"),
    ("${order.getTotal()}", "method calls"),
    ("${myBean.approve(x)}", "method calls"),
    ("${f(x)}", "function calls"),
    ("${fn:contains(a, 'b')}", "function calls"),
    ("Hello ${name}", "mixed text"),
    ("${a} and ${b}", "mixed text"),
    ("${a}${b}", "mixed text"),
    ("${x = 1}", "assignment"),
    ("${x instanceof y}", "instanceof"),
    ("${[1, 2]}", "list literals"),
    ("${}", "empty expression"),
    ("${a &&}", "unexpected"),
    ("${(a}", "expected ')'"),
    ("${'open}", "unterminated"),
    ("${a ; b}", "unexpected character"),
    ("${1e999}", "out of range"),
    ("${None}", "Python keyword"),
    ("${lambda}", "Python keyword"),
])
def test_unsupported_juel_is_rejected_with_a_reason(juel: str, fragment: str) -> None:
    with pytest.raises(JuelError, match=None) as info:
        translate_expression(juel)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("juel", [
    "${__import__('os').system('id')}",
    "${a.__class__}",
    "${a.__class__.__base__.__subclasses__()}",
    "${a['__class__']}",
    "${_private}",
    "${x._y}",
    "${().__class__}",
    "${''.join(x)}",
    "${open('/etc/passwd').read()}",
    "${eval('1')}",
    "${a.b.__dict__}",
    "${\uff3f\uff3fimport\uff3f\uff3f}",  # fullwidth low lines: NFKC-normalise to '__import__'
    "${a\u2024b}",
])
def test_injection_attempts_are_rejected(juel: str) -> None:
    with pytest.raises(JuelError):
        translate_expression(juel)


def test_translation_never_emits_attribute_access_or_calls() -> None:
    import ast

    for juel, _ in TRANSLATIONS:
        tree = ast.parse(translate_expression(juel).strip(), mode="eval")
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Attribute | ast.Call | ast.Lambda), juel


@pytest.mark.parametrize(("kind", "text", "python"), [
    ("timeDuration", "PT1H", "'PT1H'"),
    ("timeDuration", "  P1D\n", "'P1D'"),
    ("timeDuration", "PT0.5S", "'PT0.5S'"),
    ("timeDuration", "P1W", "'P1W'"),
    ("timeDuration", "P1Y2M3DT4H5M6S", "'P1Y2M3DT4H5M6S'"),
    ("timeCycle", "R3/PT10M", "'R3/PT10M'"),
    ("timeCycle", "R/PT5M", "'R/PT5M'"),
    ("timeCycle", "R3/2024-05-01T12:00:00Z/PT1H", "'R3/2024-05-01T12:00:00Z/PT1H'"),
    ("timeDate", "2024-05-01T12:00:00Z", "'2024-05-01T12:00:00Z'"),
    ("timeDate", "2024-05-01T12:00:00+02:00", "'2024-05-01T12:00:00+02:00'"),
    ("timeDuration", "'PT1H'", "'PT1H'"),
    ("timeDuration", '"PT1H"', '"PT1H"'),
    ("timeDuration", "${duration}", "duration"),
    ("timeDate", "#{order.due}", "order['due']"),
    ("timeDate", "futuredate", "futuredate"),
])
def test_timer_translation(kind: str, text: str, python: str) -> None:
    assert translate_timer(kind, text) == python


def test_timer_literals_are_accepted_by_spiffworkflow() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

    assert Timer.parse_iso_duration(eval(translate_timer("timeDuration", "PT1H"))) == {"hours": 1}  # noqa: S307
    cycles, _, duration = Timer.parse_iso_recurring_interval(eval(translate_timer("timeCycle", "R3/PT10M")))  # noqa: S307
    assert (cycles, duration.total_seconds()) == (3, 600)
    moment = Timer.get_datetime(eval(translate_timer("timeDate", "2024-05-01T12:00:00+02:00")))  # noqa: S307
    assert moment.isoformat() == "2024-05-01T10:00:00+00:00"


@pytest.mark.parametrize(("kind", "text", "fragment"), [
    ("timeDuration", "", "empty"),
    ("timeDuration", "P1X", "not valid for timeDuration"),
    ("timeDuration", "R3/PT1H", "timeCycle value"),
    ("timeDate", "PT1H", "timeDuration value"),
    ("timeDate", "2024-13-45T00:00:00", "not valid for timeDate"),
    ("timeCycle", "0 0/5 * * * ?", "cron"),
    ("timeDuration", "Wait ${x} minutes", "mixed text"),
    ("timeDuration", "${f(x)}", "function calls"),
    ("timeSomething", "PT1H", "unknown timer kind"),
])
def test_bad_timer_values_are_rejected(kind: str, text: str, fragment: str) -> None:
    with pytest.raises(JuelError) as info:
        translate_timer(kind, text)
    assert fragment in str(info.value)


def test_variable_names() -> None:
    assert translate_variable_name("${items}") == "items"
    assert translate_variable_name(" items ") == "items"
    for bad in ("${a.b}", "__x", "${_x}", "a b", "None"):
        with pytest.raises(JuelError):
            translate_variable_name(bad)


def test_python_syntax_check() -> None:
    assert python_syntax_error("a and b") is None
    assert python_syntax_error("  a and b \n") is None
    assert python_syntax_error("Service Level == 'Premium'") is not None
    assert python_syntax_error("a = 1") is not None


@pytest.mark.parametrize("juel", ["${" + "(" * 5000 + "a" + ")" * 5000 + "}", "${" + "!" * 5000 + "a}"])
def test_absurd_nesting_is_a_juel_error_not_a_recursion_error(juel: str) -> None:
    with pytest.raises(JuelError, match="nested too deeply"):
        translate_expression(juel)
