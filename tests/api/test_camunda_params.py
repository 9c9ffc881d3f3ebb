"""Declarative Camunda query parsing (contract 5.1–5.4, 2.3, 12.2–12.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from app.api.camunda.params import (
    ParsedQuery,
    QuerySpec,
    VariableFilter,
    parse_bool_param,
    parse_date_param,
    parse_int_param,
    parse_paging,
)
from app.errors import InvalidRequest

SPEC = QuerySpec(
    filters={
        "processInstanceId": "str",
        "processInstanceIds": "str_list",
        "tenantIdIn": "str_list",
        "variableNamesIgnoreCase": "bool",
        "finished": "true_only",
        "withoutTenantId": "true_only",
        "priority": "int",
        "startedAfter": "date",
        "startedBefore": "date",
        "variables": "variables",
    },
    unsupported={"incidentIdIn", "withJobsRetrying", "caseInstanceId"},
    sort_by={"instanceId", "startTime", "businessKey"},
    or_queries=True,
)


def args(query_string: str = "") -> MultiDict[str, str]:
    """Query-string arguments exactly as Flask/werkzeug decodes them (``+`` becomes a space)."""
    return Request.from_values(query_string=query_string).args


def get(query_string: str = "", spec: QuerySpec = SPEC) -> ParsedQuery:
    return spec.from_args(args(query_string))


def post(body: Any, query_string: str = "", spec: QuerySpec = SPEC) -> ParsedQuery:
    return spec.from_json(body, args(query_string))


def error_of(call: Any, *a: Any) -> str:
    with pytest.raises(InvalidRequest) as info:
        call(*a)
    assert info.value.status == 400
    assert info.value.camunda_type == "InvalidRequestException"
    return info.value.message


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


# === spec declaration =====================================================================


def test_spec_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        QuerySpec({"x": "float"})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filters": {"a": "str"}, "unsupported": {"a"}},
        {"filters": {"sortBy": "str"}},
        {"filters": {"firstResult": "int"}},
        {"filters": {"orQueries": "str"}},
        {"filters": {}, "unsupported": {"sorting"}},
        {"filters": {}, "unsupported": {"orQueries"}, "or_queries": True},
    ],
)
def test_spec_rejects_clashing_names(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        QuerySpec(**kwargs)


def test_spec_accepts_views_and_generators() -> None:
    spec = QuerySpec(filters={"id": "str"}, sort_by={"id": 1}.keys(), unsupported=(n for n in ["x"]))
    assert get("sortBy=id&sortOrder=asc", spec).sorting == [("id", True)]


# === GET: filters =========================================================================


def test_get_nothing() -> None:
    assert get() == ParsedQuery(filters={}, sorting=[], first_result=0, max_results=None, or_queries=[])


def test_get_str_takes_first_value_verbatim() -> None:
    assert get("processInstanceId=a%2Cb").filters == {"processInstanceId": "a,b"}
    assert get("processInstanceId=x&processInstanceId=y").filters == {"processInstanceId": "x"}
    assert get("processInstanceId=").filters == {"processInstanceId": ""}


def test_get_lists_comma_separated_repeated_and_merged() -> None:
    assert get("processInstanceIds=a,b").filters == {"processInstanceIds": ["a", "b"]}
    assert get("processInstanceIds=a&processInstanceIds=b").filters == {"processInstanceIds": ["a", "b"]}
    assert get("processInstanceIds=a,b&processInstanceIds=c").filters == {"processInstanceIds": ["a", "b", "c"]}
    assert get("processInstanceIds=a,,b,&processInstanceIds=a").filters == {"processInstanceIds": ["a", "b"]}


def test_get_empty_list_is_no_filter() -> None:
    assert get("processInstanceIds=").filters == {}
    assert get("processInstanceIds=,").filters == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("True", True), ("false", False), ("False", False), ("fAlSe", False)],
)
def test_get_bool_case_insensitive(raw: str, expected: bool) -> None:
    assert get(f"variableNamesIgnoreCase={raw}").filters == {"variableNamesIgnoreCase": expected}


@pytest.mark.parametrize("raw", ["yes", "1", "0", "tru", "truee", " true"])
def test_get_bad_bool(raw: str) -> None:
    message = error_of(get, f"variableNamesIgnoreCase={raw}")
    assert message == f"Cannot set query parameter 'variableNamesIgnoreCase' to value '{raw}'"


def test_get_true_only_flags() -> None:
    assert get("finished=true").filters == {"finished": True}
    assert get("finished=TRUE").filters == {"finished": True}
    assert get("finished=false").filters == {}  # does nothing when false
    assert get("finished=").filters == {}
    assert error_of(get, "finished=maybe") == "Cannot set query parameter 'finished' to value 'maybe'"


def test_get_empty_non_string_values_are_absent() -> None:
    assert get("variableNamesIgnoreCase=&priority=&startedAfter=&variables=").filters == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", 5), ("-5", -5), ("0", 0), ("2147483647", 2**31 - 1), ("-2147483648", -(2**31)), ("%2B7", 7), ("+7", 7)],
)
def test_get_int(raw: str, expected: int) -> None:
    assert get(f"priority={raw}").filters == {"priority": expected}


@pytest.mark.parametrize("raw", ["abc", "1.5", "2147483648", "-2147483649", "1e3", "0x10", "1_000", "%EF%BC%91"])
def test_get_bad_int(raw: str) -> None:
    shown = args(f"priority={raw}")["priority"]
    assert error_of(get, f"priority={raw}") == f"Cannot set query parameter 'priority' to value '{shown}'"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:30:00.000%2B0200", utc(2024, 5, 1, 10, 30)),  # properly encoded +
        ("2024-05-01T12:30:00.000+0200", utc(2024, 5, 1, 10, 30)),  # raw + arrives as a space
        ("2024-05-01T12:30:00+02:00", utc(2024, 5, 1, 10, 30)),
        ("2024-05-01T12:30:00.000-0200", utc(2024, 5, 1, 14, 30)),
        ("2024-05-01T12:30:00Z", utc(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00", utc(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00.123456", utc(2024, 5, 1, 12, 30, 0, 123456)),
    ],
)
def test_get_date(raw: str, expected: datetime) -> None:
    assert get(f"startedAfter={raw}").filters == {"startedAfter": expected}


@pytest.mark.parametrize("raw", ["yesterday", "2024-05-01", "2024-05-01T12:30:00.000%2B02", "1714566600000"])
def test_get_bad_date(raw: str) -> None:
    shown = args(f"startedBefore={raw}")["startedBefore"]
    assert error_of(get, f"startedBefore={raw}") == f"Cannot set query parameter 'startedBefore' to value '{shown}'"


def test_get_unknown_parameters_are_ignored() -> None:
    assert get("fooBar=1&deserializeValues=true&orQueries=x&sorting=y").filters == {}


# --- unsupported filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "withJobsRetrying=true",
        "incidentIdIn=a,b",
        "caseInstanceId=x",
        "withJobsRetrying=yes",
        "withJobsRetrying=false&withJobsRetrying=true",
    ],
)
def test_get_unsupported_filter_with_a_value(query: str) -> None:
    name = query.split("=")[0]
    assert error_of(get, query) == f"Unsupported query parameter '{name}'"


@pytest.mark.parametrize(
    "query", ["withJobsRetrying=false", "withJobsRetrying=FALSE", "incidentIdIn=", "caseInstanceId="]
)
def test_get_unsupported_filter_false_or_empty_is_fine(query: str) -> None:
    assert get(query).filters == {}


# --- variable filters ------------------------------------------------------------------------


def test_get_variables() -> None:
    assert get("variables=amount_gteq_100,status_eq_open").filters == {
        "variables": [VariableFilter("amount", "gteq", "100"), VariableFilter("status", "eq", "open")]
    }


def test_get_variables_repeated_keys_merge_and_trailing_comma() -> None:
    assert get("variables=a_eq_1,&variables=b_notLike_x%25").filters == {
        "variables": [VariableFilter("a", "eq", "1"), VariableFilter("b", "notLike", "x%")]
    }


@pytest.mark.parametrize("op", ["eq", "neq", "gt", "gteq", "lt", "lteq", "like", "notLike"])
def test_get_variables_all_operators(op: str) -> None:
    assert get(f"variables=v_{op}_x").filters == {"variables": [VariableFilter("v", op, "x")]}


@pytest.mark.parametrize("expr", ["amount", "amount_eq", "amount_eq_", "a_eq_1_2", "a_b_c_d", "a_eq_1,b"])
def test_get_variables_bad_format(expr: str) -> None:
    assert error_of(get, f"variables={expr}") == "variable query parameter has to have format KEY_OPERATOR_VALUE."


@pytest.mark.parametrize("op", ["equals", "EQ", "notlike", "ne", "in"])
def test_get_variables_bad_operator(op: str) -> None:
    assert error_of(get, f"variables=a_{op}_1") == f"Invalid variable comparator specified: {op}"


def test_get_variables_empty_operator() -> None:
    assert error_of(get, "variables=a__1") == "Invalid variable comparator specified: "


# === GET: sorting =========================================================================


def test_get_sorting() -> None:
    assert get("sortBy=startTime&sortOrder=desc").sorting == [("startTime", False)]
    assert get("sortBy=instanceId&sortOrder=asc").sorting == [("instanceId", True)]


def test_get_sorting_needs_both() -> None:
    message = "Only a single sorting parameter specified. sortBy and sortOrder required"
    assert error_of(get, "sortBy=startTime") == message
    assert error_of(get, "sortOrder=asc") == message


def test_get_sorting_invalid_values() -> None:
    assert error_of(get, "sortBy=foo&sortOrder=asc") == "sortBy parameter has invalid value: foo"
    assert error_of(get, "sortBy=startTime&sortOrder=up") == "sortOrder parameter has invalid value: up"
    assert error_of(get, "sortBy=startTime&sortOrder=ASC") == "sortOrder parameter has invalid value: ASC"
    assert error_of(get, "sortBy=&sortOrder=asc") == "sortBy parameter has invalid value: "
    assert error_of(get, "sortBy=StartTime&sortOrder=asc") == "sortBy parameter has invalid value: StartTime"


def test_get_sorting_value_checked_before_pairing_as_in_camunda() -> None:
    assert error_of(get, "sortBy=foo") == "sortBy parameter has invalid value: foo"
    assert error_of(get, "sortOrder=up") == "sortOrder parameter has invalid value: up"
    assert error_of(get, "sortBy=foo&sortOrder=up") == "sortBy parameter has invalid value: foo"


def test_get_sorting_pycamunda_snake_case_quirk() -> None:
    # pycamunda drops a camelCase sort_by but still sends sortOrder (contract 18.1)
    message = "Only a single sorting parameter specified. sortBy and sortOrder required"
    assert error_of(get, "sortOrder=desc&processInstanceIds=a") == message


def test_spec_without_sorting_refuses_any_sort_by() -> None:
    spec = QuerySpec({"id": "str"})
    assert error_of(get, "sortBy=id&sortOrder=asc", spec) == "sortBy parameter has invalid value: id"


# === paging ===============================================================================


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", (0, None)),
        ("firstResult=5", (5, None)),
        ("maxResults=10", (0, 10)),
        ("firstResult=5&maxResults=10", (5, 10)),
        ("maxResults=0", (0, 0)),
        ("firstResult=&maxResults=", (0, None)),
        ("firstResult=+3", (3, None)),
        ("maxResults=2147483647", (0, 2**31 - 1)),
        ("firstResult=-0", (0, None)),
    ],
)
def test_paging(query: str, expected: tuple[int, int | None]) -> None:
    parsed = get(query)
    assert (parsed.first_result, parsed.max_results) == expected
    assert parse_paging(args(query)) == expected


@pytest.mark.parametrize(
    ("query", "name", "shown"),
    [
        ("firstResult=-1", "firstResult", "-1"),
        ("maxResults=-5", "maxResults", "-5"),
        ("maxResults=abc", "maxResults", "abc"),
        ("firstResult=1.5", "firstResult", "1.5"),
        ("maxResults=2147483648", "maxResults", "2147483648"),
        ("maxResults=ten", "maxResults", "ten"),
    ],
)
def test_bad_paging(query: str, name: str, shown: str) -> None:
    assert error_of(get, query) == f"Cannot set query parameter '{name}' to value '{shown}'"
    assert error_of(post, {}, query) == f"Cannot set query parameter '{name}' to value '{shown}'"


def test_post_paging_comes_from_the_query_string_only() -> None:
    parsed = post({"firstResult": 7, "maxResults": 1}, "firstResult=2&maxResults=3")
    assert (parsed.first_result, parsed.max_results) == (2, 3)
    parsed = post({"firstResult": 7, "maxResults": 1})
    assert (parsed.first_result, parsed.max_results) == (0, None)


# === POST: filters ========================================================================


def test_post_body_none_or_empty() -> None:
    assert post(None) == ParsedQuery()
    assert post({}) == ParsedQuery()


@pytest.mark.parametrize("body", [[], "x", 5, [{"processInstanceId": "a"}]])
def test_post_body_must_be_an_object(body: Any) -> None:
    assert error_of(post, body) == "The request body must be a JSON object"


def test_post_all_kinds() -> None:
    parsed = post(
        {
            "processInstanceId": "p1",
            "processInstanceIds": ["a", "b", "a"],
            "variableNamesIgnoreCase": False,
            "finished": True,
            "withoutTenantId": False,
            "priority": 50,
            "startedAfter": "2024-05-01T12:30:00.000+0200",
            "variables": [{"name": "amount", "operator": "gteq", "value": 100}],
        }
    )
    assert parsed.filters == {
        "processInstanceId": "p1",
        "processInstanceIds": ["a", "b"],
        "variableNamesIgnoreCase": False,
        "finished": True,
        "priority": 50,
        "startedAfter": utc(2024, 5, 1, 10, 30),
        "variables": [VariableFilter("amount", "gteq", 100)],
    }


def test_post_nulls_and_empty_lists_mean_no_filter() -> None:
    body = {name: None for name in SPEC.filters}
    body.update({"processInstanceIds": [], "tenantIdIn": [], "variables": [], "sorting": None, "orQueries": None})
    body.update({name: None for name in SPEC.unsupported})
    assert post(body) == ParsedQuery()


def test_post_camunda_client_history_query_with_every_member_null() -> None:
    members = [
        "processInstanceId",
        "processInstanceIds",
        "finished",
        "startedAfter",
        "variables",
        "withJobsRetrying",
        "incidentIdIn",
        "caseInstanceId",
        "sorting",
        "orQueries",
        "unknownMember",
    ]
    assert post(dict.fromkeys(members), "maxResults=10&firstResult=0") == ParsedQuery(max_results=10)


def test_post_booleans_accept_strings_too() -> None:
    assert post({"finished": "TRUE", "variableNamesIgnoreCase": "false"}).filters == {
        "finished": True,
        "variableNamesIgnoreCase": False,
    }
    assert post({"finished": "false"}).filters == {}


def test_post_int_forms() -> None:
    assert post({"priority": -3}).filters == {"priority": -3}
    assert post({"priority": "12"}).filters == {"priority": 12}
    assert post({"priority": 12.0}).filters == {"priority": 12}


def test_post_str_may_be_empty() -> None:
    assert post({"processInstanceId": ""}).filters == {"processInstanceId": ""}


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("processInstanceId", 5),
        ("processInstanceId", ["a"]),
        ("processInstanceId", True),
        ("processInstanceIds", "a,b"),
        ("processInstanceIds", ["a", 1]),
        ("processInstanceIds", ["a", None]),
        ("processInstanceIds", {"a": 1}),
        ("variableNamesIgnoreCase", "yes"),
        ("variableNamesIgnoreCase", 1),
        ("finished", 0),
        ("finished", []),
        ("priority", "high"),
        ("priority", 1.5),
        ("priority", True),
        ("priority", 2**31),
        ("priority", [1]),
        ("startedAfter", "yesterday"),
        ("startedAfter", 1714566600000),
        ("startedAfter", {"date": "2024-05-01T00:00:00"}),
        ("variables", {"name": "a", "operator": "eq", "value": 1}),
        ("variables", "a_eq_1"),
    ],
)
def test_post_wrong_json_type_names_the_member(member: str, value: Any) -> None:
    message = error_of(post, {member: value})
    assert message.startswith(f"Cannot deserialize member '{member}")


def test_post_unknown_members_are_ignored() -> None:
    assert post({"fooBar": [1, 2], "deserializeValues": True, "firstResult": "x"}) == ParsedQuery()


@pytest.mark.parametrize(
    "body",
    [
        {"withJobsRetrying": True},
        {"withJobsRetrying": "true"},
        {"incidentIdIn": ["a"]},
        {"caseInstanceId": "x"},
        {"caseInstanceId": ""},
        {"caseInstanceId": 0},
    ],
)
def test_post_unsupported_filter_with_a_value(body: dict[str, Any]) -> None:
    (name,) = body
    assert error_of(post, body) == f"Unsupported query parameter '{name}'"


@pytest.mark.parametrize("value", [None, False, "false", "FALSE", [], {}])
def test_post_unsupported_filter_null_false_or_empty_is_fine(value: Any) -> None:
    assert post({"withJobsRetrying": value, "incidentIdIn": value}) == ParsedQuery()


# --- variable filters ------------------------------------------------------------------------


def test_post_variables_value_types() -> None:
    parsed = post(
        {
            "variables": [
                {"name": "s", "operator": "like", "value": "a%"},
                {"name": "i", "operator": "gt", "value": 5},
                {"name": "d", "operator": "lteq", "value": 2.5},
                {"name": "b", "operator": "eq", "value": True},
                {"name": "n", "operator": "eq", "value": None},
                {"name": "m", "operator": "neq"},
            ]
        }
    )
    assert parsed.filters["variables"] == [
        VariableFilter("s", "like", "a%"),
        VariableFilter("i", "gt", 5),
        VariableFilter("d", "lteq", 2.5),
        VariableFilter("b", "eq", True),
        VariableFilter("n", "eq", None),
        VariableFilter("m", "neq", None),
    ]


@pytest.mark.parametrize(("operator", "shown"), [("equals", "equals"), ("EQ", "EQ"), (None, "null"), (5, "5")])
def test_post_variables_bad_operator(operator: Any, shown: str) -> None:
    body = {"variables": [{"name": "a", "operator": operator, "value": 1}]}
    assert error_of(post, body) == f"Invalid variable comparator specified: {shown}"


def test_post_variables_missing_operator() -> None:
    assert error_of(post, {"variables": [{"name": "a", "value": 1}]}) == "Invalid variable comparator specified: null"


@pytest.mark.parametrize(
    ("entry", "member"),
    [
        ("a_eq_1", "variables[0]"),
        ({"operator": "eq", "value": 1}, "variables[0]"),
        ({"name": 5, "operator": "eq", "value": 1}, "variables[0]"),
        ({"name": None, "operator": "eq", "value": 1}, "variables[0]"),
        ({"name": "a", "operator": "eq", "value": {"x": 1}}, "variables[0].value"),
        ({"name": "a", "operator": "eq", "value": [1]}, "variables[0].value"),
    ],
)
def test_post_variables_malformed_entries(entry: Any, member: str) -> None:
    assert error_of(post, {"variables": [entry]}).startswith(f"Cannot deserialize member '{member}'")


# === POST: sorting ========================================================================


def test_post_sorting_array_in_order() -> None:
    body = {"sorting": [{"sortBy": "startTime", "sortOrder": "desc"}, {"sortBy": "instanceId", "sortOrder": "asc"}]}
    assert post(body).sorting == [("startTime", False), ("instanceId", True)]


def test_post_sorting_single_object() -> None:
    # camunda-client sends the task query's sorting as one object
    assert post({"sorting": {"sortBy": "businessKey", "sortOrder": "asc"}}).sorting == [("businessKey", True)]


def test_post_sorting_empty_forms() -> None:
    assert post({"sorting": None}).sorting == []
    assert post({"sorting": []}).sorting == []
    assert post({"sorting": [{"sortBy": None, "sortOrder": None}]}).sorting == []
    assert post({"sorting": [{}]}).sorting == []


def test_post_sorting_errors() -> None:
    single = "Only a single sorting parameter specified. sortBy and sortOrder required"
    assert error_of(post, {"sorting": [{"sortBy": "startTime"}]}) == single
    assert error_of(post, {"sorting": [{"sortOrder": "asc"}]}) == single
    assert error_of(post, {"sorting": {"sortBy": "startTime", "sortOrder": None}}) == single
    assert error_of(post, {"sorting": [{"sortBy": "taskName", "sortOrder": "asc"}]}) == (
        "sortBy parameter has invalid value: taskName"
    )
    assert error_of(post, {"sorting": [{"sortBy": "startTime", "sortOrder": "Desc"}]}) == (
        "sortOrder parameter has invalid value: Desc"
    )
    assert error_of(
        post, {"sorting": [{"sortBy": "startTime", "sortOrder": "asc"}, {"sortBy": "nope", "sortOrder": "asc"}]}
    ) == ("sortBy parameter has invalid value: nope")
    assert error_of(post, {"sorting": [{"sortBy": 5, "sortOrder": "asc"}]}) == "sortBy parameter has invalid value: 5"


@pytest.mark.parametrize(
    ("sorting", "member"), [("startTime", "sorting"), (5, "sorting"), (["startTime"], "sorting[0]")]
)
def test_post_sorting_wrong_json_type(sorting: Any, member: str) -> None:
    assert error_of(post, {"sorting": sorting}).startswith(f"Cannot deserialize member '{member}'")


def test_post_top_level_sort_by_and_order() -> None:
    body = {"sortBy": "instanceId", "sortOrder": "desc", "sorting": [{"sortBy": "startTime", "sortOrder": "asc"}]}
    assert post(body).sorting == [("instanceId", False), ("startTime", True)]
    single = "Only a single sorting parameter specified. sortBy and sortOrder required"
    assert error_of(post, {"sortOrder": "asc"}) == single


def test_post_contract_example_12_3() -> None:
    body = {
        "processDefinitionKey": "invoice",  # not declared in SPEC: ignored
        "finished": True,
        "variables": [{"name": "amount", "operator": "gteq", "value": 100}],
        "sorting": [{"sortBy": "startTime", "sortOrder": "desc"}, {"sortBy": "instanceId", "sortOrder": "asc"}],
    }
    assert post(body) == ParsedQuery(
        filters={"finished": True, "variables": [VariableFilter("amount", "gteq", 100)]},
        sorting=[("startTime", False), ("instanceId", True)],
    )


# === POST: orQueries ======================================================================


def test_post_or_queries() -> None:
    body = {
        "finished": True,
        "orQueries": [
            {"processInstanceId": "a", "priority": 5, "tenantIdIn": ["t"]},
            {"variables": [{"name": "x", "operator": "eq", "value": 1}], "startedAfter": "2024-05-01T00:00:00Z"},
        ],
    }
    parsed = post(body)
    assert parsed.filters == {"finished": True}
    assert parsed.or_queries == [
        {"processInstanceId": "a", "priority": 5, "tenantIdIn": ["t"]},
        {"variables": [VariableFilter("x", "eq", 1)], "startedAfter": utc(2024, 5, 1)},
    ]


def test_post_or_queries_empty_groups_are_dropped() -> None:
    assert post({"orQueries": [{}, {"processInstanceId": None, "tenantIdIn": []}]}).or_queries == []
    assert post({"orQueries": []}).or_queries == []


def test_post_or_queries_may_not_nest_sorting_or_or_queries() -> None:
    nested = "Invalid query usage: cannot set or() within 'or' query"
    sorting = "Invalid query usage: cannot set sorting within 'or' query"
    assert error_of(post, {"orQueries": [{"orQueries": [{"processInstanceId": "a"}]}]}) == nested
    assert error_of(post, {"orQueries": [{"sorting": [{"sortBy": "startTime", "sortOrder": "asc"}]}]}) == sorting
    assert error_of(post, {"orQueries": [{"sorting": {"sortBy": "startTime", "sortOrder": "asc"}}]}) == sorting
    assert error_of(post, {"orQueries": [{"sortBy": "startTime"}]}) == sorting
    # null or empty nested members are absent, as everywhere
    assert post({"orQueries": [{"orQueries": None, "sorting": [], "processInstanceId": "a"}]}).or_queries == [
        {"processInstanceId": "a"}
    ]


def test_post_or_queries_parse_members_with_the_same_rules() -> None:
    assert error_of(post, {"orQueries": [{"priority": "x"}]}).startswith(
        "Cannot deserialize member 'orQueries[0].priority'"
    )
    assert (
        error_of(post, {"orQueries": [{"withJobsRetrying": True}]}) == "Unsupported query parameter 'withJobsRetrying'"
    )
    assert error_of(post, {"orQueries": [{"variables": [{"name": "a", "operator": "x", "value": 1}]}]}) == (
        "Invalid variable comparator specified: x"
    )


@pytest.mark.parametrize(
    ("value", "member"),
    [({"processInstanceId": "a"}, "orQueries"), ("x", "orQueries"), (["x"], "orQueries[0]"), ([None], "orQueries[0]")],
)
def test_post_or_queries_wrong_json_type(value: Any, member: str) -> None:
    assert error_of(post, {"orQueries": value}).startswith(f"Cannot deserialize member '{member}'")


def test_or_queries_ignored_where_not_allowed() -> None:
    spec = QuerySpec({"id": "str"})
    assert post({"orQueries": [{"id": "a"}]}, spec=spec) == ParsedQuery()
    assert post({"orQueries": "garbage"}, spec=spec) == ParsedQuery()


def test_or_queries_declared_unsupported() -> None:
    spec = QuerySpec({"id": "str"}, unsupported={"orQueries"})
    assert error_of(post, {"orQueries": [{"id": "a"}]}, "", spec) == "Unsupported query parameter 'orQueries'"
    assert post({"orQueries": []}, spec=spec) == ParsedQuery()
    assert get("orQueries=x", spec) == ParsedQuery()  # POST-only member: ignored in query strings


# === single parameters ====================================================================


@pytest.mark.parametrize(
    ("query", "default", "expected"),
    [
        ("", False, False),
        ("", True, True),
        ("cascade=", True, True),
        ("cascade=true", False, True),
        ("cascade=True", False, True),
        ("cascade=FALSE", True, False),
        ("cascade=false&cascade=true", True, False),
    ],
)
def test_parse_bool_param(query: str, default: bool, expected: bool) -> None:
    assert parse_bool_param(args(query), "cascade", default) is expected


@pytest.mark.parametrize("raw", ["1", "yes", "on", "ture"])
def test_parse_bool_param_bad(raw: str) -> None:
    assert error_of(parse_bool_param, args(f"failIfNotExists={raw}"), "failIfNotExists", True) == (
        f"Cannot set query parameter 'failIfNotExists' to value '{raw}'"
    )


def test_parse_bool_param_plain_mapping() -> None:
    assert parse_bool_param({"cascade": "true"}, "cascade", False) is True
    assert parse_bool_param({}, "cascade", False) is False


def test_parse_int_param() -> None:
    assert parse_int_param(args(""), "retries") is None
    assert parse_int_param(args(""), "retries", 3) == 3
    assert parse_int_param(args("retries="), "retries", 3) == 3
    assert parse_int_param(args("retries=-2"), "retries") == -2
    assert parse_int_param(args("retries=0"), "retries", minimum=0) == 0
    with pytest.raises(InvalidRequest) as info:
        parse_int_param(args("retries=-1"), "retries", minimum=0)
    assert info.value.message == "Cannot set query parameter 'retries' to value '-1'"
    assert (
        error_of(parse_int_param, args("retries=x"), "retries") == "Cannot set query parameter 'retries' to value 'x'"
    )


def test_parse_date_param() -> None:
    assert parse_date_param(args(""), "dueDate") is None
    assert parse_date_param(args("dueDate="), "dueDate") is None
    assert parse_date_param(args("dueDate=2024-05-01T12:30:00.000+0000"), "dueDate") == utc(2024, 5, 1, 12, 30)
    assert error_of(parse_date_param, args("dueDate=soon"), "dueDate") == (
        "Cannot set query parameter 'dueDate' to value 'soon'"
    )
