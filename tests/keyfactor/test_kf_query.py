"""The QueryString language (contract 5) and the paging/sorting parameters (contract 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kf_helpers import KfClient, approval_steps, create_published, start
from werkzeug.datastructures import MultiDict

from app.errors import InvalidRequest
from app.services.keyfactor_instances import INSTANCE_FIELDS
from app.services.keyfactor_query import Comparison, Junction, parse, parse_date, to_predicate

# ------------------------------------------------------------------------------------------
# Parser


def test_grammar_precedence_and_groups() -> None:
    node = parse('Title -eq "a" OR Title -eq "b" AND ReferenceId -gt 3', INSTANCE_FIELDS)
    assert isinstance(node, Junction) and node.kind == "or"
    assert isinstance(node.parts[1], Junction) and node.parts[1].kind == "and"
    grouped = parse('(title -EQ "a" or TITLE -eq "b") and referenceid -GT "3"', INSTANCE_FIELDS)
    assert isinstance(grouped, Junction) and grouped.kind == "and"
    assert grouped.parts[1] == Comparison(INSTANCE_FIELDS["ReferenceId"], "-gt", 3, 38)
    assert parse("  ", INSTANCE_FIELDS) is None and parse(None, INSTANCE_FIELDS) is None


def test_string_escapes_and_domain_names() -> None:
    node = parse(r'InitiatingUserName -eq "DOMAIN\\user"', INSTANCE_FIELDS)
    assert isinstance(node, Comparison) and node.value == "user"  # the domain part is ignored
    quoted = parse(r'Title -eq "say \"hi\" \x"', INSTANCE_FIELDS)
    assert isinstance(quoted, Comparison) and quoted.value == 'say "hi" \\x'


def test_values_by_type() -> None:
    status = parse('Status -eq "failed"', INSTANCE_FIELDS)
    assert isinstance(status, Comparison) and status.value == 4
    assert parse("Status -ne 5", INSTANCE_FIELDS).value == 5  # type: ignore[union-attr]
    assert parse('Status -eq "6"', INSTANCE_FIELDS).value == 6  # type: ignore[union-attr]
    date = parse('StartDate -ge "2024-05-01"', INSTANCE_FIELDS)
    assert date.value == datetime(2024, 5, 1, tzinfo=UTC)  # type: ignore[union-attr]
    assert parse_date("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    guid = parse('Id -eq "9F0C1B2E-0000-4000-8000-000000000001"', INSTANCE_FIELDS)
    assert guid.value == "9f0c1b2e-0000-4000-8000-000000000001"  # type: ignore[union-attr]
    assert parse("Title -eq null", INSTANCE_FIELDS).value is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("query", "position"), [
    ('Title -eq "x" AND', 18),
    ('Title -eq "unclosed', 11),
    ("Nope -eq 1", 1),
    ('Title -gt "x"', 7),
    ('ReferenceId -contains "1"', 13),
    ('Id -eq "not-a-guid"', 8),
    ('Status -eq "Sleeping"', 12),
    ("Status -eq 7", 12),
    ("Status -eq NULL", 12),
    ('StartDate -lt "yesterday"', 15),
    ("Title -eq x", 11),
    ('Title -eq "a" "b"', 15),
    ('(Title -eq "a"', 15),
    ('Title -like "a"', 7),
    ('Title = "a"', 7),
])
def test_errors_name_the_position(query: str, position: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(query, INSTANCE_FIELDS)
    assert caught.value.status == 400
    assert f"position {position}:" in caught.value.message


def test_predicate_for_catalog_lists() -> None:
    fields = {"Name": INSTANCE_FIELDS["Title"], "Tags": __import__(
        "app.services.keyfactor_query", fromlist=["Field"]).Field("Tags", "string list")}
    items = [{"Name": "Alpha", "Tags": ["x", "y"]}, {"Name": "beta", "Tags": []}, {"Name": None, "Tags": ["y"]}]
    getters = {"Title": lambda i: i["Name"], "Tags": lambda i: i["Tags"]}

    def names(query: str) -> list[Any]:
        test = to_predicate(parse(query, {"Title": fields["Name"], "Tags": fields["Tags"]}), getters)
        return [i["Name"] for i in items if test(i)]
    assert names('Title -contains "LP"') == ["Alpha"]
    assert names('Title -ne "alpha"') == ["beta", None]
    assert names("Title -eq NULL") == [None]
    assert names('Tags -eq "y"') == ["Alpha", None]
    assert names('Tags -ne "y"') == ["beta"]


# ------------------------------------------------------------------------------------------
# Against the database


@pytest.fixture
def population(kf: KfClient, make_user: Any, approver_role: int) -> dict[str, Any]:
    """Five instances: three suspended (one started by alice), one complete, one rejected (stopped)."""
    alice = make_user("alice", ("/workflows/instances/manage/", "/workflows/instances/read/mine/"))
    approval = create_published(kf, approval_steps(1, [approver_role]), key="5")
    simple = create_published(kf, [{"ExtensionName": "NOOPStep", "UniqueName": "Only", "DisplayName": "Zulu"}],
                              workflow_type="CertificateLeftCollection", key="9", name="Left")
    ids = {
        "a": start(kf, approval, {"n": 1}, title="Alpha 100%")["Id"],
        "b": start(kf, approval, {"n": 2}, title="beta_two")["Id"],
        "c": start(alice, approval, {"n": 3}, title="Gamma")["Id"],
        "done": start(kf, simple, title="Delta")["Id"],
        "stopped": start(kf, approval, title="Epsilon")["Id"],
    }
    kf.ok("post", f"/Workflow/Instances/{ids['stopped']}/Stop", status=204)
    return {"ids": ids, "approval": approval, "simple": simple, "alice": alice}


def _titles(kf: KfClient, query: str | None = None, **params: Any) -> list[str]:
    args = dict(params)
    if query is not None:
        args["QueryString"] = query
    return [i["Title"] for i in kf.ok("get", "/Workflow/Instances", query_string=args)]


def test_instance_query_operators(kf: KfClient, population: dict[str, Any]) -> None:
    order = {"SortField": "ReferenceId"}
    assert _titles(kf, 'Status -eq "Suspended"', **order) == ["Alpha 100%", "beta_two", "Gamma"]
    assert _titles(kf, "Status -eq 1", **order) == ["Alpha 100%", "beta_two", "Gamma"]
    assert _titles(kf, 'status -EQ "complete"', **order) == ["Delta"]
    assert _titles(kf, "Status -eq 3", **order) == ["Epsilon"]
    assert _titles(kf, "Status -eq 6", **order) == []
    assert _titles(kf, 'Status -ne "CanceledForRestart"', **order) == ["Alpha 100%", "beta_two", "Gamma", "Delta",
                                                                        "Epsilon"]
    assert _titles(kf, 'Title -contains "100%"', **order) == ["Alpha 100%"]  # LIKE wildcards are literal
    assert _titles(kf, 'Title -contains "a_t"', **order) == ["beta_two"]
    assert _titles(kf, 'Title -notcontains "A"', **order) == ["Epsilon"]
    assert _titles(kf, 'Title -startswith "GAM"', **order) == ["Gamma"]
    assert _titles(kf, 'Title -endswith "ON"', **order) == ["Epsilon"]
    assert _titles(kf, 'Title -eq "delta"', **order) == ["Delta"]
    # ReferenceIds increase; on PostgreSQL the sequence does not restart between tests
    first = min(i["ReferenceId"] for i in kf.ok("get", "/Workflow/Instances"))
    assert _titles(kf, f"ReferenceId -le {first + 1}", **order) == ["Alpha 100%", "beta_two"]
    assert _titles(kf, f'ReferenceId -gt "{first + 2}" AND ReferenceId -lt {first + 4}', **order) == ["Delta"]
    assert _titles(kf, 'WorkflowType -eq "CertificateLeftCollection" OR Title -eq "Gamma"', **order) == [
        "Gamma", "Delta"]
    assert _titles(kf, r'InitiatingUserName -eq "KEYEXAMPLE\\alice"', **order) == ["Gamma"]
    assert _titles(kf, 'InitiatingUserName -eq "alice"', **order) == ["Gamma"]
    assert _titles(kf, f'DefinitionId -eq "{population["simple"].upper()}"', **order) == ["Delta"]
    assert _titles(kf, f'Id -ne "{population["ids"]["a"]}"', **order) == ["beta_two", "Gamma", "Delta", "Epsilon"]
    assert _titles(kf, 'StartDate -ge "2000-01-01" AND LastModified -lt "2999-01-01T00:00:00Z"', **order) == [
        "Alpha 100%", "beta_two", "Gamma", "Delta", "Epsilon"]
    assert _titles(kf, 'StartDate -lt "2000-01-01"') == []
    assert _titles(kf, "Title -eq NULL") == []
    assert _titles(kf, "Title -ne NULL", **order)[0] == "Alpha 100%"


def test_instance_paging_and_sorting(kf: KfClient, population: dict[str, Any]) -> None:
    everything = ["Alpha 100%", "beta_two", "Gamma", "Delta", "Epsilon"]
    assert _titles(kf, SortField="referenceid") == everything
    assert _titles(kf, SortField="ReferenceId", SortAscending="1") == everything[::-1]
    assert _titles(kf, SortField="ReferenceId", ReturnLimit="2", PageReturned="2") == everything[2:4]
    assert _titles(kf, SortField="ReferenceId", ReturnLimit="2", PageReturned="9") == []
    # the v1 SDK's prefixed spellings, and an unprefixed one winning over a prefixed one
    prefixed = kf.ok("get", "/Workflow/Instances", query_string=MultiDict([
        ("pq.queryString", 'Title -eq "Gamma"'), ("pq.returnLimit", "1"), ("pq.sortField", "Title")]))
    assert [i["Title"] for i in prefixed] == ["Gamma"]
    both = kf.ok("get", "/Workflow/Instances", query_string=MultiDict([
        ("pq.queryString", 'Title -eq "Gamma"'), ("querystring", 'Title -eq "Delta"')]))
    assert [i["Title"] for i in both] == ["Delta"]
    assert _titles(kf, SortField="Title") == ["Alpha 100%", "beta_two", "Delta", "Epsilon", "Gamma"]
    assert _titles(kf, SortField="Status")[:3] == ["Alpha 100%", "beta_two", "Gamma"]  # Suspended = 1 first
    # default: CurrentStepDisplayName ascending ("Approve" < "Zulu"), ties by creation
    assert _titles(kf) == ["Alpha 100%", "beta_two", "Gamma", "Epsilon", "Delta"]
    mine = population["alice"].ok("get", "/Workflow/Instances/My",
                                  query_string={"instanceQuery.queryString": 'Status -eq "Suspended"'})
    assert [i["Title"] for i in mine] == ["Gamma"]
    item = kf.ok("get", "/Workflow/Instances", query_string={"QueryString": 'Title -eq "Delta"'})[0]
    assert set(item) == {"Id", "Status", "CurrentStepId", "StatusMessage", "Definition", "CurrentStepDisplayName",
                         "CurrentStepUniqueName", "Title", "LastModified", "StartDate", "ReferenceId"}


def test_definition_queries(kf: KfClient, population: dict[str, Any]) -> None:
    def names(**params: Any) -> list[str]:
        return [d["DisplayName"] for d in kf.ok("get", "/Workflow/Definitions", query_string=params)]
    assert names(QueryString="IsPublished -eq true") == ["Left", "Web server enrollment"]
    assert names(QueryString='IsPublished -eq "false"') == ["Global Enrollment Workflow",
                                                            "Global Revocation Workflow"]
    assert names(QueryString='WorkflowType -eq "certificateleftcollection"') == ["Left"]
    assert names(QueryString=f'Id -eq "{population["approval"]}"') == ["Web server enrollment"]
    assert names(SortField="WorkflowType", SortAscending="1")[0] == "Global Revocation Workflow"
    assert names(**{"query.returnLimit": "1", "query.pageReturned": "2"}) == ["Global Revocation Workflow"]


def test_status_as_int_setting(app: Any, kf: KfClient, population: dict[str, Any]) -> None:
    app.extensions["baton"].settings.keyfactor_status = "int"
    try:
        statuses = [i["Status"] for i in kf.ok("get", "/Workflow/Instances", query_string={
            "SortField": "ReferenceId"})]
        assert statuses == [1, 1, 1, 2, 3]
        assert _titles(kf, 'Status -eq "Rejected"') == ["Epsilon"]
    finally:
        app.extensions["baton"].settings.keyfactor_status = "name"
