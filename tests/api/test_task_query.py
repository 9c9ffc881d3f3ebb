"""``/task`` through the Flask test client: the query of contract 9.2 (every filter family, GET/POST
equivalence, sorting, paging, orQueries, counts, unsupported filters), the task object of 9.1, and
the task commands (claim, unclaim, assignee, complete, submit-form, variables)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from app.api.camunda.task_query import QUERY, UNSUPPORTED
from app.services import identity

BASE = "/engine-rest/task"
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")

TASK_MEMBERS = {
    "id", "name", "assignee", "owner", "created", "lastUpdated", "due", "followUp", "delegationState",
    "description", "executionId", "parentTaskId", "priority", "processDefinitionId", "processInstanceId",
    "caseExecutionId", "caseDefinitionId", "caseInstanceId", "taskDefinitionKey", "suspended", "formKey",
    "camundaFormRef", "tenantId", "taskState",
}

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">"""

# approve (named, candidates, priority, due date, form key, documentation) -> review (no name, assignee)
APPROVAL = HEAD + """
  <bpmn:process id="approval" name="Invoice Approval" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve invoice" camunda:candidateGroups="accounting,management"
                   camunda:candidateUsers="carol" camunda:priority="70" camunda:dueDate="2030-01-02T10:00:00Z"
                   camunda:formKey="embedded:app:forms/approve.html">
      <bpmn:documentation>Check the invoice</bpmn:documentation>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="review" />
    <bpmn:userTask id="review" camunda:assignee="demo" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""

REQUEST = HEAD + """
  <bpmn:process id="request" name="Service Request" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle" />
    <bpmn:userTask id="handle" name="Handle request" camunda:candidateUsers="dave" camunda:priority="10"
                   camunda:followUpDate="2031-05-05T02:00:00+02:00" />
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


@dataclass
class World:
    """A1 approve/order-1 (open), A2 approve/order-2 (claimed by alice), H handle/req-1 (open),
    R3 review/order-3 (assigned to demo by the model)."""

    a1: dict[str, Any]
    a2: dict[str, Any]
    h: dict[str, Any]
    r3: dict[str, Any]
    instances: dict[str, str]  # business key -> instance id
    definitions: dict[str, str]  # key -> definition id

    @property
    def all_ids(self) -> set[str]:
        return {self.a1["id"], self.a2["id"], self.h["id"], self.r3["id"]}


def _tasks(client: Any, **params: Any) -> list[dict[str, Any]]:
    response = client.get(BASE, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _only_task(client: Any, instance_id: str) -> dict[str, Any]:
    tasks = _tasks(client, processInstanceId=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


@pytest.fixture
def world(client: Any) -> World:
    deployment = client.deploy_ok({"approval.bpmn": APPROVAL, "request.bpmn": REQUEST})
    definitions = {d["key"]: d["id"] for d in deployment["deployedProcessDefinitions"].values()}
    instances = {
        "order-1": client.start("approval", {"amount": {"value": 100}, "customer": {"value": "ACME"}},
                                "order-1")["id"],
        "order-2": client.start("approval", {"amount": {"value": 500}, "customer": {"value": "Globex"}},
                                "order-2")["id"],
        "req-1": client.start("request", {"customer": {"value": "ACME"}}, "req-1")["id"],
        "order-3": client.start("approval", {"amount": {"value": 50, "type": "Long"},
                                             "customer": {"value": "Initech"}}, "order-3")["id"],
    }
    a2 = _only_task(client, instances["order-2"])
    assert client.post(f"{BASE}/{a2['id']}/claim", json={"userId": "alice"}).status_code == 204
    a3 = _only_task(client, instances["order-3"])
    assert client.post(f"{BASE}/{a3['id']}/complete", json={}).status_code == 204
    return World(
        a1=_only_task(client, instances["order-1"]), a2=_only_task(client, instances["order-2"]),
        h=_only_task(client, instances["req-1"]), r3=_only_task(client, instances["order-3"]),
        instances=instances, definitions=definitions,
    )


def _as_args(body: dict[str, Any]) -> dict[str, str]:
    """The GET form of a POST body (lists comma-separated, variables as name_op_value)."""
    args = {}
    for name, value in body.items():
        if isinstance(value, bool):
            args[name] = "true" if value else "false"
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            args[name] = ",".join(f"{v['name']}_{v['operator']}_{v['value']}" for v in value)
        elif isinstance(value, list):
            args[name] = ",".join(value)
        else:
            args[name] = str(value)
    return args


def _ids(client: Any, body: dict[str, Any]) -> set[str]:
    """Run one filter set through GET, POST and both counts; they must agree."""
    get = client.get(BASE, query_string=_as_args(body))
    post = client.post(BASE, json=body)
    assert get.status_code == 200, get.get_json()
    assert post.status_code == 200, post.get_json()
    get_ids = [t["id"] for t in get.get_json()]
    post_ids = [t["id"] for t in post.get_json()]
    assert get_ids == post_ids
    get_count = client.get(f"{BASE}/count", query_string=_as_args(body)).get_json()
    post_count = client.post(f"{BASE}/count", json=body).get_json()
    assert get_count == post_count == {"count": len(get_ids)}
    return set(get_ids)


def _error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) >= {"type", "message", "code"}
    return body["message"]


# --- the task object (9.1, 9.3) -------------------------------------------------------------------


def test_task_object_shape(client: Any, world: World) -> None:
    a1 = world.a1
    assert set(a1) == TASK_MEMBERS
    for member in ("id", "executionId", "processInstanceId"):
        uuid.UUID(a1[member])
    assert a1["name"] == "Approve invoice"
    assert a1["taskDefinitionKey"] == "approve"
    assert a1["assignee"] is None and a1["owner"] is None
    assert a1["priority"] == 70
    assert a1["formKey"] == "embedded:app:forms/approve.html"
    assert a1["description"] == "Check the invoice"
    assert a1["due"] == "2030-01-02T10:00:00.000+0000"
    assert a1["followUp"] is None
    assert DATE_RE.match(a1["created"])
    assert a1["lastUpdated"] is None
    assert a1["processDefinitionId"] == world.definitions["approval"]
    assert a1["processInstanceId"] == world.instances["order-1"]
    assert a1["suspended"] is False
    assert a1["taskState"] == "Created"
    for member in ("delegationState", "parentTaskId", "caseExecutionId", "caseDefinitionId", "caseInstanceId",
                   "camundaFormRef", "tenantId"):
        assert a1[member] is None
    # No BPMN name: the activity id (camunda-client rejects a null name).
    assert world.r3["name"] == "review"
    assert world.r3["assignee"] == "demo"
    assert world.r3["priority"] == 50
    assert world.r3["formKey"] is None and world.r3["description"] is None and world.r3["due"] is None
    assert world.h["followUp"] == "2031-05-05T00:00:00.000+0000"
    # Claiming stamps lastUpdated.
    assert world.a2["assignee"] == "alice" and DATE_RE.match(world.a2["lastUpdated"])


def test_get_one_task(client: Any, world: World) -> None:
    response = client.get(f"{BASE}/{world.a1['id']}")
    assert response.status_code == 200
    assert response.get_json() == world.a1
    missing = client.get(f"{BASE}/nope")
    assert _error(missing, 404) == "No matching task with id nope"
    assert missing.get_json()["type"] == "InvalidRequestException"


def test_unfiltered_list_and_count(client: Any, world: World) -> None:
    assert _ids(client, {}) == world.all_ids
    # A body on GET is ignored (pycamunda sends {}), an empty POST body is {}.
    assert len(client.get(BASE, json={}).get_json()) == 4
    empty = client.post(BASE, data="", content_type="application/json")
    assert empty.status_code == 200 and len(empty.get_json()) == 4


# --- filters --------------------------------------------------------------------------------------


def test_id_filters(client: Any, world: World) -> None:
    a1, h = world.a1, world.h
    assert _ids(client, {"taskId": a1["id"]}) == {a1["id"]}
    assert _ids(client, {"taskIdIn": [a1["id"], h["id"]]}) == {a1["id"], h["id"]}
    assert _ids(client, {"processInstanceId": h["processInstanceId"]}) == {h["id"]}
    assert _ids(client, {"processInstanceIdIn": [a1["processInstanceId"], h["processInstanceId"]]}) \
        == {a1["id"], h["id"]}
    assert _ids(client, {"executionId": a1["executionId"]}) == {a1["id"]}
    assert _ids(client, {"taskId": "unknown"}) == set()
    # Repeated keys and comma lists merge (contract 5.1).
    repeated = client.get(BASE, query_string=[("taskIdIn", a1["id"]), ("taskIdIn", h["id"])])
    assert {t["id"] for t in repeated.get_json()} == {a1["id"], h["id"]}


def test_activity_instance_filter(client: Any, world: World) -> None:
    tree = client.get(f"/engine-rest/process-instance/{world.instances['order-1']}/activity-instances")
    assert tree.status_code == 200, tree.get_json()
    approve = [c for c in tree.get_json()["childActivityInstances"] if c["activityId"] == "approve"]
    assert len(approve) == 1
    assert _ids(client, {"activityInstanceIdIn": [approve[0]["id"], "other:1"]}) == {world.a1["id"]}


def test_business_key_and_definition_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"processInstanceBusinessKey": "order-1"}) == {a1}
    assert _ids(client, {"processInstanceBusinessKeyIn": ["order-2", "req-1"]}) == {a2, h}
    assert _ids(client, {"processInstanceBusinessKeyLike": "order-%"}) == {a1, a2, r3}
    assert _ids(client, {"processDefinitionId": world.definitions["request"]}) == {h}
    assert _ids(client, {"processDefinitionKey": "approval"}) == {a1, a2, r3}
    assert _ids(client, {"processDefinitionKeyIn": ["request", "nothing"]}) == {h}
    assert _ids(client, {"processDefinitionName": "Service Request"}) == {h}
    assert _ids(client, {"processDefinitionNameLike": "%Approval"}) == {a1, a2, r3}


def test_tenant_filters(client: Any, world: World) -> None:
    assert _ids(client, {"tenantIdIn": ["t1"]}) == set()
    assert _ids(client, {"withoutTenantId": True}) == world.all_ids
    assert _ids(client, {"withoutTenantId": False}) == world.all_ids


def test_assignee_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"assignee": "alice"}) == {a2}
    assert _ids(client, {"assigneeLike": "%e%"}) == {a2, r3}  # alice, demo
    assert _ids(client, {"assigneeIn": ["alice", "demo"]}) == {a2, r3}
    # SQL NOT IN, as in Camunda: unassigned tasks do not match.
    assert _ids(client, {"assigneeNotIn": ["alice"]}) == {r3}
    assert _ids(client, {"assigned": True}) == {a2, r3}
    assert _ids(client, {"unassigned": True}) == {a1, h}
    assert _ids(client, {"unassigned": False}) == world.all_ids
    assert _ids(client, {"owner": "alice"}) == set()


def test_candidate_filters(client: Any, ctx: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"candidateGroup": "accounting"}) == {a1}
    assert _ids(client, {"candidateGroup": "accounting", "includeAssignedTasks": True}) == {a1, a2}
    assert _ids(client, {"candidateGroups": ["management", "sales"]}) == {a1}
    assert _ids(client, {"candidateGroups": ["sales"]}) == set()
    assert _ids(client, {"candidateUser": "carol"}) == {a1}
    assert _ids(client, {"candidateUser": "carol", "includeAssignedTasks": True}) == {a1, a2}
    assert _ids(client, {"candidateUser": "dave"}) == {h}
    assert _ids(client, {"candidateUser": "erin"}) == set()
    # A user's groups are the Baton roles it is a member of.
    identity.create_user(ctx, "erin", "erin-secret")
    identity.create_role(ctx, "accounting")
    identity.add_member(ctx, "accounting", "erin")
    assert _ids(client, {"candidateUser": "erin"}) == {a1}
    assert _ids(client, {"withCandidateGroups": True}) == {a1}
    assert _ids(client, {"withCandidateUsers": True}) == {a1, h}
    assert _ids(client, {"withCandidateUsers": True, "includeAssignedTasks": True}) == {a1, a2, h}
    assert _ids(client, {"withoutCandidateGroups": True}) == {h}
    assert _ids(client, {"withoutCandidateGroups": True, "includeAssignedTasks": True}) == {h, r3}
    assert _ids(client, {"withoutCandidateUsers": True}) == set()
    assert _ids(client, {"withoutCandidateUsers": True, "includeAssignedTasks": True}) == {r3}
    # includeAssignedTasks alone restricts nothing.
    assert _ids(client, {"includeAssignedTasks": True}) == world.all_ids
    # Camunda refuses these combinations outside OR groups.
    for body in ({"candidateUser": "carol", "candidateGroup": "accounting"},
                 {"candidateUser": "carol", "candidateGroups": ["accounting"]},
                 {"candidateGroup": "accounting", "candidateGroups": ["management"]}):
        assert _error(client.post(BASE, json=body)).startswith("Invalid query usage: cannot set both")
        assert client.get(BASE, query_string=_as_args(body)).status_code == 400


def test_task_definition_key_and_name_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"taskDefinitionKey": "approve"}) == {a1, a2}
    assert _ids(client, {"taskDefinitionKeyIn": ["handle", "review"]}) == {h, r3}
    assert _ids(client, {"taskDefinitionKeyLike": "%e%"}) == world.all_ids
    assert _ids(client, {"taskDefinitionKeyLike": "re%"}) == {r3}
    # name / nameNotEqual / description compare case-insensitively, as in Camunda.
    assert _ids(client, {"name": "approve INVOICE"}) == {a1, a2}
    assert _ids(client, {"name": "review"}) == {r3}  # the activity-id fallback is the name
    assert _ids(client, {"nameNotEqual": "Approve Invoice"}) == {h, r3}
    assert _ids(client, {"nameLike": "Approve%"}) == {a1, a2}
    assert _ids(client, {"nameLike": "%e_u%"}) == {h}  # "Handle request"
    assert _ids(client, {"nameNotLike": "Approve%"}) == {h, r3}
    assert _ids(client, {"description": "check the invoice"}) == {a1, a2}
    assert _ids(client, {"descriptionLike": "%invoice"}) == {a1, a2}


def test_like_filters_are_case_sensitive(client: Any, ctx: Any, world: World) -> None:
    """Contract 5.1: ``…Like`` is SQL LIKE, case-sensitive (no ignore-case flag on /task)."""
    results = [_ids(client, {"nameLike": "approve%"}), _ids(client, {"processDefinitionNameLike": "%approval"}),
               _ids(client, {"descriptionLike": "check%"}), _ids(client, {"assigneeLike": "ALICE"})]
    assert results == [set(), set(), set(), set()]
    assert _ids(client, {"assigneeLike": "alice"}) == {world.a2["id"]}


def test_priority_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"priority": 70}) == {a1, a2}
    assert _ids(client, {"minPriority": 50}) == {a1, a2, r3}
    assert _ids(client, {"maxPriority": 50}) == {h, r3}
    assert _ids(client, {"minPriority": 11, "maxPriority": 69}) == {r3}
    response = client.get(BASE, query_string={"priority": "high"})
    assert _error(response) == "Cannot set query parameter 'priority' to value 'high'"


def test_due_and_follow_up_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    assert _ids(client, {"dueDate": "2030-01-02T10:00:00.000+0000"}) == {a1, a2}
    assert _ids(client, {"dueDate": "2030-01-02T12:00:00.000+02:00"}) == {a1, a2}
    assert _ids(client, {"dueDate": "2030-01-02T10:00:00.001+0000"}) == set()
    assert _ids(client, {"dueAfter": "2030-01-01T00:00:00.000+0000"}) == {a1, a2}
    assert _ids(client, {"dueAfter": "2030-01-02T10:00:00.000+0000"}) == set()  # strictly after
    assert _ids(client, {"dueBefore": "2030-01-03T00:00:00.000+0000"}) == {a1, a2}
    assert _ids(client, {"dueBefore": "2030-01-02T10:00:00.000+0000"}) == set()  # strictly before
    assert _ids(client, {"withoutDueDate": True}) == {h, r3}
    assert _ids(client, {"followUpDate": "2031-05-05T00:00:00.000+0000"}) == {h}
    assert _ids(client, {"followUpAfter": "2031-01-01T00:00:00.000+0000"}) == {h}
    assert _ids(client, {"followUpBefore": "2031-01-01T00:00:00.000+0000"}) == set()
    assert _ids(client, {"followUpBefore": "2032-01-01T00:00:00.000+0000"}) == {h}
    response = client.get(BASE, query_string={"dueAfter": "tomorrow"})
    assert _error(response) == "Cannot set query parameter 'dueAfter' to value 'tomorrow'"
    # A raw "+" in a query string arrives as a space (contract 3).
    raw = client.get(f"{BASE}?dueDate=2030-01-02T10:00:00.000+0000")
    assert {t["id"] for t in raw.get_json()} == {a1, a2}


def test_created_filters(client: Any, world: World) -> None:
    a1 = world.a1
    # The emitted `created` (milliseconds) finds its own task.
    assert a1["id"] in _ids(client, {"createdOn": a1["created"]})
    assert a1["id"] not in _ids(client, {"createdAfter": a1["created"]})
    assert a1["id"] not in _ids(client, {"createdBefore": a1["created"]})
    assert _ids(client, {"createdAfter": "2000-01-01T00:00:00.000+0000"}) == world.all_ids
    assert _ids(client, {"createdBefore": "2000-01-01T00:00:00.000+0000"}) == set()
    # Creation order: A1 was created before R3.
    assert world.r3["id"] in _ids(client, {"createdAfter": a1["created"]})


def test_suspension_and_parent_filters(client: Any, world: World) -> None:
    assert _ids(client, {"active": True}) == world.all_ids
    assert _ids(client, {"suspended": True}) == set()
    assert _ids(client, {"parentTaskId": world.a1["id"]}) == set()
    response = client.put(f"/engine-rest/process-instance/{world.instances['req-1']}/suspended",
                          json={"suspended": True})
    assert response.status_code == 204, response.get_json()
    assert _ids(client, {"suspended": True}) == {world.h["id"]}
    assert _ids(client, {"active": True}) == world.all_ids - {world.h["id"]}
    assert client.get(f"{BASE}/{world.h['id']}").get_json()["suspended"] is True


def test_variable_filters(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    acme = [{"name": "customer", "operator": "eq", "value": "ACME"}]
    assert _ids(client, {"processVariables": acme}) == {a1, h}
    # taskVariables: Baton has no task-local variables; they are the instance's (as /task/{id}/variables).
    assert _ids(client, {"taskVariables": acme}) == {a1, h}
    assert _ids(client, {"processVariables": [{"name": "customer", "operator": "like", "value": "%ex"}]}) \
        == {a2}  # Globex
    assert _ids(client, {"processVariables": [{"name": "customer", "operator": "neq", "value": "ACME"}]}) \
        == {a2, r3}
    # Names and values may be matched ignoring case.
    assert _ids(client, {"processVariables": [{"name": "CUSTOMER", "operator": "eq", "value": "ACME"}],
                         "variableNamesIgnoreCase": True}) == {a1, h}
    assert _ids(client, {"processVariables": [{"name": "customer", "operator": "eq", "value": "acme"}],
                         "variableValuesIgnoreCase": True}) == {a1, h}
    assert _ids(client, {"processVariables": [{"name": "customer", "operator": "eq", "value": "acme"}]}) \
        == set()

    def post(variables: list[dict[str, Any]]) -> set[str]:
        response = client.post(BASE, json={"processVariables": variables})
        assert response.status_code == 200, response.get_json()
        return {t["id"] for t in response.get_json()}

    # POST values keep their JSON type: numbers compare with Integer/Long variables.
    assert post([{"name": "amount", "operator": "gteq", "value": 100}]) == {a1, a2}
    assert post([{"name": "amount", "operator": "lt", "value": 100}]) == {r3}
    assert post([{"name": "amount", "operator": "gt", "value": 50},
                 {"name": "customer", "operator": "eq", "value": "ACME"}]) == {a1}
    # GET values are strings: they never match a number.
    assert _tasks(client, processVariables="amount_eq_100") == []
    assert {t["id"] for t in _tasks(client, processVariables="customer_eq_ACME,amount_neq_x")} == set()
    bad = client.get(BASE, query_string={"processVariables": "customer_is_ACME"})
    assert _error(bad) == "Invalid variable comparator specified: is"
    bad = client.get(BASE, query_string={"taskVariables": "customer"})
    assert _error(bad) == "variable query parameter has to have format KEY_OPERATOR_VALUE."
    bad = client.post(BASE, json={"taskVariables": [{"name": "a", "operator": "like2", "value": "x"}]})
    assert _error(bad) == "Invalid variable comparator specified: like2"


def test_or_queries(client: Any, world: World) -> None:
    a1, a2, h = world.a1["id"], world.a2["id"], world.h["id"]

    def post(body: dict[str, Any]) -> set[str]:
        response = client.post(BASE, json=body)
        assert response.status_code == 200, response.get_json()
        count = client.post(f"{BASE}/count", json=body).get_json()["count"]
        ids = {t["id"] for t in response.get_json()}
        assert count == len(ids)
        return ids

    assert post({"orQueries": [{"assignee": "alice", "candidateUser": "dave"}]}) == {a2, h}
    assert post({"processDefinitionKey": "approval",
                 "orQueries": [{"assignee": "alice", "candidateUser": "dave"}]}) == {a2}
    # Two OR groups are ANDed.
    assert post({"orQueries": [{"assignee": "alice", "candidateUser": "dave"},
                               {"processInstanceBusinessKey": "req-1", "priority": 70}]}) == {a2, h}
    assert post({"orQueries": [{"assignee": "alice", "candidateUser": "dave"},
                               {"processInstanceBusinessKey": "req-1"}]}) == {h}
    # Inside an OR group candidateUser and candidateGroup may be combined (one candidate condition).
    assert post({"orQueries": [{"candidateUser": "dave", "candidateGroup": "accounting"}]}) == {a1, h}
    # The Tasklist idiom: my tasks or tasks offered to me.
    assert post({"orQueries": [{"assignee": "alice", "candidateGroup": "accounting",
                                "includeAssignedTasks": True}]}) == {a1, a2}
    assert post({"orQueries": [{"processDefinitionNameLike": "Service%",
                                "processInstanceBusinessKeyLike": "order-2"}]}) == {a2, h}
    # Variable filters and their flags inside an OR group.
    assert post({"orQueries": [{"processVariables": [{"name": "CUSTOMER", "operator": "eq", "value": "Globex"}],
                                "variableNamesIgnoreCase": True, "taskDefinitionKey": "handle"}]}) == {a2, h}
    # null / empty groups restrict nothing.
    assert post({"orQueries": None}) == world.all_ids
    assert post({"orQueries": [{}, {"assignee": None}]}) == world.all_ids
    nested = client.post(BASE, json={"orQueries": [{"orQueries": [{"assignee": "x"}]}]})
    assert _error(nested) == "Invalid query usage: cannot set or() within 'or' query"
    sorted_or = client.post(BASE, json={"orQueries": [{"sorting": [{"sortBy": "id", "sortOrder": "asc"}]}]})
    assert _error(sorted_or) == "Invalid query usage: cannot set sorting within 'or' query"
    unsupported = client.post(BASE, json={"orQueries": [{"involvedUser": "x"}]})
    assert _error(unsupported) == "Unsupported query parameter 'involvedUser'"


# --- sorting and paging ------------------------------------------------------------------------------


def _sorted(client: Any, sort_by: str, order: str) -> list[dict[str, Any]]:
    get = client.get(BASE, query_string={"sortBy": sort_by, "sortOrder": order})
    post = client.post(BASE, json={"sorting": [{"sortBy": sort_by, "sortOrder": order}]})
    assert get.status_code == 200, get.get_json()
    assert post.status_code == 200, post.get_json()
    assert [t["id"] for t in get.get_json()] == [t["id"] for t in post.get_json()]
    return get.get_json()


def _key(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)  # nulls first ascending (contract 5.3)


@pytest.mark.parametrize("sort_by, member, transform", [
    ("instanceId", "processInstanceId", None),
    ("dueDate", "due", None),
    ("executionId", "executionId", None),
    ("assignee", "assignee", None),
    ("created", "created", None),
    ("lastUpdated", "lastUpdated", None),
    ("description", "description", None),
    ("id", "id", None),
    ("name", "name", None),
    ("nameCaseInsensitive", "name", str.lower),
    ("priority", "priority", None),
])
def test_each_sort_key(client: Any, world: World, sort_by: str, member: str, transform: Any) -> None:
    def value(task: dict[str, Any]) -> Any:
        raw = task[member]
        return transform(raw) if transform and raw is not None else raw

    ascending = [value(t) for t in _sorted(client, sort_by, "asc")]
    descending = [value(t) for t in _sorted(client, sort_by, "desc")]
    assert len(ascending) == 4
    assert ascending == sorted(ascending, key=_key)
    assert descending == sorted(descending, key=_key, reverse=True)
    if sort_by in ("dueDate", "assignee", "lastUpdated", "description"):
        assert ascending[0] is None and descending[-1] is None


def test_sorting_details(client: Any, world: World) -> None:
    a1, a2, h, r3 = world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]
    # Unsorted: creation order. Ties under a sort key: creation order too.
    assert [t["id"] for t in _tasks(client)] == [a1, a2, h, r3]
    assert [t["id"] for t in _sorted(client, "priority", "desc")] == [a1, a2, r3, h]
    assert [t["id"] for t in _sorted(client, "name", "asc")] == [a1, a2, h, r3]
    # Several keys, primary first.
    body = {"sorting": [{"sortBy": "name", "sortOrder": "desc"}, {"sortBy": "created", "sortOrder": "desc"}]}
    assert [t["id"] for t in client.post(BASE, json=body).get_json()] == [r3, h, a2, a1]
    # camunda-client sends a single object.
    single = client.post(BASE, json={"sorting": {"sortBy": "priority", "sortOrder": "asc"}})
    assert [t["id"] for t in single.get_json()] == [h, r3, a1, a2]
    # Sorting is ignored by the count.
    count = client.get(f"{BASE}/count", query_string={"sortBy": "name", "sortOrder": "asc"})
    assert count.get_json() == {"count": 4}


@pytest.mark.parametrize("args, message", [
    ({"sortBy": "name"}, "Only a single sorting parameter specified. sortBy and sortOrder required"),
    ({"sortOrder": "asc"}, "Only a single sorting parameter specified. sortBy and sortOrder required"),
    ({"sortBy": "taskId", "sortOrder": "asc"}, "sortBy parameter has invalid value: taskId"),
    ({"sortBy": "processVariable", "sortOrder": "asc"}, "sortBy parameter has invalid value: processVariable"),
    ({"sortBy": "caseInstanceId", "sortOrder": "asc"}, "sortBy parameter has invalid value: caseInstanceId"),
    ({"sortBy": "name", "sortOrder": "ASC"}, "sortOrder parameter has invalid value: ASC"),
])
def test_sorting_errors(client: Any, args: dict[str, str], message: str) -> None:
    response = client.get(BASE, query_string=args)
    assert _error(response) == message
    assert response.get_json()["type"] == "InvalidRequestException"
    assert _error(client.post(BASE, json={"sorting": [args]})) == message
    assert _error(client.post(BASE, json={"sorting": args})) == message


@pytest.mark.parametrize("sort_by", ["taskId", "startTime", "taskName", "processInstanceId"])
def test_camunda_client_unknown_sort_values(client: Any, sort_by: str) -> None:
    response = client.post(BASE, json={"sorting": {"sortBy": sort_by, "sortOrder": "asc"}})
    assert _error(response) == f"sortBy parameter has invalid value: {sort_by}"


def test_paging(client: Any, world: World) -> None:
    order = [world.a1["id"], world.a2["id"], world.h["id"], world.r3["id"]]
    page = _tasks(client, firstResult=1, maxResults=2)
    assert [t["id"] for t in page] == order[1:3]
    post = client.post(f"{BASE}?firstResult=2&maxResults=5", json={})
    assert [t["id"] for t in post.get_json()] == order[2:]
    # Paging in a POST body is not Camunda's: it is ignored.
    assert len(client.post(BASE, json={"firstResult": 3, "maxResults": 1}).get_json()) == 4
    assert _tasks(client, maxResults=0) == []
    assert _tasks(client, firstResult=10) == []
    assert client.get(f"{BASE}/count", query_string={"maxResults": 1}).get_json() == {"count": 4}
    bad = client.get(BASE, query_string={"maxResults": -1})
    assert _error(bad) == "Cannot set query parameter 'maxResults' to value '-1'"
    bad = client.post(f"{BASE}?firstResult=x", json={})
    assert _error(bad) == "Cannot set query parameter 'firstResult' to value 'x'"


# --- unsupported filters (contract 5.1) ---------------------------------------------------------------


def test_unsupported_declaration_is_complete() -> None:
    assert "orQueries" not in UNSUPPORTED
    assert {"withCommentAttachmentInfo", "withTaskVariablesInReturn", "involvedUser", "delegationState",
            "caseInstanceId", "assigneeExpression"} <= set(UNSUPPORTED)
    assert not any(name.endswith("Expression") for name in QUERY.filters)
    assert QUERY.or_queries


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_filters(client: Any, name: str) -> None:
    message = f"Unsupported query parameter '{name}'"
    assert _error(client.get(BASE, query_string={name: "x"})) == message
    assert _error(client.get(f"{BASE}/count", query_string={name: "true"})) == message
    assert _error(client.post(BASE, json={name: "x"})) == message
    assert _error(client.post(f"{BASE}/count", json={name: True})) == message
    # null / false mean "not given".
    assert client.get(BASE, query_string={name: "false"}).status_code == 200
    assert client.post(BASE, json={name: None}).status_code == 200
    assert client.post(BASE, json={name: False}).status_code == 200


def test_unknown_parameters_are_ignored(client: Any, world: World) -> None:
    assert len(_tasks(client, somethingElse="x")) == 4
    assert len(client.post(BASE, json={"somethingElse": "x"}).get_json()) == 4


def test_wrong_json_types(client: Any) -> None:
    response = client.post(BASE, json={"taskIdIn": "a,b"})
    assert "taskIdIn" in _error(response)
    response = client.post(BASE, json={"priority": "high"})
    assert "priority" in _error(response)
    assert client.post(BASE, data="{not json", content_type="application/json").status_code == 400


# --- task commands -----------------------------------------------------------------------------------


def test_claim_unclaim_and_assignee(client: Any, world: World) -> None:
    task_id = world.a1["id"]
    assert client.post(f"{BASE}/{task_id}/claim", json={"userId": "bob"}).status_code == 204
    assert client.get(f"{BASE}/{task_id}").get_json()["assignee"] == "bob"
    # Claiming again as the same user is fine; as another user it is refused.
    assert client.post(f"{BASE}/{task_id}/claim", json={"userId": "bob"}).status_code == 204
    taken = client.post(f"{BASE}/{task_id}/claim", json={"userId": "carol"})
    assert _error(taken) == f"Cannot claim task '{task_id}': task is already claimed by someone else."
    assert taken.get_json()["type"] == "TaskAlreadyClaimedException"
    # camunda-client posts unclaim with a JSON content type and no body.
    unclaim = client.post(f"{BASE}/{task_id}/unclaim", data="", content_type="application/json")
    assert unclaim.status_code == 204
    assert client.get(f"{BASE}/{task_id}").get_json()["assignee"] is None
    assert client.post(f"{BASE}/{task_id}/assignee", json={"userId": "frank"}).status_code == 204
    assert _ids(client, {"assignee": "frank"}) == {task_id}
    assert client.post(f"{BASE}/{task_id}/assignee", json={"userId": None}).status_code == 204
    assert client.get(f"{BASE}/{task_id}").get_json()["assignee"] is None
    assert client.post(f"{BASE}/{task_id}/claim", json={}).status_code == 400
    missing = client.post(f"{BASE}/nope/claim", json={"userId": "bob"})
    assert _error(missing, 404) == "No matching task with id nope"


def test_complete_runs_the_instance_on(client: Any, world: World) -> None:
    task_id = world.a1["id"]
    response = client.post(f"{BASE}/{task_id}/complete",
                           json={"variables": {"approved": {"value": True, "type": "Boolean", "valueInfo": None}},
                                 "withVariablesInReturn": True})
    assert response.status_code == 200, response.get_json()
    returned = response.get_json()
    assert returned["approved"] == {"value": True, "type": "Boolean", "valueInfo": {}}
    assert returned["customer"] == {"value": "ACME", "type": "String", "valueInfo": {}}
    assert client.get(f"{BASE}/{task_id}").status_code == 404
    review = _only_task(client, world.instances["order-1"])
    assert review["taskDefinitionKey"] == "review" and review["assignee"] == "demo"
    # pycamunda's body; the last task ends the instance.
    response = client.post(f"{BASE}/{review['id']}/complete",
                           json={"variables": {"note": {"value": "ok", "type": None, "valueInfo": None}},
                                 "withVariablesInReturn": False})
    assert response.status_code == 204 and response.data == b""
    assert _tasks(client, processInstanceId=world.instances["order-1"]) == []
    instance = client.get(f"/engine-rest/process-instance/{world.instances['order-1']}")
    assert instance.status_code == 404


def test_complete_errors(client: Any, world: World) -> None:
    missing = client.post(f"{BASE}/nope/complete", json={})
    assert _error(missing, 500) == "Cannot complete task nope: Cannot find task with id nope: task is null"
    assert missing.get_json()["type"] == "RestException"
    missing = client.post(f"{BASE}/nope/submit-form", json={})
    assert _error(missing, 500) == "Cannot submit task form nope: Cannot find task with id nope: task is null"
    bad = client.post(f"{BASE}/{world.a1['id']}/complete",
                      json={"variables": {"n": {"value": "abc", "type": "Integer"}}})
    assert "Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer" in _error(bad)
    # Nothing changed.
    assert client.get(f"{BASE}/{world.a1['id']}").status_code == 200


def test_submit_form_like_camunda_client(client: Any, world: World) -> None:
    task_id = world.h["id"]
    body = {"variables": {"done": {"value": True, "type": "Boolean", "valueInfo": None},
                          "order": {"value": "{\"id\": 7}", "type": "Json", "valueInfo": None}}}
    response = client.post(f"{BASE}/{task_id}/submit-form", json=body)
    assert response.status_code == 204, response.get_json()
    assert client.get(f"{BASE}/{task_id}").status_code == 404
    assert _tasks(client, processInstanceId=world.instances["req-1"]) == []


def test_task_variables(client: Any, world: World) -> None:
    task_id = world.a2["id"]
    variables = client.get(f"{BASE}/{task_id}/variables").get_json()
    assert variables["customer"] == {"value": "Globex", "type": "String", "valueInfo": {}}
    assert variables["amount"] == {"value": 500, "type": "Integer", "valueInfo": {}}
    assert client.get(f"{BASE}/{task_id}/variables/amount").get_json()["value"] == 500
    missing = client.get(f"{BASE}/{task_id}/variables/none")
    assert _error(missing, 404) == "task variable with name none does not exist"
    response = client.put(f"{BASE}/{task_id}/variables/level", json={"value": 3, "type": "Long"})
    assert response.status_code == 204, response.get_json()
    assert client.get(f"{BASE}/{task_id}/variables/level").get_json() == {"value": 3, "type": "Long",
                                                                         "valueInfo": {}}
    response = client.post(f"{BASE}/{task_id}/variables",
                           json={"modifications": {"customer": {"value": "Umbrella"}}, "deletions": ["amount"]})
    assert response.status_code == 204, response.get_json()
    variables = client.get(f"{BASE}/{task_id}/variables").get_json()
    assert variables["customer"]["value"] == "Umbrella" and "amount" not in variables
    assert client.delete(f"{BASE}/{task_id}/variables/level").status_code == 204
    assert "level" not in client.get(f"{BASE}/{task_id}/variables").get_json()
    # The task query sees the changed values.
    assert _ids(client, {"processVariables": [{"name": "customer", "operator": "eq", "value": "Umbrella"}]}) \
        == {task_id}
    # The instance's view is the same scope.
    instance_vars = client.get(f"/engine-rest/process-instance/{world.instances['order-2']}/variables").get_json()
    assert instance_vars["customer"]["value"] == "Umbrella"
    assert client.get(f"{BASE}/nope/variables").status_code == 404
