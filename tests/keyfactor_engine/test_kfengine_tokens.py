"""Token substitution and conditions (contract 7.2, 7.3)."""

from __future__ import annotations

import pytest

from app.engine.keyfactor.tokens import condition_holds, substitute, substitute_deep

BUCKET = {
    "cn": "appsrvr12.keyexample.com",
    "approval signal cmnts": "looks fine",
    "Count": 3,
    "Flag": True,
    "Nothing": None,
    "Obj": {"a": 1, "b": [1, "x"]},
    "List": ["a", "b"],
    "Metadata": {"RequiresApproval": "True", "Owner": "ops", "Number": 7},
}


@pytest.mark.parametrize(("text", "expected"), [
    ("CN=$(cn)", "CN=appsrvr12.keyexample.com"),
    ("$(CN) / $(Cn)", "appsrvr12.keyexample.com / appsrvr12.keyexample.com"),  # keys ignore case
    ("comment: $(approval signal cmnts)", "comment: looks fine"),  # blanks in names
    ("$(metadata:Owner)", "ops"),
    ("$(METADATA:owner)", "ops"),
    ("$(metadata:Number)", "7"),
    ("$(count) items", "3 items"),
    ("$(flag)", "true"),
    ("$(nothing)", "null"),
    ("$(obj)", '{"a":1,"b":[1,"x"]}'),
    ("$(list)", '["a","b"]'),
    ("$(unknown) and $(metadata:Missing)", "$(unknown) and $(metadata:Missing)"),  # unresolved stay
    ("$() $(cn", "$() $(cn"),
    ("no tokens", "no tokens"),
    ("$(cn)$(cn)", "appsrvr12.keyexample.comappsrvr12.keyexample.com"),
])
def test_substitute(text: str, expected: str) -> None:
    assert substitute(text, BUCKET) == expected


def test_exact_key_wins_over_case_insensitive_match() -> None:
    assert substitute("$(Name)", {"name": "lower", "Name": "exact"}) == "exact"


def test_inserted_text_is_not_substituted_again() -> None:
    assert substitute("$(a)", {"a": "$(b)", "b": "no"}) == "$(b)"


def test_metadata_token_falls_back_to_a_plain_key() -> None:
    assert substitute("$(metadata:x)", {"metadata:x": "plain"}) == "plain"


def test_substitute_deep_handles_lists_and_object_values() -> None:
    value = {"To": ["$(cn)", "fixed"], "n": 5, "h": "x-$(count)"}
    assert substitute_deep(value, BUCKET) == {"To": ["appsrvr12.keyexample.com", "fixed"], "n": 5, "h": "x-3"}


@pytest.mark.parametrize(("value", "holds"), [
    ("$(metadata:RequiresApproval)", True),
    ("  TRUE  ", True),
    ("true", True),
    ("$(flag)", True),
    ("$(metadata:Owner)", False),
    ("$(missing)", False),
    ("false", False),
    ("", False),
    ("yes", False),
])
def test_condition_holds(value: str, holds: bool) -> None:
    assert condition_holds(value, BUCKET) is holds
