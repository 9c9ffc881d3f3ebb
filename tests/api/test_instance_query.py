"""The shared process-instance query builder (app/services/instance_queries.py): the runtime list of
contract 8.2 through ``/process-instance``, the builder's own rules, and ``history_ids`` streaming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from app.api.camunda.params import VariableFilter
from app.errors import InvalidRequest
from app.services import instance_queries as queries
from app.store import models as m
from app.store.ids import new_id

USER_TASK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_approval" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="approval" name="Approval" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
RPI = "/engine-rest/process-instance"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()]


def error(response: Any) -> str:
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["type"] == "InvalidRequestException"
    return response.get_json()["message"]


@pytest.fixture
def running(client: Any) -> tuple[dict, list[str]]:
    """Three started instances; the third is deleted, so two are running."""
    deployment = client.deploy_ok({"approval.bpmn": USER_TASK_BPMN})
    started = [client.start("approval", {"amount": {"value": v, "type": "Integer"}, "owner": {"value": o}},
                            business_key=bk)["id"]
               for v, o, bk in ((10, "Ann", "bk-b"), (20, "bob", "bk-a"), (30, "cy", "bk-c"))]
    assert client.delete(f"{RPI}/{started[2]}").status_code == 204
    return deployment, started


def runtime(client: Any, **params: Any) -> list[str]:
    got = ids(client.get(RPI, query_string=params))
    assert client.get(f"{RPI}/count", query_string=params).get_json() == {"count": len(got)}
    return got


# --- the runtime list (contract 8.2) ----------------------------------------------------------


def test_runtime_list_only_shows_running_instances(client: Any, running: tuple[dict, list[str]]) -> None:
    deployment, (i1, i2, i3) = running
    definition_id = next(iter(deployment["deployedProcessDefinitions"]))
    assert runtime(client) == [i1, i2]
    assert runtime(client, processInstanceIds=f"{i1},{i3}") == [i1]
    assert runtime(client, businessKey="bk-a") == [i2]
    assert runtime(client, businessKeyLike="bk-%") == [i1, i2]
    assert runtime(client, processDefinitionId=definition_id) == [i1, i2]
    assert runtime(client, processDefinitionKey="approval", processDefinitionKeyIn="approval,x") == [i1, i2]
    assert runtime(client, processDefinitionKeyNotIn="approval") == []
    assert runtime(client, deploymentId=deployment["id"]) == [i1, i2]
    assert runtime(client, deploymentId="other") == []
    assert runtime(client, activityIdIn="review") == [i1, i2]
    assert runtime(client, activityIdIn="start") == []
    assert runtime(client, active="true") == [i1, i2]
    assert runtime(client, suspended="true") == []
    assert runtime(client, rootProcessInstances="true", leafProcessInstances="true") == [i1, i2]
    assert runtime(client, rootProcessInstanceId=i2) == [i2]
    assert runtime(client, superProcessInstance=i1) == [] and runtime(client, subProcessInstance=i1) == []
    assert runtime(client, tenantIdIn="t1") == []
    assert runtime(client, withoutTenantId="true", processDefinitionWithoutTenantId="true") == [i1, i2]
    for case_filter in ("caseInstanceId", "superCaseInstance", "subCaseInstance"):
        assert runtime(client, **{case_filter: "c"}) == []
    assert error(client.get(RPI, query_string={"rootProcessInstances": "true", "superProcessInstance": i1})) == \
        "Invalid query usage: cannot set both rootProcessInstances and superProcessInstanceId"
    assert error(client.get(RPI, query_string={"leafProcessInstances": "true", "subProcessInstance": i1})) == \
        "Invalid query usage: cannot set both leafProcessInstances and subProcessInstanceId"


def test_runtime_suspension_and_incident_filters(client: Any, ctx: Any, running: tuple[dict, list[str]]) -> None:
    _, (i1, i2, _i3) = running
    assert client.put(f"{RPI}/{i2}/suspended", json={"suspended": True}).status_code == 204
    assert runtime(client, active="true") == [i1]
    assert runtime(client, suspended="true") == [i2]
    with ctx.db.transaction() as session:
        session.add(m.Incident(id=(open_id := new_id()), type="failedJob", process_instance_id=i1, message="boom 1",
                               created=T0, status="open"))
        session.add(m.Incident(id=new_id(), type="failedJob", process_instance_id=i2, message="boom 2", created=T0,
                               end_time=T0, status="resolved"))
    # Runtime incident filters only see open incidents.
    assert runtime(client, withIncident="true") == [i1]
    assert runtime(client, incidentId=open_id) == [i1]
    assert runtime(client, incidentType="failedJob") == [i1]
    assert runtime(client, incidentMessage="boom 2") == []
    assert runtime(client, incidentMessageLike="boom%") == [i1]


def test_runtime_variables_or_queries_and_sorting(client: Any, running: tuple[dict, list[str]]) -> None:
    _, (i1, i2, _i3) = running
    assert runtime(client, variables="owner_eq_bob") == [i2]
    assert runtime(client, variables="owner_eq_BOB", variableValuesIgnoreCase="true") == [i2]
    assert runtime(client, variables="OWNER_like_%n%", variableNamesIgnoreCase="true") == [i1]
    body = {"variables": [{"name": "amount", "operator": "lteq", "value": 10}]}
    assert ids(client.post(RPI, json=body)) == [i1]
    assert client.post(f"{RPI}/count", json=body).get_json() == {"count": 1}
    either = {"orQueries": [{"businessKey": "bk-a", "variables": [{"name": "amount", "operator": "eq", "value": 10}]}]}
    assert ids(client.post(RPI, json=either)) == [i1, i2]
    assert ids(client.post(RPI, json={**either, "businessKeyLike": "%b"})) == [i1]

    assert ids(client.get(RPI, query_string={"sortBy": "businessKey", "sortOrder": "asc"})) == [i2, i1]
    assert ids(client.post(RPI, json={"sorting": [{"sortBy": "businessKey", "sortOrder": "desc"}]})) == [i1, i2]
    assert ids(client.get(RPI, query_string={"sortBy": "instanceId", "sortOrder": "desc"})) == [i2, i1]
    for key in ("definitionKey", "definitionId", "tenantId"):
        assert ids(client.get(RPI, query_string={"sortBy": key, "sortOrder": "asc"})) == [i1, i2]  # ties: creation
    assert error(client.get(RPI, query_string={"sortBy": "startTime", "sortOrder": "asc"})) == \
        "sortBy parameter has invalid value: startTime"
    assert ids(client.get(RPI, query_string={"firstResult": 1, "maxResults": 5})) == [i2]


# --- the builder ------------------------------------------------------------------------------


@pytest.mark.parametrize(("filters", "or_queries", "empty"), [
    ({}, [], True),
    ({"processInstanceId": None, "finished": None, "processDefinitionKeyIn": [], "variables": None}, [], True),
    ({"sorting": [{"sortBy": "startTime", "sortOrder": "asc"}]}, [], True),
    ({}, [{}, {"businessKey": None}], True),
    ({"finished": True}, [], False),
    ({"processDefinitionId": "p:1:x"}, [], False),
    ({}, [{"processInstanceBusinessKey": "bk"}], False),
    ({"variables": [VariableFilter("a", "eq", 1)]}, [], False),
])
def test_is_empty_query(filters: dict, or_queries: list, empty: bool) -> None:
    assert queries.is_empty_query(filters, or_queries) is empty


def test_builder_rules() -> None:
    with pytest.raises(InvalidRequest, match="^Already querying for historic process instance with another state$"):
        queries.instance_query({"active": True, "internallyTerminated": True})
    with pytest.raises(InvalidRequest, match="^Already querying"):
        queries.instance_query({}, [{"completed": True, "externallyTerminated": True}])
    with pytest.raises(InvalidRequest, match="superCaseInstanceId$"):
        queries.instance_query({"rootProcessInstances": True, "superCaseInstanceId": "x"})
    # The runtime reading of active + suspended does not raise: suspended wins, as in Camunda.
    queries.instance_query({"active": True, "suspended": True}, runtime=True)
    assert set(queries.RUNTIME_SORT_KEYS) == {"instanceId", "definitionKey", "definitionId", "tenantId", "businessKey"}
    assert set(queries.HISTORY_SORT_KEYS) == {"instanceId", "definitionId", "definitionKey", "definitionName",
                                              "definitionVersion", "businessKey", "startTime", "endTime",
                                              "duration", "tenantId"}


# --- history_ids --------------------------------------------------------------------------------


def _insert(ctx: Any, count: int, *, varied: bool = False) -> list[str]:
    """``count`` instance rows written directly (no engine), in creation (= id) order."""
    created = []
    with ctx.db.transaction() as session:
        if varied:
            session.add(m.Deployment(id="dep", name="d", deployment_time=T0))
            session.add(m.ProcessDefinition(id="named:1:x", key="named", version=1, name="Named", deployment_id="dep",
                                            resource_name="r.bpmn", deployed_at=T0))
        for i in range(count):
            instance_id = new_id()
            created.append(instance_id)
            start = T0 + timedelta(seconds=i % 17)  # duplicates on purpose: ties need the id
            ended = varied and i % 3 != 0
            session.add(m.ProcessInstance(
                id=instance_id, definition_id="named:1:x" if varied and i % 2 else "bulk:1:x",
                definition_key="named" if varied and i % 2 else "bulk",
                business_key=None if varied and i % 5 == 0 else f"bk-{i % 7}", state="COMPLETED" if ended else "ACTIVE",
                start_time=start, end_time=start + timedelta(milliseconds=(i * 37) % 11 * 100) if ended else None,
                root_instance_id=instance_id, version=1))
    return created


def test_history_ids_streams_all_ids_in_pages(ctx: Any) -> None:
    created = _insert(ctx, 2000)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "process_instance" in statement:
            statements.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        with ctx.db.transaction() as session:
            streamed = list(queries.history_ids(session, {}, (), (), page_size=300))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)
    assert streamed == created  # everything, in creation order, no duplicates
    paged = [s for s in statements if "LIMIT" in s.upper()]
    assert len(paged) == 7  # ceil(2000 / 300) pages, each a LIMITed query; no query loads all rows
    assert len(statements) == len(paged) + 1  # plus the ceiling (max id) look-up


@pytest.mark.parametrize("sorting", [
    [],
    [("startTime", True)],
    [("endTime", True)],
    [("endTime", False)],
    [("duration", False), ("businessKey", True)],
    [("businessKey", False), ("startTime", False)],
    [("definitionName", True), ("duration", True)],
    [("definitionVersion", False), ("instanceId", False)],
])
def test_history_ids_keyset_matches_the_unpaged_order(ctx: Any, sorting: list[tuple[str, bool]]) -> None:
    _insert(ctx, 90, varied=True)
    expected = [h.id for h in queries.list_history(ctx, {}, (), sorting)]
    assert len(expected) == 90
    with ctx.db.transaction() as session:
        assert list(queries.history_ids(session, {}, (), sorting, page_size=7)) == expected
    filters = {"processInstanceBusinessKeyLike": "bk-%"}
    or_queries = [{"finished": True, "processDefinitionName": "Named"}]
    expected = [h.id for h in queries.list_history(ctx, filters, or_queries, sorting)]
    assert 0 < len(expected) < 90
    with ctx.db.transaction() as session:
        assert list(queries.history_ids(session, filters, or_queries, sorting, page_size=4)) == expected


def test_history_ids_ignores_instances_created_while_streaming(ctx: Any) -> None:
    created = _insert(ctx, 25)
    seen = []
    with ctx.db.transaction() as session:
        for instance_id in queries.history_ids(session, {"unfinished": True}, (), (), page_size=10):
            seen.append(instance_id)
            # Like a restart: each visited instance makes a new (matching) one.
            session.add(m.ProcessInstance(id=new_id(), definition_id="bulk:1:x", definition_key="bulk",
                                          state="ACTIVE", start_time=T0, version=1))
    assert seen == created
    with ctx.db.transaction() as session:
        assert session.scalar(select(m.ProcessInstance.id).order_by(m.ProcessInstance.id.desc()).limit(1)) \
            not in created
