"""Typed variables: app.values (model, inference, storage, engine) and the Camunda wire format
of app.api.camunda.variables (contract 4.1–4.4)."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from app.api.camunda.variables import (
    JSON_VALUE_MESSAGE,
    ParsedVariable,
    parse_variable,
    parse_variable_map,
    parse_variables,
    render_variable,
    render_variable_map,
)
from app.errors import InvalidRequest
from app.values import (
    VALUE_TYPES,
    TypedValue,
    from_storage,
    infer,
    keep_or_infer,
    same_value,
    to_engine,
    to_storage,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def parse(obj: Any, name: str = "v") -> TypedValue:
    return parse_variable(name, obj).typed


def parse_error(obj: Any, name: str = "v") -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_variable(name, obj)
    assert info.value.status == 400
    return info.value


def storage_round_trip(tv: TypedValue) -> TypedValue:
    # Through real JSON text, as the store keeps it.
    return from_storage(json.loads(json.dumps(to_storage(tv))))


# === app.values: the model ==================================================================


def test_value_types_are_the_eight_supported() -> None:
    assert VALUE_TYPES == ("String", "Integer", "Long", "Double", "Boolean", "Json", "Date", "Null")


def test_typed_value_is_frozen() -> None:
    tv = TypedValue("String", "a")
    with pytest.raises(AttributeError):
        tv.value = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("Short", 1),
        ("string", "a"),
        ("String", 5),
        ("Integer", 2**31),
        ("Integer", True),
        ("Integer", 1.0),
        ("Long", 2**63),
        ("Long", "5"),
        ("Double", "1.5"),
        ("Double", float("nan")),
        ("Double", float("inf")),
        ("Boolean", 1),
        ("Date", "2024-05-01T00:00:00Z"),
        ("Date", date(2024, 5, 1)),
        ("Json", {1: "a"}),
        ("Json", {"a": {1, 2}}),
        ("Json", [float("nan")]),
        ("Null", 0),
    ],
)
def test_typed_value_rejects_invalid_combinations(type_: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        TypedValue(type_, value)


@pytest.mark.parametrize("type_", VALUE_TYPES)
def test_every_type_may_hold_a_typed_null(type_: str) -> None:
    assert TypedValue(type_, None).value is None


def test_typed_value_normalizes() -> None:
    assert TypedValue("Double", 5).value == 5.0
    assert isinstance(TypedValue("Double", 5).value, float)
    plus2 = timezone(timedelta(hours=2))
    assert TypedValue("Date", datetime(2024, 5, 1, 14, tzinfo=plus2)).value == utc(2024, 5, 1, 12)
    assert TypedValue("Date", datetime(2024, 5, 1, 14, tzinfo=plus2)).value.tzinfo is UTC
    assert TypedValue("Date", datetime(2024, 5, 1, 14)).value == utc(2024, 5, 1, 14)
    assert TypedValue("Json", {"a": (1, 2)}).value == {"a": [1, 2]}


def test_typed_value_json_is_a_private_copy() -> None:
    doc = {"a": [1]}
    tv = TypedValue("Json", doc)
    doc["a"].append(2)
    assert tv.value == {"a": [1]}


# === app.values: inference ==================================================================


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(enum.StrEnum):
    ANN = "ann"


class Thing:
    def __str__(self) -> str:
        return "a thing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # contract 4.3: JSON values
        ("text", TypedValue("String", "text")),
        ("2024-05-01T12:00:00.000+0000", TypedValue("String", "2024-05-01T12:00:00.000+0000")),  # no sniffing
        ('{"a": 1}', TypedValue("String", '{"a": 1}')),  # no sniffing
        (True, TypedValue("Boolean", True)),
        (False, TypedValue("Boolean", False)),
        (0, TypedValue("Integer", 0)),
        (2**31 - 1, TypedValue("Integer", 2**31 - 1)),
        (-(2**31), TypedValue("Integer", -(2**31))),
        (2**31, TypedValue("Long", 2**31)),
        (-(2**31) - 1, TypedValue("Long", -(2**31) - 1)),
        (2**63 - 1, TypedValue("Long", 2**63 - 1)),
        (-(2**63), TypedValue("Long", -(2**63))),
        (1.5, TypedValue("Double", 1.5)),
        (1.0, TypedValue("Double", 1.0)),
        (1e300, TypedValue("Double", 1e300)),
        (None, TypedValue("Null", None)),
        ({"a": [1, "x"]}, TypedValue("Json", {"a": [1, "x"]})),
        ([1, 2], TypedValue("Json", [1, 2])),
        ([], TypedValue("Json", [])),
        ({}, TypedValue("Json", {})),
        # runtime values
        (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), TypedValue("Date", utc(2024, 5, 1, 12))),
        (datetime(2024, 5, 1, 12, 0), TypedValue("Date", utc(2024, 5, 1, 12))),  # naive = UTC
        (date(2024, 5, 1), TypedValue("Date", utc(2024, 5, 1))),  # midnight UTC
        (Decimal("12.50"), TypedValue("Double", 12.5)),
        (Decimal("3"), TypedValue("Double", 3.0)),
        ((1, "a"), TypedValue("Json", [1, "a"])),
        (Level.HIGH, TypedValue("Integer", 3)),
        (Name.ANN, TypedValue("String", "ann")),
        # no faithful typed form: String holding the text (contract 4.4)
        (2**63, TypedValue("String", str(2**63))),
        (-(2**63) - 1, TypedValue("String", str(-(2**63) - 1))),
        (float("nan"), TypedValue("String", "nan")),
        (float("inf"), TypedValue("String", "inf")),
        (Decimal("NaN"), TypedValue("String", "NaN")),
        (Decimal("sNaN"), TypedValue("String", "sNaN")),
        (Decimal("1e400"), TypedValue("String", "1E+400")),
        ({1, 2}, TypedValue("String", "{1, 2}")),
        (b"ab", TypedValue("String", "b'ab'")),
        (Thing(), TypedValue("String", "a thing")),
        (Color.RED, TypedValue("String", "Color.RED")),
    ],
)
def test_infer(value: Any, expected: TypedValue) -> None:
    result = infer(value)
    assert result.type == expected.type
    assert result.value == expected.value
    assert type(result.value) is type(expected.value)


def test_infer_bool_before_int() -> None:
    assert infer(True).type == "Boolean"
    assert infer(1).type == "Integer"


def test_infer_aware_datetime_is_converted_to_utc() -> None:
    tv = infer(datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))))
    assert tv == TypedValue("Date", utc(2024, 5, 1, 12))
    assert tv.value.tzinfo is UTC


def test_infer_makes_nested_runtime_values_json_safe() -> None:
    tv = infer(
        {
            "when": datetime(2024, 5, 1, 12, tzinfo=UTC),
            "day": date(2024, 5, 1),
            "price": Decimal("9.99"),
            "tags": {"x"},
            "pair": (1, 2),
            2: "int key",
            None: "none key",
            True: "bool key",
            "nan": float("nan"),
        }
    )
    assert tv.type == "Json"
    assert tv.value == {
        "when": "2024-05-01T12:00:00+00:00",
        "day": "2024-05-01",
        "price": 9.99,
        "tags": "{'x'}",
        "pair": [1, 2],
        "2": "int key",
        "null": "none key",
        "true": "bool key",
        "nan": "nan",
    }
    json.dumps(tv.value, allow_nan=False)  # really JSON-safe


def test_infer_cyclic_structure_becomes_string() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    tv = infer(cyclic)
    assert tv == TypedValue("String", "[1, [...]]")


def test_infer_shared_but_acyclic_substructure_is_json() -> None:
    shared = [1]
    assert infer({"a": shared, "b": shared}) == TypedValue("Json", {"a": [1], "b": [1]})


# === app.values: storage ====================================================================


STORAGE_CASES = [
    TypedValue("String", 'héllo "q"'),
    TypedValue("String", ""),
    TypedValue("Integer", 5),
    TypedValue("Integer", -(2**31)),
    TypedValue("Long", 5),
    TypedValue("Long", 2**63 - 1),
    TypedValue("Double", 1.0),
    TypedValue("Double", 0.1),
    TypedValue("Double", -1e-300),
    TypedValue("Boolean", True),
    TypedValue("Boolean", False),
    TypedValue("Json", {"a": [1, 1.0, True, None, "s", {"b": {}}]}),
    TypedValue("Json", [1, 2]),
    TypedValue("Json", "just a string"),
    TypedValue("Json", 5),
    TypedValue("Date", utc(2024, 5, 1, 12, 30, 0, 123456)),
    TypedValue("Date", utc(1, 1, 1)),
    TypedValue("Null", None),
    *(TypedValue(t, None) for t in VALUE_TYPES),
]


@pytest.mark.parametrize("tv", STORAGE_CASES, ids=repr)
def test_storage_round_trip_is_exact(tv: TypedValue) -> None:
    back = storage_round_trip(tv)
    assert back.type == tv.type
    assert back.value == tv.value
    assert type(back.value) is type(tv.value)


def test_storage_shapes() -> None:
    assert to_storage(TypedValue("Long", 5)) == {"type": "Long", "value": 5}
    assert to_storage(TypedValue("Double", 2.0)) == {"type": "Double", "value": 2.0}
    assert json.dumps(to_storage(TypedValue("Double", 2.0))) == '{"type": "Double", "value": 2.0}'
    assert to_storage(TypedValue("Date", utc(2024, 5, 1, 12, 30))) == {
        "type": "Date",
        "value": "2024-05-01T12:30:00.000000+00:00",
    }
    assert to_storage(TypedValue("Json", {"a": [1]})) == {"type": "Json", "value": {"a": [1]}}
    assert to_storage(TypedValue("Null", None)) == {"type": "Null", "value": None}


def test_storage_json_is_a_copy() -> None:
    tv = TypedValue("Json", {"a": [1]})
    stored = to_storage(tv)
    stored["value"]["a"].append(2)
    assert tv.value == {"a": [1]}


def test_from_storage_tolerates_integral_floats_and_ints_for_double() -> None:
    assert from_storage({"type": "Long", "value": 5.0}) == TypedValue("Long", 5)
    assert type(from_storage({"type": "Long", "value": 5.0}).value) is int
    assert type(from_storage({"type": "Double", "value": 5}).value) is float
    assert from_storage({"type": "Null"}) == TypedValue("Null", None)


@pytest.mark.parametrize(
    "stored",
    [
        {"type": "Bytes", "value": "x"},
        {"value": 1},
        {"type": "Date", "value": 5},
        {"type": "Date", "value": "not a date"},
        {"type": "Integer", "value": 1.5},
        {"type": "Integer", "value": "1"},
        "not a dict",
    ],
)
def test_from_storage_rejects_malformed(stored: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        from_storage(stored)


# === app.values: engine and change detection =================================================


def test_to_engine_values() -> None:
    assert to_engine(TypedValue("String", "a")) == "a"
    assert to_engine(TypedValue("Long", 2**40)) == 2**40
    assert to_engine(TypedValue("Double", 1.0)) == 1.0
    assert isinstance(to_engine(TypedValue("Double", 1)), float)
    assert to_engine(TypedValue("Boolean", False)) is False
    assert to_engine(TypedValue("Null", None)) is None
    date_value = to_engine(TypedValue("Date", utc(2024, 5, 1)))
    assert date_value == utc(2024, 5, 1) and date_value.tzinfo is UTC
    assert to_engine(TypedValue("Json", {"a": [1]})) == {"a": [1]}
    assert to_engine(TypedValue("Json", None)) is None


def test_to_engine_json_is_a_copy_so_in_place_changes_are_detected() -> None:
    stored = TypedValue("Json", {"items": [1]})
    runtime = to_engine(stored)
    runtime["items"].append(2)  # a script mutates the document in place
    assert stored.value == {"items": [1]}
    assert not same_value(runtime, stored)


@pytest.mark.parametrize(
    ("runtime", "stored"),
    [
        (5, TypedValue("Long", 5)),  # a Long stays Long while the engine holds 5
        (5, TypedValue("Integer", 5)),
        (1.0, TypedValue("Double", 1.0)),  # a Double 1.0 stays Double
        (5.0, TypedValue("Double", 5)),
        ("5", TypedValue("String", "5")),
        (True, TypedValue("Boolean", True)),
        (None, TypedValue("Null", None)),
        (None, TypedValue("String", None)),  # a typed null keeps its type
        (None, TypedValue("Json", None)),
        (utc(2024, 5, 1), TypedValue("Date", utc(2024, 5, 1))),
        (datetime(2024, 5, 1), TypedValue("Date", utc(2024, 5, 1))),  # naive = UTC
        (datetime(2024, 5, 1, 2, tzinfo=timezone(timedelta(hours=2))), TypedValue("Date", utc(2024, 5, 1))),
        ({"a": [1, 2]}, TypedValue("Json", {"a": [1, 2]})),
        ({"a": (1, 2)}, TypedValue("Json", {"a": [1, 2]})),
        ("abc", TypedValue("Json", "abc")),  # a Json string document stays Json
        (7, TypedValue("Json", 7)),
        ([], TypedValue("Json", [])),
    ],
)
def test_same_value_true(runtime: Any, stored: TypedValue) -> None:
    assert same_value(runtime, stored)


@pytest.mark.parametrize(
    ("runtime", "stored"),
    [
        (6, TypedValue("Long", 5)),
        (1, TypedValue("Double", 1.0)),  # the script assigned an int: now Integer
        (1.0, TypedValue("Integer", 1)),
        (True, TypedValue("Integer", 1)),
        (1, TypedValue("Boolean", True)),
        (0, TypedValue("Boolean", False)),
        ("5", TypedValue("Integer", 5)),
        (5, TypedValue("String", "5")),
        ("x", TypedValue("Null", None)),
        (None, TypedValue("String", "x")),
        ("", TypedValue("Null", None)),
        ("2024-05-01T00:00:00.000+0000", TypedValue("Date", utc(2024, 5, 1))),
        (utc(2024, 5, 1, 0, 0, 1), TypedValue("Date", utc(2024, 5, 1))),
        ({"a": 1}, TypedValue("Json", {"a": True})),  # 1 == True in Python, not here
        ({"a": 1}, TypedValue("Json", {"a": 1.0})),
        ({"a": [1]}, TypedValue("Json", {"a": [1, 2]})),
        ({"a": 1}, TypedValue("Json", {"a": 1, "b": 2})),
        ([1], TypedValue("Json", {"0": 1})),
        ({"a": 1}, TypedValue("String", "{'a': 1}")),
    ],
)
def test_same_value_false(runtime: Any, stored: TypedValue) -> None:
    assert not same_value(runtime, stored)


def test_same_value_cyclic_runtime_is_not_same_as_json() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert not same_value(cyclic, TypedValue("Json", [[]]))


def test_keep_or_infer() -> None:
    declared = TypedValue("Long", 5)
    assert keep_or_infer(5, declared) is declared
    assert keep_or_infer(6, declared) == TypedValue("Integer", 6)
    assert keep_or_infer(6, None) == TypedValue("Integer", 6)
    assert keep_or_infer(None, TypedValue("Date", None)) == TypedValue("Date", None)


# === wire format: parsing (contract 4.1, 4.2) ===============================================


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # String: any scalar, numbers and booleans become their JSON text
        ({"value": "ACME", "type": "String"}, TypedValue("String", "ACME")),
        ({"value": 5, "type": "String"}, TypedValue("String", "5")),
        ({"value": 1.5, "type": "String"}, TypedValue("String", "1.5")),
        ({"value": True, "type": "String"}, TypedValue("String", "true")),
        ({"value": False, "type": "string"}, TypedValue("String", "false")),
        # Integer
        ({"value": 42, "type": "Integer"}, TypedValue("Integer", 42)),
        ({"value": "42", "type": "Integer"}, TypedValue("Integer", 42)),
        ({"value": "-7", "type": "integer"}, TypedValue("Integer", -7)),
        ({"value": "+7", "type": "Integer"}, TypedValue("Integer", 7)),
        ({"value": 2**31 - 1, "type": "Integer"}, TypedValue("Integer", 2**31 - 1)),
        ({"value": -(2**31), "type": "Integer"}, TypedValue("Integer", -(2**31))),
        ({"value": 5.0, "type": "Integer"}, TypedValue("Integer", 5)),  # integral float, as Jackson
        # Long
        ({"value": 5, "type": "Long"}, TypedValue("Long", 5)),
        ({"value": 2**63 - 1, "type": "Long"}, TypedValue("Long", 2**63 - 1)),
        ({"value": str(-(2**63)), "type": "long"}, TypedValue("Long", -(2**63))),
        # Double
        ({"value": 1.5, "type": "Double"}, TypedValue("Double", 1.5)),
        ({"value": 2, "type": "Double"}, TypedValue("Double", 2.0)),
        ({"value": "12.50", "type": "Double"}, TypedValue("Double", 12.5)),  # camunda-client Decimal
        ({"value": "-1e3", "type": "double"}, TypedValue("Double", -1000.0)),
        ({"value": ".5", "type": "Double"}, TypedValue("Double", 0.5)),
        ({"value": "7", "type": "Double"}, TypedValue("Double", 7.0)),
        # Boolean
        ({"value": True, "type": "Boolean"}, TypedValue("Boolean", True)),
        ({"value": False, "type": "boolean"}, TypedValue("Boolean", False)),
        ({"value": "true", "type": "Boolean"}, TypedValue("Boolean", True)),
        ({"value": "FALSE", "type": "Boolean"}, TypedValue("Boolean", False)),
        ({"value": "True", "type": "Boolean"}, TypedValue("Boolean", True)),
        # Date
        ({"value": "2024-05-01T12:00:00.000+0000", "type": "Date"}, TypedValue("Date", utc(2024, 5, 1, 12))),
        ({"value": "2024-05-01T14:00:00.000+02:00", "type": "date"}, TypedValue("Date", utc(2024, 5, 1, 12))),
        ({"value": "2024-05-01T12:00:00", "type": "Date"}, TypedValue("Date", utc(2024, 5, 1, 12))),
        # Json: text (what clients send), or an object/array directly
        ({"value": '{"id":7}', "type": "Json"}, TypedValue("Json", {"id": 7})),
        ({"value": "[1, 2.5, null]", "type": "json"}, TypedValue("Json", [1, 2.5, None])),
        ({"value": '"text"', "type": "Json"}, TypedValue("Json", "text")),
        ({"value": "5", "type": "Json"}, TypedValue("Json", 5)),
        ({"value": {"id": 7}, "type": "Json"}, TypedValue("Json", {"id": 7})),
        ({"value": [1], "type": "Json"}, TypedValue("Json", [1])),
        # Null: value ignored
        ({"value": None, "type": "Null"}, TypedValue("Null", None)),
        ({"value": "ignored", "type": "null"}, TypedValue("Null", None)),
        ({"type": "Null"}, TypedValue("Null", None)),
        # typed nulls keep their type (as in Camunda)
        ({"value": None, "type": "String"}, TypedValue("String", None)),
        ({"value": None, "type": "Integer"}, TypedValue("Integer", None)),
        ({"value": None, "type": "Date"}, TypedValue("Date", None)),
        ({"value": None, "type": "Json"}, TypedValue("Json", None)),
        # no type: inference (contract 4.3); pycamunda sends type/valueInfo null
        ({"value": "x"}, TypedValue("String", "x")),
        ({"value": 5, "type": None, "valueInfo": None}, TypedValue("Integer", 5)),
        ({"value": 3000000000, "type": None}, TypedValue("Long", 3000000000)),
        ({"value": 1.5}, TypedValue("Double", 1.5)),
        ({"value": True}, TypedValue("Boolean", True)),
        ({"value": None}, TypedValue("Null", None)),
        ({}, TypedValue("Null", None)),
        ({"value": {"a": 1}}, TypedValue("Json", {"a": 1})),
        ({"value": [1]}, TypedValue("Json", [1])),
        ({"value": "2024-05-01T12:00:00.000+0000"}, TypedValue("String", "2024-05-01T12:00:00.000+0000")),
    ],
)
def test_parse_variable(obj: dict[str, Any], expected: TypedValue) -> None:
    result = parse(obj)
    assert result.type == expected.type
    assert result.value == expected.value
    assert type(result.value) is type(expected.value)


JAVA = {
    "String": "java.lang.String",
    "Integer": "java.lang.Integer",
    "integer": "java.lang.Integer",
    "Long": "java.lang.Long",
    "Double": "java.lang.Double",
    "Boolean": "java.lang.Boolean",
    "Date": "java.util.Date",
}


@pytest.mark.parametrize(
    ("value", "type_", "shown"),
    [
        ("abc", "Integer", "abc"),
        ("abc", "integer", "abc"),  # the type as given
        (3000000000, "Integer", "3000000000"),
        (-(2**31) - 1, "Integer", "-2147483649"),
        ("3000000000", "Integer", "3000000000"),
        (1.5, "Integer", "1.5"),
        ("1.5", "Integer", "1.5"),
        ("", "Integer", ""),
        (True, "Integer", "true"),
        ("１２", "Integer", "１２"),  # non-ASCII digits
        ("1_000", "Integer", "1_000"),  # Python int() would accept it
        ({"a": 1}, "Integer", '{"a":1}'),
        (1.5, "Long", "1.5"),
        (2**63, "Long", "9223372036854775808"),
        (str(-(2**63) - 1), "Long", "-9223372036854775809"),
        ([1], "Long", "[1]"),
        ("abc", "Double", "abc"),
        ("NaN", "Double", "NaN"),
        ("Infinity", "Double", "Infinity"),
        ("1e999", "Double", "1e999"),
        (10**400, "Double", str(10**400)),
        (False, "Double", "false"),
        ("0x10", "Double", "0x10"),
        ("yes", "Boolean", "yes"),
        (1, "Boolean", "1"),
        ("", "Boolean", ""),
        ("tomorrow", "Date", "tomorrow"),
        ("2024-05-01", "Date", "2024-05-01"),
        (1714564800000, "Date", "1714564800000"),
        ({"a": 1}, "String", '{"a":1}'),
        ([1], "String", "[1]"),
    ],
)
def test_parse_variable_conversion_errors(value: Any, type_: str, shown: str) -> None:
    error = parse_error({"value": value, "type": type_})
    assert error.message == f"Cannot convert value '{shown}' of type '{type_}' to java type {JAVA[type_]}"
    assert error.camunda_type == "InvalidRequestException"


@pytest.mark.parametrize("type_", ["Short", "Bytes", "File", "Object", "Xml", "STRING", "INTEGER", "Str", "", "sTring"])
def test_parse_variable_unsupported_type(type_: str) -> None:
    error = parse_error({"value": "x", "type": type_})
    assert error.message == f"Unsupported value type '{type_}'"
    assert error.camunda_type == "RestException"


def test_parse_variable_unsupported_type_wins_over_null_value() -> None:
    assert parse_error({"value": None, "type": "Bytes"}).message == "Unsupported value type 'Bytes'"


def test_parse_variable_non_string_type() -> None:
    error = parse_error({"value": "x", "type": 5})
    assert error.message == "Unsupported value type '5'"
    assert error.camunda_type == "RestException"


@pytest.mark.parametrize("value", [5, 1.5, True])
def test_parse_json_scalar_is_refused(value: Any) -> None:
    error = parse_error({"value": value, "type": "Json"})
    assert error.message == JSON_VALUE_MESSAGE
    assert error.message == "Must provide 'null' or String value for value of SerializableValue type 'Json'."


@pytest.mark.parametrize("text", ["{not json", "", "[1,", "NaN", "[Infinity]", "{'a': 1}"])
def test_parse_json_bad_text_names_the_variable(text: str) -> None:
    error = parse_error({"value": text, "type": "Json"}, name="order")
    assert "'order'" in error.message
    assert error.message.startswith("Cannot parse value of variable 'order' as Json")
    assert error.camunda_type == "InvalidRequestException"


def test_parse_json_document_with_nan_given_directly_is_refused() -> None:
    # Flask's JSON parser lets NaN through; it has no JSON form to emit again.
    error = parse_error({"value": {"a": float("nan")}, "type": "Json"}, name="order")
    assert "'order'" in error.message


def test_parse_json_deeply_nested_text() -> None:
    error = parse_error({"value": "[" * 100000 + "]" * 100000, "type": "Json"}, name="deep")
    assert "'deep'" in error.message


def test_parse_value_object_must_be_an_object() -> None:
    for obj in (5, "x", None, [1]):
        assert "'amount'" in parse_error(obj, name="amount").message


# --- transient / local ---------------------------------------------------------------------


def test_parse_variable_returns_flags() -> None:
    parsed = parse_variable("v", {"value": 1, "type": "Integer", "valueInfo": {"transient": True}})
    assert parsed == ParsedVariable(TypedValue("Integer", 1), transient=True, local=False)
    assert not parse_variable("v", {"value": 1, "valueInfo": {"transient": False}}).transient
    assert not parse_variable("v", {"value": 1, "valueInfo": {"transient": None}}).transient
    # other valueInfo members are ignored
    assert not parse_variable("v", {"value": 1, "valueInfo": {"objectTypeName": "x"}}).transient
    assert not parse_variable("v", {"value": 1, "valueInfo": None}).transient
    assert not parse_variable("v", {"value": 1}).transient


def test_parse_variable_transient_must_be_boolean() -> None:
    error = parse_error({"value": 1, "valueInfo": {"transient": "yes"}})
    assert error.message == "The property 'transient' should have a value of type 'boolean'."


def test_parse_variable_value_info_must_be_an_object() -> None:
    assert "'v'" in parse_error({"value": 1, "valueInfo": "x"}).message


def test_parse_variable_local_only_when_allowed() -> None:
    obj = {"value": 1, "local": True}
    assert parse_variable("v", obj).local is False  # an unknown member for plain variable maps
    assert parse_variable("v", obj, allow_local=True).local is True
    assert parse_variable("v", {"value": 1, "local": None}, allow_local=True).local is False
    assert parse_variable("v", {"value": 1, "local": "x"}).local is False
    with pytest.raises(InvalidRequest):
        parse_variable("v", {"value": 1, "local": "x"}, allow_local=True)


# --- maps ------------------------------------------------------------------------------------


def test_parse_variable_map() -> None:
    wire = {
        "amount": {"value": 42, "type": "Integer", "valueInfo": {}},
        "customer": {"value": "ACME", "type": "String", "valueInfo": {}},
        "order": {"value": '{"id":7}', "type": "Json", "valueInfo": {}},
        "due": {"value": "2024-05-01T12:00:00.000+0000", "type": "Date", "valueInfo": {}},
        "note": {"value": None, "type": "Null", "valueInfo": {}},
    }
    assert parse_variable_map(wire) == {
        "amount": TypedValue("Integer", 42),
        "customer": TypedValue("String", "ACME"),
        "order": TypedValue("Json", {"id": 7}),
        "due": TypedValue("Date", utc(2024, 5, 1, 12)),
        "note": TypedValue("Null", None),
    }


def test_parse_variable_map_none_and_empty() -> None:
    assert parse_variable_map(None) == {}
    assert parse_variable_map({}) == {}
    assert parse_variables(None) == {}


@pytest.mark.parametrize("obj", [[], "x", 5, [{"value": 1}]])
def test_parse_variable_map_must_be_an_object(obj: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_variable_map(obj)
    assert "'variables'" in info.value.message
    with pytest.raises(InvalidRequest) as info:
        parse_variable_map(obj, member="localVariables")
    assert "'localVariables'" in info.value.message


def test_parse_variables_keeps_flags() -> None:
    wire = {"a": {"value": 1, "valueInfo": {"transient": True}}, "b": {"value": 2, "local": True}}
    parsed = parse_variables(wire, allow_local=True)
    assert parsed["a"].transient and not parsed["a"].local
    assert parsed["b"].local and not parsed["b"].transient


def test_parse_variable_map_error_propagates() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_variable_map({"ok": {"value": 1}, "bad": {"value": "x", "type": "Long"}})
    assert info.value.message == "Cannot convert value 'x' of type 'Long' to java type java.lang.Long"


# === wire format: rendering (contract 4.1, 4.4) =============================================


@pytest.mark.parametrize(
    ("tv", "expected"),
    [
        (TypedValue("String", "ACME"), {"value": "ACME", "type": "String", "valueInfo": {}}),
        (TypedValue("Integer", 42), {"value": 42, "type": "Integer", "valueInfo": {}}),
        (TypedValue("Long", 5), {"value": 5, "type": "Long", "valueInfo": {}}),
        (TypedValue("Double", 1.5), {"value": 1.5, "type": "Double", "valueInfo": {}}),
        (TypedValue("Boolean", False), {"value": False, "type": "Boolean", "valueInfo": {}}),
        (
            TypedValue("Json", {"id": 7, "tags": ["a", "ü"]}),
            {"value": '{"id":7,"tags":["a","ü"]}', "type": "Json", "valueInfo": {}},
        ),
        (TypedValue("Json", "s"), {"value": '"s"', "type": "Json", "valueInfo": {}}),
        (
            TypedValue("Date", utc(2024, 5, 1, 12, 0, 0, 123999)),
            {"value": "2024-05-01T12:00:00.123+0000", "type": "Date", "valueInfo": {}},
        ),
        (TypedValue("Null", None), {"value": None, "type": "Null", "valueInfo": {}}),
        (TypedValue("Json", None), {"value": None, "type": "Json", "valueInfo": {}}),
        (TypedValue("Date", None), {"value": None, "type": "Date", "valueInfo": {}}),
    ],
)
def test_render_variable(tv: TypedValue, expected: dict[str, Any]) -> None:
    assert render_variable(tv) == expected


def test_render_double_stays_a_json_float() -> None:
    assert json.dumps(render_variable(TypedValue("Double", 2))["value"]) == "2.0"


def test_render_variable_map() -> None:
    assert render_variable_map({}) == {}
    assert render_variable_map({"a": TypedValue("Long", 1), "b": TypedValue("Null", None)}) == {
        "a": {"value": 1, "type": "Long", "valueInfo": {}},
        "b": {"value": None, "type": "Null", "valueInfo": {}},
    }


def test_render_value_info_is_a_fresh_dict() -> None:
    first = render_variable(TypedValue("Long", 1))
    first["valueInfo"]["x"] = 1
    assert render_variable(TypedValue("Long", 1))["valueInfo"] == {}


# === round trips: parse → storage → render for each of the eight types ======================


@pytest.mark.parametrize(
    ("wire", "rendered"),
    [
        ({"value": "ACME", "type": "String"}, {"value": "ACME", "type": "String"}),
        ({"value": 5, "type": "String"}, {"value": "5", "type": "String"}),
        ({"value": 42, "type": "Integer"}, {"value": 42, "type": "Integer"}),
        ({"value": 5, "type": "Long"}, {"value": 5, "type": "Long"}),  # stays Long, not Integer
        ({"value": "9223372036854775807", "type": "Long"}, {"value": 9223372036854775807, "type": "Long"}),
        ({"value": 2, "type": "Double"}, {"value": 2.0, "type": "Double"}),
        ({"value": "12.50", "type": "Double"}, {"value": 12.5, "type": "Double"}),
        ({"value": "TRUE", "type": "Boolean"}, {"value": True, "type": "Boolean"}),
        (
            {"value": '{"id": 7, "x": [1.0, null]}', "type": "Json"},
            {"value": '{"id":7,"x":[1.0,null]}', "type": "Json"},
        ),
        ({"value": {"id": 7}, "type": "Json"}, {"value": '{"id":7}', "type": "Json"}),
        (
            {"value": "2024-05-01T14:30:00.250+02:00", "type": "Date"},
            {"value": "2024-05-01T12:30:00.250+0000", "type": "Date"},
        ),
        ({"value": "x", "type": "Null"}, {"value": None, "type": "Null"}),
        ({"value": None, "type": "Integer"}, {"value": None, "type": "Integer"}),
        # inferred
        ({"value": 3000000000}, {"value": 3000000000, "type": "Long"}),
        ({"value": 1.0}, {"value": 1.0, "type": "Double"}),
        ({"value": {"a": [1]}}, {"value": '{"a":[1]}', "type": "Json"}),
        ({"value": None, "type": None, "valueInfo": None}, {"value": None, "type": "Null"}),
    ],
)
def test_round_trip_parse_storage_render(wire: dict[str, Any], rendered: dict[str, Any]) -> None:
    stored = storage_round_trip(parse(wire))
    out = render_variable(stored)
    assert out == {**rendered, "valueInfo": {}}
    assert type(out["value"]) is type(rendered["value"])


@pytest.mark.parametrize("type_", VALUE_TYPES)
def test_rendered_output_parses_back_to_the_same_value(type_: str) -> None:
    samples = {
        "String": "s",
        "Integer": -5,
        "Long": 2**40,
        "Double": 0.25,
        "Boolean": True,
        "Json": {"k": [1, {"n": None}]},
        "Date": utc(2024, 5, 1, 12, 30, 0, 250000),
        "Null": None,
    }
    tv = TypedValue(type_, samples[type_])
    assert parse(json.loads(json.dumps(render_variable(tv)))) == tv


def test_full_cycle_through_the_engine_keeps_declared_type() -> None:
    declared = parse({"value": 5, "type": "Long"})
    runtime = to_engine(storage_round_trip(declared))
    assert keep_or_infer(runtime, declared) is declared
    assert render_variable(keep_or_infer(runtime, declared))["type"] == "Long"
    assert render_variable(keep_or_infer(runtime + 1, declared))["type"] == "Integer"
