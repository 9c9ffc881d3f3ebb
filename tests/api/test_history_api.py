"""``/history/process-instance``, ``/history/activity-instance`` and ``/history/variable-instance``
through the Flask test client (contract 12, 13 and the OpenAPI history DTOs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.api.camunda.dates import format_date, parse_date
from app.store import models as m
from app.store.ids import new_id

USER_TASK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_approval" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="approval" name="Approval" isExecutable="true">
    <bpmn:startEvent id="start" name="Start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review" camunda:assignee="demo"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end" name="Done"/>
  </bpmn:process>
</bpmn:definitions>
"""

SCRIPT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_calc"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="calc" name="Calculation" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="double"/>
    <bpmn:scriptTask id="double" name="Double it" scriptFormat="python">
      <bpmn:script>x = amount * 2
amount = amount + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="double" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

HPI = "/engine-rest/history/process-instance"
HAI = "/engine-rest/history/activity-instance"
HVI = "/engine-rest/history/variable-instance"
RPI = "/engine-rest/process-instance"
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")

PROCESS_MEMBERS = {
    "id", "businessKey", "processDefinitionId", "processDefinitionKey", "processDefinitionName",
    "processDefinitionVersion", "startTime", "endTime", "removalTime", "durationInMillis", "startUserId",
    "startActivityId", "deleteReason", "rootProcessInstanceId", "superProcessInstanceId", "superCaseInstanceId",
    "caseInstanceId", "tenantId", "state", "restartedProcessInstanceId",
}
ACTIVITY_MEMBERS = {
    "id", "parentActivityInstanceId", "activityId", "activityName", "activityType", "processDefinitionKey",
    "processDefinitionId", "processInstanceId", "executionId", "taskId", "assignee", "calledProcessInstanceId",
    "calledCaseInstanceId", "startTime", "endTime", "durationInMillis", "canceled", "completeScope", "tenantId",
    "removalTime", "rootProcessInstanceId", "skipped",  # skipped: Baton's addition (restart)
}
VARIABLE_MEMBERS = {
    "id", "name", "processDefinitionKey", "processDefinitionId", "processInstanceId", "executionId",
    "activityInstanceId", "caseDefinitionKey", "caseDefinitionId", "caseInstanceId", "caseExecutionId", "taskId",
    "tenantId", "errorMessage", "state", "createTime", "removalTime", "rootProcessInstanceId", "value", "type",
    "valueInfo",
}


@dataclass
class Scenario:
    """a1 waits in its user task; a2 completed its task; a3 was deleted; c1 ran its script to the end."""

    a1: str
    a2: str
    a3: str
    c1: str

    @property
    def all(self) -> set[str]:
        return {self.a1, self.a2, self.a3, self.c1}


def task_of(ctx: Any, instance_id: str) -> str:
    with ctx.db.transaction() as session:  # the task table, not /task: no dependency on the task query
        return session.scalars(select(m.Task.id).where(m.Task.process_instance_id == instance_id)).one()


def complete_task(client: Any, ctx: Any, instance_id: str, variables: dict | None = None) -> None:
    response = client.post(f"/engine-rest/task/{task_of(ctx, instance_id)}/complete",
                           json={"variables": variables or {}})
    assert response.status_code in (200, 204), response.get_json()


@pytest.fixture
def s(client: Any, ctx: Any) -> Scenario:
    client.deploy_ok({"approval.bpmn": USER_TASK_BPMN, "calc.bpmn": SCRIPT_BPMN})
    a1 = client.start("approval", {"amount": {"value": 100, "type": "Integer"}, "customer": {"value": "ACME"},
                                   "temp": {"value": "scratch"}}, business_key="order-1")["id"]
    a2 = client.start("approval", {"amount": {"value": 50, "type": "Integer"}, "customer": {"value": "Globex"}},
                      business_key="order-2")["id"]
    a3 = client.start("approval", {"amount": {"value": 7, "type": "Integer"}}, business_key="order-3")["id"]
    c1 = client.start("calc", {"amount": {"value": 5, "type": "Integer"}})["id"]
    complete_task(client, ctx, a2, {"approved": {"value": True}})
    assert client.delete(f"{RPI}/{a3}").status_code == 204
    assert client.delete(f"{RPI}/{a1}/variables/temp").status_code == 204
    return Scenario(a1, a2, a3, c1)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()]


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["type"] == "InvalidRequestException", body
    return body["message"]


def hist(client: Any, **params: Any) -> set[str]:
    """GET list and count, POST list and count with the same filters: all must agree."""
    got = ids(client.get(HPI, query_string=params))
    body = {k: (v.split(",") if k.endswith(("In", "Ids")) else v) for k, v in params.items() if k != "variables"}
    for key, value in body.items():
        if value in ("true", "false"):
            body[key] = value == "true"
    if "variables" not in params:
        assert sorted(ids(client.post(HPI, json=body))) == sorted(got)
        assert client.post(f"{HPI}/count", json=body).get_json() == {"count": len(got)}
    assert client.get(f"{HPI}/count", query_string=params).get_json() == {"count": len(got)}
    return set(got)


# --- historic process instances ---------------------------------------------------------------


def test_historic_instance_object(client: Any, s: Scenario) -> None:
    body = client.get(f"{HPI}/{s.c1}").get_json()
    assert set(body) == PROCESS_MEMBERS
    assert body["id"] == s.c1 and body["state"] == "COMPLETED"
    assert body["processDefinitionKey"] == "calc" and body["processDefinitionName"] == "Calculation"
    assert body["processDefinitionVersion"] == 1 and body["processDefinitionId"].startswith("calc:1:")
    assert DATE_RE.match(body["startTime"]) and DATE_RE.match(body["endTime"])
    duration = parse_date(body["endTime"]) - parse_date(body["startTime"])
    assert body["durationInMillis"] == duration // timedelta(milliseconds=1)
    assert body["rootProcessInstanceId"] == s.c1 and body["startActivityId"] == "start"
    for member in ("removalTime", "superProcessInstanceId", "superCaseInstanceId", "caseInstanceId", "tenantId",
                   "restartedProcessInstanceId", "deleteReason", "businessKey"):
        assert body[member] is None, member
    assert body["startUserId"] == "admin"

    running = client.get(f"{HPI}/{s.a1}").get_json()
    assert running["state"] == "ACTIVE" and running["endTime"] is None and running["durationInMillis"] is None
    assert running["businessKey"] == "order-1" and running["processDefinitionName"] == "Approval"
    deleted = client.get(f"{HPI}/{s.a3}").get_json()
    assert deleted["state"] == "EXTERNALLY_TERMINATED" and deleted["endTime"] is not None
    assert client.get(f"{HPI}/{s.a2}").get_json()["state"] == "COMPLETED"


def test_unknown_historic_instance_is_404(client: Any, s: Scenario) -> None:
    message = error(client.get(f"{HPI}/nope"), 404)
    assert message == "Historic process instance with id nope does not exist"


def test_restarted_from_and_root_members_come_from_the_row(client: Any, ctx: Any, s: Scenario) -> None:
    with ctx.db.transaction() as session:
        session.get(m.ProcessInstance, s.a1).restarted_from_id = s.a3
    body = client.get(f"{HPI}/{s.a1}").get_json()
    assert body["restartedProcessInstanceId"] == s.a3 and body["rootProcessInstanceId"] == s.a1


def test_state_and_finished_filters(client: Any, s: Scenario) -> None:
    assert hist(client) == s.all
    assert hist(client, active="true") == {s.a1}
    assert hist(client, completed="true") == {s.a2, s.c1}
    assert hist(client, externallyTerminated="true") == {s.a3}
    assert hist(client, internallyTerminated="true") == set()
    assert hist(client, suspended="true") == set()
    assert hist(client, completed="false") == s.all  # true-only flags: false means nothing
    assert hist(client, finished="true") == {s.a2, s.a3, s.c1}
    assert hist(client, unfinished="true") == {s.a1}
    assert hist(client, finished="true", unfinished="true") == set()
    message = "Already querying for historic process instance with another state"
    assert error(client.get(HPI, query_string={"active": "true", "completed": "true"})) == message
    assert error(client.post(f"{HPI}/count", json={"completed": True, "externallyTerminated": True})) == message
    assert error(client.post(HPI, json={"orQueries": [{"completed": True, "internallyTerminated": True}]})) == message


def test_identity_and_hierarchy_filters(client: Any, s: Scenario) -> None:
    assert hist(client, processInstanceId=s.a2) == {s.a2}
    assert hist(client, processInstanceIds=f"{s.a1},{s.c1}") == {s.a1, s.c1}
    assert hist(client, processInstanceIdNotIn=f"{s.a1},{s.c1}") == {s.a2, s.a3}
    assert hist(client, rootProcessInstanceId=s.a3) == {s.a3}
    assert hist(client, rootProcessInstances="true") == s.all
    assert hist(client, superProcessInstanceId=s.a1) == set()
    assert hist(client, subProcessInstanceId=s.a1) == set()
    for case_filter in ("caseInstanceId", "superCaseInstanceId", "subCaseInstanceId"):
        assert hist(client, **{case_filter: "x"}) == set()
    assert hist(client, startedBy="admin") == s.all
    assert hist(client, startedBy="someone") == set()
    assert hist(client, withoutTenantId="true") == s.all
    assert hist(client, tenantIdIn="t1") == set()
    for other in ("superProcessInstanceId", "superCaseInstanceId"):
        message = error(client.get(HPI, query_string={"rootProcessInstances": "true", other: "x"}))
        assert message == f"Invalid query usage: cannot set both rootProcessInstances and {other}"


def test_definition_and_business_key_filters(client: Any, s: Scenario) -> None:
    calc_id = client.get(f"{HPI}/{s.c1}").get_json()["processDefinitionId"]
    assert hist(client, processDefinitionId=calc_id) == {s.c1}
    assert hist(client, processDefinitionKey="approval") == {s.a1, s.a2, s.a3}
    assert hist(client, processDefinitionKeyIn="calc,other") == {s.c1}
    assert hist(client, processDefinitionKeyNotIn="calc") == {s.a1, s.a2, s.a3}
    assert hist(client, processDefinitionName="Calculation") == {s.c1}
    assert hist(client, processDefinitionNameLike="Appr%") == {s.a1, s.a2, s.a3}
    assert hist(client, processDefinitionNameLike="appr%") == set()  # LIKE is case-sensitive
    assert hist(client, processInstanceBusinessKey="order-2") == {s.a2}
    assert hist(client, processInstanceBusinessKeyIn="order-1,order-3") == {s.a1, s.a3}
    assert hist(client, processInstanceBusinessKeyLike="order-_") == {s.a1, s.a2, s.a3}


def test_date_filters_are_inclusive(client: Any, s: Scenario) -> None:
    rows = {r["id"]: r for r in client.get(HPI).get_json()}
    a2_start, c1_end = rows[s.a2]["startTime"], rows[s.c1]["endTime"]
    starts = {i: parse_date(r["startTime"]) for i, r in rows.items()}
    assert hist(client, startedAfter=a2_start) == {i for i, t in starts.items() if t >= parse_date(a2_start)}
    assert hist(client, startedBefore=a2_start) == {i for i, t in starts.items() if t <= parse_date(a2_start)}
    assert s.a2 in hist(client, startedAfter=a2_start, startedBefore=a2_start)
    ends = {i: parse_date(r["endTime"]) for i, r in rows.items() if r["endTime"]}
    assert hist(client, finishedAfter=c1_end) == {i for i, t in ends.items() if t >= parse_date(c1_end)}
    assert hist(client, finishedBefore=c1_end) == {i for i, t in ends.items() if t <= parse_date(c1_end)}
    # Other accepted input forms (contract 3): a colon offset, and no offset at all.
    later = format_date(max(starts.values()) + timedelta(hours=1))
    assert hist(client, startedAfter=later.replace("+0000", "+00:00")) == set()
    assert hist(client, startedBefore=later[:-5]) == s.all
    assert error(client.get(HPI, query_string={"startedAfter": "yesterday"})) == \
        "Cannot set query parameter 'startedAfter' to value 'yesterday'"


def test_activity_filters(client: Any, s: Scenario) -> None:
    assert hist(client, activityIdIn="review") == {s.a1}
    assert hist(client, activeActivityIdIn="review,double") == {s.a1}
    assert hist(client, executedActivityIdIn="double") == {s.c1}
    # a3's review ended too (cancelled by the delete): it has an end time, as in Camunda.
    assert hist(client, executedActivityIdIn="review") == {s.a2, s.a3}
    rows = client.get(HPI).get_json()
    first = min(parse_date(r["startTime"]) for r in rows)
    assert hist(client, executedActivityAfter=format_date(first)) == s.all
    assert hist(client, executedActivityAfter=format_date(first + timedelta(days=1))) == set()
    assert hist(client, executedActivityBefore=format_date(first - timedelta(seconds=1))) == set()
    assert hist(client, executedJobAfter=format_date(first - timedelta(days=1))) == set()


def test_incident_filters(client: Any, ctx: Any, s: Scenario) -> None:
    assert hist(client, withIncidents="true") == set()
    with ctx.db.transaction() as session:
        t = session.get(m.ProcessInstance, s.a3).start_time
        session.add(m.Incident(id=new_id(), type="failedJob", process_instance_id=s.a3, activity_id="review",
                               message="boom: division by zero", created=t, end_time=t, status="resolved"))
        session.add(m.Incident(id=(open_id := new_id()), type="failedExternalTask", process_instance_id=s.a1,
                               activity_id="review", message="worker died", created=t, status="open"))
    assert hist(client, withIncidents="true") == {s.a1, s.a3}
    assert hist(client, withRootIncidents="true") == {s.a1, s.a3}
    assert hist(client, incidentStatus="resolved") == {s.a3}
    assert hist(client, incidentStatus="open") == {s.a1}
    assert hist(client, incidentType="failedJob") == {s.a3}
    assert hist(client, incidentMessage="worker died") == {s.a1}
    assert hist(client, incidentMessageLike="boom%") == {s.a3}
    assert hist(client, incidentIdIn=open_id) == {s.a1}
    # One incident row must satisfy all incident filters together (Camunda joins once).
    assert hist(client, incidentType="failedJob", incidentMessage="worker died") == set()
    assert hist(client, withJobsRetrying="true") == set()


def test_variable_filters(client: Any, s: Scenario) -> None:
    assert hist(client, variables="customer_eq_ACME") == {s.a1}
    assert hist(client, variables="customer_neq_ACME") == {s.a2}
    assert hist(client, variables="customer_like_%lob%") == {s.a2}
    assert hist(client, variables="customer_eq_acme") == set()
    assert hist(client, variables="customer_eq_acme", variableValuesIgnoreCase="true") == {s.a1}
    assert hist(client, variables="CUSTOMER_eq_ACME", variableNamesIgnoreCase="true") == {s.a1}
    assert hist(client, variables="amount_eq_100") == set()  # GET values are strings: no Integer matches
    assert hist(client, variables="temp_eq_scratch") == set()  # deleted variables do not match

    def post(*variables: dict, **extra: Any) -> set[str]:
        body = {"variables": list(variables), **extra}
        found = set(ids(client.post(HPI, json=body)))
        assert client.post(f"{HPI}/count", json=body).get_json() == {"count": len(found)}
        return found

    assert post({"name": "amount", "operator": "gteq", "value": 50}) == {s.a1, s.a2}
    assert post({"name": "amount", "operator": "lt", "value": 50}) == {s.a3, s.c1}
    assert post({"name": "amount", "operator": "eq", "value": 6}) == {s.c1}  # last value, after the script
    assert post({"name": "amount", "operator": "eq", "value": 5}) == set()
    assert post({"name": "x", "operator": "eq", "value": 10.0}) == {s.c1}
    assert post({"name": "approved", "operator": "eq", "value": True}) == {s.a2}
    assert post({"name": "amount", "operator": "gt", "value": 10},
                {"name": "customer", "operator": "like", "value": "G%"}) == {s.a2}
    assert post({"name": "customer", "operator": "eq", "value": "globex"}, variableValuesIgnoreCase=True) == {s.a2}
    assert error(client.get(HPI, query_string={"variables": "amount_eq"})) == \
        "variable query parameter has to have format KEY_OPERATOR_VALUE."
    assert error(client.post(HPI, json={"variables": [{"name": "a", "operator": "in", "value": 1}]})) == \
        "Invalid variable comparator specified: in"


def test_or_queries(client: Any, s: Scenario) -> None:
    def post(body: dict) -> set[str]:
        found = set(ids(client.post(HPI, json=body)))
        assert client.post(f"{HPI}/count", json=body).get_json() == {"count": len(found)}
        return found

    either = {"processInstanceBusinessKey": "order-1", "processDefinitionKey": "calc"}
    assert post({"orQueries": [either]}) == {s.a1, s.c1}
    assert post({"finished": True, "orQueries": [either]}) == {s.c1}
    assert post({"orQueries": [either, {"active": True, "completed": None}]}) == {s.a1}
    assert post({"orQueries": [{"finished": True, "unfinished": True}]}) == s.all
    assert post({"orQueries": [{"completed": True},
                               {"variables": [{"name": "amount", "operator": "eq", "value": 6},
                                              {"name": "customer", "operator": "eq", "value": "ACME"}]}]}) == {s.c1}
    assert post({"orQueries": [{}, {"processInstanceBusinessKey": None}]}) == s.all
    assert error(client.post(HPI, json={"orQueries": [{"orQueries": [{"active": True}]}]})) == \
        "Invalid query usage: cannot set or() within 'or' query"
    assert error(client.post(HPI, json={"orQueries": [{"sorting": [{"sortBy": "startTime", "sortOrder": "asc"}]}]})) \
        == "Invalid query usage: cannot set sorting within 'or' query"


def test_sorting_and_paging(client: Any, s: Scenario) -> None:
    rows = client.get(HPI).get_json()
    assert [r["id"] for r in rows] == [s.a1, s.a2, s.a3, s.c1]  # creation order without sorting

    def order(sort_by: str, sort_order: str) -> list[str]:
        got = ids(client.get(HPI, query_string={"sortBy": sort_by, "sortOrder": sort_order}))
        body = {"sorting": [{"sortBy": sort_by, "sortOrder": sort_order}]}
        assert ids(client.post(HPI, json=body)) == got
        return got

    assert order("endTime", "asc")[0] == s.a1  # null first ascending
    assert order("endTime", "desc")[-1] == s.a1  # null last descending
    assert order("duration", "asc")[0] == s.a1
    assert order("duration", "desc")[-1] == s.a1
    assert order("businessKey", "asc") == [s.c1, s.a1, s.a2, s.a3]
    assert order("businessKey", "desc") == [s.a3, s.a2, s.a1, s.c1]
    assert order("definitionName", "asc") == [s.a1, s.a2, s.a3, s.c1]  # ties: creation order
    assert order("definitionKey", "desc") == [s.c1, s.a1, s.a2, s.a3]
    assert order("definitionVersion", "asc") == [s.a1, s.a2, s.a3, s.c1]
    assert order("instanceId", "desc") == sorted(s.all, reverse=True)
    by_start = sorted(rows, key=lambda r: (parse_date(r["startTime"]), [s.a1, s.a2, s.a3, s.c1].index(r["id"])))
    assert order("startTime", "asc") == [r["id"] for r in by_start]
    for key in ("definitionId", "tenantId"):
        assert sorted(order(key, "asc")) == sorted(s.all)
    two_keys = {"sorting": [{"sortBy": "definitionKey", "sortOrder": "asc"},
                            {"sortBy": "businessKey", "sortOrder": "desc"}]}
    assert ids(client.post(HPI, json=two_keys)) == [s.a3, s.a2, s.a1, s.c1]

    assert ids(client.get(HPI, query_string={"firstResult": 1, "maxResults": 2})) == [s.a2, s.a3]
    assert ids(client.post(f"{HPI}?firstResult=3", json={})) == [s.c1]
    assert ids(client.get(HPI, query_string={"maxResults": 0})) == []
    assert client.get(f"{HPI}/count", query_string={"maxResults": 1}).get_json() == {"count": 4}
    assert error(client.get(HPI, query_string={"maxResults": -1})) == \
        "Cannot set query parameter 'maxResults' to value '-1'"
    assert error(client.get(HPI, query_string={"sortBy": "startTime"})) == \
        "Only a single sorting parameter specified. sortBy and sortOrder required"
    assert error(client.get(HPI, query_string={"sortBy": "nope", "sortOrder": "asc"})) == \
        "sortBy parameter has invalid value: nope"
    assert error(client.get(HPI, query_string={"sortBy": "startTime", "sortOrder": "ASC"})) == \
        "sortOrder parameter has invalid value: ASC"
    assert error(client.post(HPI, json={"sorting": [{"sortBy": "occurrence", "sortOrder": "asc"}]})) == \
        "sortBy parameter has invalid value: occurrence"


def test_post_accepts_nulls_and_empty_bodies(client: Any, s: Scenario) -> None:
    nulls = {name: None for name in ("processInstanceId", "finished", "variables", "orQueries", "sorting",
                                     "processDefinitionKeyIn", "startedBefore")}
    assert set(ids(client.post(HPI, json=nulls))) == s.all
    response = client.post(f"{HPI}/count", data=b"", content_type="application/json")
    assert response.get_json() == {"count": 4}


# --- historic activity instances ----------------------------------------------------------------


def acts(client: Any, **params: Any) -> list[dict]:
    response = client.get(HAI, query_string=params)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = {k: (v == "true" if v in ("true", "false") else v) for k, v in params.items()
                            if k not in ("sortBy", "sortOrder")}
    if "tenantIdIn" in body:
        body["tenantIdIn"] = body["tenantIdIn"].split(",")
    if "sortBy" in params:
        body["sorting"] = [{"sortBy": params["sortBy"], "sortOrder": params["sortOrder"]}]
    assert client.post(HAI, json=body).get_json() == response.get_json()
    count = {k: v for k, v in body.items() if k != "sorting"}
    assert client.post(f"{HAI}/count", json=count).get_json() == {"count": len(response.get_json())}
    assert client.get(f"{HAI}/count", query_string=params).get_json() == {"count": len(response.get_json())}
    return response.get_json()


def test_activity_rows_of_a_completed_instance(client: Any, s: Scenario) -> None:
    rows = acts(client, processInstanceId=s.a2, sortBy="occurrence", sortOrder="asc")
    assert [(r["activityId"], r["activityType"]) for r in rows] == [
        ("start", "startEvent"), ("review", "userTask"), ("end", "noneEndEvent")]
    for row in rows:
        assert set(row) == ACTIVITY_MEMBERS
        assert row["processInstanceId"] == s.a2 and row["rootProcessInstanceId"] == s.a2
        assert row["parentActivityInstanceId"] == s.a2 and row["processDefinitionKey"] == "approval"
        assert row["id"].startswith(row["activityId"] + ":")
        assert DATE_RE.match(row["startTime"]) and DATE_RE.match(row["endTime"])
        assert row["durationInMillis"] == (parse_date(row["endTime"]) - parse_date(row["startTime"])) // \
            timedelta(milliseconds=1)
        assert row["canceled"] is False and row["removalTime"] is None and row["calledCaseInstanceId"] is None
    start, review, end = rows
    assert start["activityName"] == "Start" and end["activityName"] == "Done"
    assert review["taskId"] is not None and review["assignee"] == "demo"
    assert start["taskId"] is None and start["assignee"] is None
    assert end["completeScope"] is True and review["completeScope"] is False
    single = client.get(f"{HAI}/{review['id']}")
    assert single.status_code == 200 and single.get_json() == review
    assert error(client.get(f"{HAI}/nope"), 404) == "Historic activity instance with id 'nope' does not exist"


def test_assignee_changes_reach_activity_history(client: Any, ctx: Any, s: Scenario) -> None:
    task_id = task_of(ctx, s.a1)
    assert client.post(f"/engine-rest/task/{task_id}/assignee", json={"userId": "mary"}).status_code == 204
    assert [r["assignee"] for r in acts(client, processInstanceId=s.a1, activityType="userTask")] == ["mary"]
    assert {r["processInstanceId"] for r in acts(client, taskAssignee="demo")} == {s.a2, s.a3}


def test_activity_rows_of_running_deleted_and_script_instances(client: Any, s: Scenario) -> None:
    running = acts(client, processInstanceId=s.a1, unfinished="true")
    assert [(r["activityId"], r["endTime"], r["durationInMillis"]) for r in running] == [("review", None, None)]
    canceled = acts(client, canceled="true")
    assert [(r["processInstanceId"], r["activityId"]) for r in canceled] == [(s.a3, "review")]
    assert canceled[0]["endTime"] is not None
    script = acts(client, processInstanceId=s.c1, activityType="scriptTask")
    assert [(r["activityId"], r["activityName"], r["canceled"]) for r in script] == [("double", "Double it", False)]
    assert {r["processInstanceId"] for r in acts(client, activityId="review", finished="true")} == {s.a2, s.a3}
    assert {r["processInstanceId"] for r in acts(client, taskAssignee="demo")} == {s.a1, s.a2, s.a3}
    assert len(acts(client, completeScope="true")) == 2  # the end events of a2 and c1
    assert len(acts(client, activityName="Review")) == 3
    assert acts(client, processDefinitionId="calc:9:none") == []
    assert len(acts(client, withoutTenantId="true")) == len(acts(client))
    assert acts(client, tenantIdIn="t1") == []
    review = running[0]
    assert acts(client, activityInstanceId=review["id"]) == [review]
    assert acts(client, executionId=review["executionId"]) == [review]


def test_activity_dates_sorting_and_paging(client: Any, s: Scenario) -> None:
    every = acts(client)
    assert len(every) == 2 + 3 + 2 + 3  # a1: start, review; a2: 3; a3: start, review; c1: 3
    first_start = min(parse_date(r["startTime"]) for r in every)
    assert len(acts(client, startedAfter=format_date(first_start))) == len(every)
    assert acts(client, startedBefore=format_date(first_start - timedelta(seconds=1))) == []
    ended = [r for r in every if r["endTime"]]
    last_end = max(parse_date(r["endTime"]) for r in ended)
    assert len(acts(client, finishedBefore=format_date(last_end))) == len(ended)
    assert acts(client, finishedAfter=format_date(last_end + timedelta(seconds=1))) == []

    by_end = acts(client, sortBy="endTime", sortOrder="asc")
    assert by_end[0]["endTime"] is None and by_end[-1]["endTime"] is not None
    by_duration = acts(client, sortBy="duration", sortOrder="desc")
    assert by_duration[-1]["durationInMillis"] is None
    durations = [r["durationInMillis"] for r in by_duration if r["durationInMillis"] is not None]
    assert durations == sorted(durations, reverse=True)
    names = [r["activityId"] for r in acts(client, sortBy="activityId", sortOrder="desc")]
    assert names == sorted(names, reverse=True)
    occurrence = acts(client, sortBy="occurrence", sortOrder="asc")
    assert [r["id"] for r in occurrence] == [r["id"] for r in every]
    for key in ("activityInstanceId", "instanceId", "executionId", "activityName", "activityType", "startTime",
                "definitionId", "tenantId"):
        assert len(acts(client, sortBy=key, sortOrder="asc")) == len(every)
    page = client.get(HAI, query_string={"firstResult": 2, "maxResults": 3}).get_json()
    assert [r["id"] for r in page] == [r["id"] for r in every[2:5]]
    assert error(client.get(HAI, query_string={"sortBy": "businessKey", "sortOrder": "asc"})) == \
        "sortBy parameter has invalid value: businessKey"


# --- historic variable instances ----------------------------------------------------------------


def variables(client: Any, **params: Any) -> list[dict]:
    response = client.get(HVI, query_string=params)
    assert response.status_code == 200, response.get_json()
    count = client.get(f"{HVI}/count", query_string=params).get_json()
    assert count == {"count": len(response.get_json())}
    return response.get_json()


def test_variable_instance_object_and_last_values(client: Any, s: Scenario) -> None:
    rows = {r["name"]: r for r in variables(client, processInstanceId=s.c1)}
    assert set(rows) == {"amount", "x"}
    amount = rows["amount"]
    assert set(amount) == VARIABLE_MEMBERS
    assert (amount["value"], amount["type"], amount["valueInfo"]) == (6, "Integer", {})  # changed by the script
    assert rows["x"]["value"] == 10
    assert amount["processInstanceId"] == s.c1 and amount["executionId"] == s.c1
    assert amount["activityInstanceId"] == s.c1 and amount["rootProcessInstanceId"] == s.c1
    assert amount["processDefinitionKey"] == "calc" and amount["processDefinitionId"].startswith("calc:1:")
    assert amount["state"] == "CREATED" and DATE_RE.match(amount["createTime"])
    for member in ("caseDefinitionKey", "caseDefinitionId", "caseInstanceId", "caseExecutionId", "taskId",
                   "tenantId", "errorMessage", "removalTime"):
        assert amount[member] is None, member
    single = client.get(f"{HVI}/{amount['id']}")
    assert single.status_code == 200 and single.get_json() == amount
    assert error(client.get(f"{HVI}/nope"), 404) == "Historic variable instance with Id 'nope' does not exist."


def test_deleted_variables(client: Any, s: Scenario) -> None:
    assert variables(client, variableName="temp") == []
    deleted = variables(client, variableName="temp", includeDeleted="true")
    assert [(r["processInstanceId"], r["state"], r["value"]) for r in deleted] == [(s.a1, "DELETED", "scratch")]
    assert client.get(f"{HVI}/{deleted[0]['id']}").get_json()["state"] == "DELETED"
    body = {"variableName": "temp", "includeDeleted": True}
    assert client.post(HVI, json=body).get_json() == deleted
    assert client.post(f"{HVI}/count", json=body).get_json() == {"count": 1}


def test_variable_instance_filters(client: Any, s: Scenario) -> None:
    everything = variables(client)
    # a1: amount, customer; a2: amount, customer, approved; a3: amount; c1: amount, x
    assert len(everything) == 8
    assert {r["processInstanceId"] for r in variables(client, variableName="customer")} == {s.a1, s.a2}
    assert {r["name"] for r in variables(client, variableNameLike="cust%")} == {"customer"}
    assert len(variables(client, variableName="CUSTOMER", variableNamesIgnoreCase="true")) == 2
    assert [r["processInstanceId"] for r in variables(client, variableName="customer", variableValue="ACME")] == [s.a1]
    assert variables(client, variableName="customer", variableValue="acme") == []
    assert len(variables(client, variableName="customer", variableValue="acme", variableValuesIgnoreCase="true")) == 1
    assert {r["name"] for r in variables(client, variableNameIn="x,approved")} == {"x", "approved"}
    assert {r["name"] for r in variables(client, variableTypeIn="boolean")} == {"approved"}
    assert len(variables(client, variableTypeIn="Integer,string")) == 7
    assert len(variables(client, processInstanceIdIn=f"{s.a1},{s.a3}")) == 3
    assert len(variables(client, processDefinitionKey="approval")) == 6
    c1_def = client.get(f"{HPI}/{s.c1}").get_json()["processDefinitionId"]
    assert len(variables(client, processDefinitionId=c1_def)) == 2
    assert len(variables(client, executionIdIn=s.c1)) == 2
    assert len(variables(client, activityInstanceIdIn=s.a2)) == 3
    assert variables(client, caseInstanceId="case") == []
    assert len(variables(client, withoutTenantId="true")) == 8 and variables(client, tenantIdIn="t") == []
    message = ("Only a single variable value parameter specified: variable name and value are required to be able "
               "to query after a specific variable value.")
    assert error(client.get(HVI, query_string={"variableValue": "ACME"})) == message
    assert error(client.get(HVI, query_string={"taskIdIn": "t1"})) == "Unsupported query parameter 'taskIdIn'"
    assert error(client.post(HVI, json={"taskIdIn": ["t1"]})) == "Unsupported query parameter 'taskIdIn'"
    assert error(client.post(HVI, json={"variableName": "x", "variableValue": {"a": 1}})).startswith(
        "Cannot deserialize member 'variableValue'")

    def post(body: dict) -> list[dict]:
        found = client.post(HVI, json=body).get_json()
        assert client.post(f"{HVI}/count", json=body).get_json() == {"count": len(found)}
        return found

    assert [r["processInstanceId"] for r in post({"variableName": "amount", "variableValue": 6})] == [s.c1]
    assert [r["processInstanceId"] for r in post({"variableName": "approved", "variableValue": True})] == [s.a2]
    assert post({"variableName": "amount", "variableValue": "6"}) == []  # a string matches String variables only
    assert len(post({"processInstanceIdIn": [s.a1, s.a2], "variableTypeIn": ["integer"]})) == 2


def test_variable_instance_sorting_and_paging(client: Any, s: Scenario) -> None:
    names = [r["name"] for r in variables(client, sortBy="variableName", sortOrder="desc")]
    assert names == sorted(names, reverse=True)
    by_instance = [r["processInstanceId"] for r in variables(client, sortBy="instanceId", sortOrder="asc")]
    assert by_instance == sorted(by_instance)
    body = {"sorting": [{"sortBy": "instanceId", "sortOrder": "desc"}, {"sortBy": "variableName", "sortOrder": "asc"}]}
    rows = client.post(HVI, json=body).get_json()
    assert [(r["processInstanceId"], r["name"]) for r in rows] == sorted(
        [(r["processInstanceId"], r["name"]) for r in rows], key=lambda p: (_neg(p[0]), p[1]))
    every = variables(client)
    page = client.post(f"{HVI}?firstResult=1&maxResults=2", json={}).get_json()
    assert [r["id"] for r in page] == [r["id"] for r in every[1:3]]
    assert error(client.get(HVI, query_string={"sortBy": "createTime", "sortOrder": "asc"})) == \
        "sortBy parameter has invalid value: createTime"


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)
