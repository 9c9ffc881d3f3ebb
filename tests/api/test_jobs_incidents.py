"""Failed activities as jobs with incidents: ``/job``, ``/incident``, ``/job-definition``.

A failing script or condition leaves the instance ACTIVE with a failed "activity" job
(retries 0) and an open ``failedJob`` incident. Fixing the data and setting retries > 0
resolves the incident at once (Camunda's ``JobEntity.setRetries``); the next run of the job
continues the instance, or opens a new incident if it fails again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.jobs.executor import run_until_idle
from app.store import models as m

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">\n')


def bpmn(body: str) -> str:
    return f"{_HEAD}{body}\n</bpmn:definitions>\n"


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


# Line 2 of the script divides by a variable: 0 fails, anything else passes.
DIVIDE = bpmn(
    '<bpmn:process id="divide" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:scriptTask id="calc" name="Calculate" scriptFormat="python"><bpmn:script>y = 2\n'
    "x = 1 / divisor</bpmn:script></bpmn:scriptTask>"
    '<bpmn:userTask id="review" /><bpmn:endEvent id="end" />'
    + flows(("start", "calc"), ("calc", "review"), ("review", "end")) + "</bpmn:process>")

# A script reading a variable nobody set: NameError.
UNKNOWN_NAME = bpmn(
    '<bpmn:process id="unknownName" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:scriptTask id="greet" scriptFormat="python"><bpmn:script>'
    "greeting = 'hello ' + customer</bpmn:script></bpmn:scriptTask><bpmn:endEvent id=\"end\" />"
    + flows(("start", "greet"), ("greet", "end")) + "</bpmn:process>")

# An exclusive gateway whose condition reads a missing variable.
GATEWAY = bpmn(
    '<bpmn:process id="route" isExecutable="true"><bpmn:startEvent id="start" />'
    '<bpmn:exclusiveGateway id="which" />'
    '<bpmn:sequenceFlow id="toBig" sourceRef="which" targetRef="big">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${amount &gt; 100}</bpmn:conditionExpression>'
    '</bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="toSmall" sourceRef="which" targetRef="small">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${amount &lt;= 100}</bpmn:conditionExpression>'
    '</bpmn:sequenceFlow>'
    '<bpmn:userTask id="big" /><bpmn:userTask id="small" /><bpmn:endEvent id="end1" /><bpmn:endEvent id="end2" />'
    + flows(("start", "which"), ("big", "end1"), ("small", "end2")) + "</bpmn:process>")

JOB_MEMBERS = {"id", "jobDefinitionId", "dueDate", "processInstanceId", "executionId", "processDefinitionId",
               "processDefinitionKey", "retries", "exceptionMessage", "failedActivityId", "suspended", "priority",
               "tenantId", "createTime", "batchId"}
INCIDENT_MEMBERS = {"id", "processDefinitionId", "processInstanceId", "executionId", "incidentTimestamp",
                    "incidentType", "activityId", "failedActivityId", "causeIncidentId", "rootCauseIncidentId",
                    "configuration", "tenantId", "incidentMessage", "jobDefinitionId", "annotation"}


def start_failing(client: Any, model: str, key: str, variables: dict[str, Any] | None = None) -> str:
    client.deploy_ok({f"{key}.bpmn": model})
    started = client.start(key, variables or {})
    assert started["ended"] is False
    return started["id"]


def only(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()
    assert len(rows) == 1, rows
    return rows[0]


def tasks_of(client: Any, instance_id: str) -> list[str]:
    rows = client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()
    return sorted(row["taskDefinitionKey"] for row in rows)


def open_incident_rows(ctx: Any, instance_id: str) -> list[m.Incident]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(m.Incident).where(
            m.Incident.process_instance_id == instance_id, m.Incident.status == "open")))


def test_failing_script_becomes_failed_job_with_incident(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    assert client.get(f"/engine-rest/process-instance/{instance_id}").get_json()["ended"] is False

    incident = only(client, f"/engine-rest/incident?processInstanceId={instance_id}")
    assert set(incident) == INCIDENT_MEMBERS
    assert incident["incidentType"] == "failedJob"
    assert incident["activityId"] == "calc" and incident["failedActivityId"] == "calc"
    assert incident["processInstanceId"] == instance_id
    assert incident["processDefinitionId"].startswith("divide:1:")
    assert "line 2" in incident["incidentMessage"]
    assert "x = 1 / divisor" in incident["incidentMessage"]
    assert incident["causeIncidentId"] == incident["id"] == incident["rootCauseIncidentId"]
    assert incident["annotation"] is None and incident["incidentTimestamp"].endswith("+0000")

    job = only(client, f"/engine-rest/job?processInstanceId={instance_id}")
    assert set(job) == JOB_MEMBERS
    assert job["retries"] == 0 and job["dueDate"] is None and job["suspended"] is False
    assert job["exceptionMessage"] == incident["incidentMessage"]
    assert job["failedActivityId"] == "calc" and job["processDefinitionKey"] == "divide"
    assert incident["configuration"] == job["id"]
    assert incident["jobDefinitionId"] == job["jobDefinitionId"] == f"activity:calc@{job['processDefinitionId']}"
    assert client.get(f"/engine-rest/job/{job['id']}").get_json() == job
    assert client.get(f"/engine-rest/job/{job['id']}/stacktrace").get_data(as_text=True) == job["exceptionMessage"]

    # Retries 0: the executor leaves it alone.
    assert run_until_idle(ctx) == 0
    assert client.get("/engine-rest/job/count?executable=true").get_json() == {"count": 0}
    assert client.get("/engine-rest/job/count?noRetriesLeft=true&withException=true").get_json() == {"count": 1}
    assert client.get("/engine-rest/incident/count?incidentType=failedJob").get_json() == {"count": 1}


def test_fix_data_set_retries_and_the_instance_proceeds(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job = only(client, f"/engine-rest/job?processInstanceId={instance_id}")

    response = client.put(f"/engine-rest/process-instance/{instance_id}/variables/divisor",
                          json={"value": 4, "type": "Integer"})
    assert response.status_code == 204
    assert client.put(f"/engine-rest/job/{job['id']}/retries", json={"retries": 1}).status_code == 204
    # Camunda resolves the incident as soon as retries go above 0.
    assert client.get(f"/engine-rest/incident?processInstanceId={instance_id}").get_json() == []
    assert client.get(f"/engine-rest/job/{job['id']}").get_json()["retries"] == 1
    assert client.get("/engine-rest/job/count?executable=true").get_json() == {"count": 1}

    assert run_until_idle(ctx) == 1
    assert client.get(f"/engine-rest/job?processInstanceId={instance_id}").get_json() == []
    assert tasks_of(client, instance_id) == ["review"]
    assert client.get(f"/engine-rest/process-instance/{instance_id}/variables/x").get_json()["value"] == 0.25
    with ctx.db.transaction() as session:
        row = session.get(m.ProcessInstance, instance_id)
        assert row.has_incident is False and row.state == "ACTIVE"
        statuses = [i.status for i in session.scalars(select(m.Incident).where(
            m.Incident.process_instance_id == instance_id))]
    assert statuses == ["resolved"]

    task_id = client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()[0]["id"]
    assert client.post(f"/engine-rest/task/{task_id}/complete", json={}).status_code == 204
    assert client.get(f"/engine-rest/process-instance/{instance_id}").status_code == 404


def test_failing_again_reopens_one_incident_without_double_counting(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job = only(client, f"/engine-rest/job?processInstanceId={instance_id}")
    first = only(client, f"/engine-rest/incident?processInstanceId={instance_id}")

    assert client.put(f"/engine-rest/job/{job['id']}/retries", json={"retries": 1}).status_code == 204
    assert run_until_idle(ctx) == 1
    again = only(client, f"/engine-rest/job?processInstanceId={instance_id}")
    assert again["id"] == job["id"] and again["retries"] == 0
    second = only(client, f"/engine-rest/incident?processInstanceId={instance_id}")
    assert second["id"] != first["id"] and second["incidentMessage"] == first["incidentMessage"]

    # Executing it by hand: 500 with the failure, recorded once (still one job, one open incident).
    response = client.post(f"/engine-rest/job/{job['id']}/execute")
    assert response.status_code == 500
    body = response.get_json()
    assert body["type"] == "RestException" and "line 2" in body["message"]
    assert only(client, f"/engine-rest/job?processInstanceId={instance_id}")["retries"] == 0
    assert [i.id for i in open_incident_rows(ctx, instance_id)] == [second["id"]]

    # Fixed data: executing the job by hand continues the instance even with retries 0.
    client.put(f"/engine-rest/process-instance/{instance_id}/variables/divisor", json={"value": 2})
    assert client.post(f"/engine-rest/job/{job['id']}/execute").status_code == 204
    assert tasks_of(client, instance_id) == ["review"]
    assert open_incident_rows(ctx, instance_id) == []
    assert client.get(f"/engine-rest/job/{job['id']}").status_code == 404


def test_name_error_in_script(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, UNKNOWN_NAME, "unknownName")
    incident = only(client, f"/engine-rest/incident?activityId=greet&processInstanceId={instance_id}")
    assert "customer" in incident["incidentMessage"]
    job_id = incident["configuration"]
    client.put(f"/engine-rest/process-instance/{instance_id}/variables/customer", json={"value": "Ada"})
    client.put(f"/engine-rest/job/{job_id}/retries", json={"retries": 2})
    assert run_until_idle(ctx) == 1
    assert client.get(f"/engine-rest/process-instance/{instance_id}").status_code == 404  # completed
    with ctx.db.transaction() as session:
        assert session.get(m.ProcessInstance, instance_id).state == "COMPLETED"
    assert client.get("/engine-rest/incident/count").get_json() == {"count": 0}


def test_failing_gateway_condition(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, GATEWAY, "route")
    incident = only(client, f"/engine-rest/incident?processInstanceId={instance_id}")
    assert incident["activityId"] == "which" and "amount" in incident["incidentMessage"]
    job = only(client, f"/engine-rest/job?processInstanceId={instance_id}&activityId=which")
    assert job["retries"] == 0

    client.put(f"/engine-rest/process-instance/{instance_id}/variables/amount", json={"value": 150})
    client.put(f"/engine-rest/job/{job['id']}/retries", json={"retries": 1})
    assert run_until_idle(ctx) == 1
    assert tasks_of(client, instance_id) == ["big"]
    assert client.get(f"/engine-rest/incident?processInstanceId={instance_id}").get_json() == []


def test_job_and_incident_filters(client: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job = only(client, f"/engine-rest/job?processInstanceId={instance_id}")
    incident = only(client, "/engine-rest/incident")
    jd = job["jobDefinitionId"]

    def count(path: str) -> int:
        response = client.get(path)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["count"]

    assert count(f"/engine-rest/job/count?jobIds={job['id']},other") == 1
    assert count(f"/engine-rest/job/count?jobDefinitionId={jd}") == 1
    assert count("/engine-rest/job/count?jobDefinitionId=activity:calc") == 0
    assert count("/engine-rest/job/count?processDefinitionKey=divide&failedActivityId=calc") == 1
    assert count("/engine-rest/job/count?timers=true") == 0
    assert count("/engine-rest/job/count?messages=true&active=true") == 1
    assert count("/engine-rest/job/count?withRetriesLeft=true") == 0
    assert count(f"/engine-rest/job/count?exceptionMessage={job['exceptionMessage']}") == 1
    assert client.get("/engine-rest/job?timers=true&messages=true").status_code == 400
    for sort_by in ("jobPriority", "jobDueDate", "jobRetries", "processDefinitionKey"):
        response = client.get(f"/engine-rest/job?sortBy={sort_by}&sortOrder=desc")
        assert response.status_code == 200 and len(response.get_json()) == 1, sort_by
    assert client.get("/engine-rest/job?sortBy=jobDueDate").status_code == 400
    assert client.post("/engine-rest/job/count", json={"processInstanceIds": [instance_id],
                                                       "noRetriesLeft": True}).get_json() == {"count": 1}

    assert count(f"/engine-rest/incident/count?jobDefinitionIdIn={jd}") == 1
    assert count("/engine-rest/incident/count?incidentMessageLike=%25line 2%25") == 1
    assert count("/engine-rest/incident/count?processDefinitionKeyIn=divide,other") == 1
    assert count(f"/engine-rest/incident/count?configuration={job['id']}") == 1
    assert count(f"/engine-rest/incident/count?incidentId={incident['id']}&incidentType=failedExternalTask") == 0
    assert count("/engine-rest/incident/count?incidentTimestampAfter=2000-01-01T00:00:00.000%2b0000") == 1
    response = client.get("/engine-rest/incident?sortBy=incidentTimestamp&sortOrder=desc")
    assert response.status_code == 200 and len(response.get_json()) == 1
    assert client.get("/engine-rest/incident?sortBy=nope&sortOrder=asc").status_code == 400
    assert client.get(f"/engine-rest/incident/{incident['id']}").get_json() == incident
    assert client.get("/engine-rest/incident/nope").status_code == 404

    definitions = client.get(f"/engine-rest/job-definition?processDefinitionId={job['processDefinitionId']}")
    assert definitions.get_json() == [{
        "id": jd, "processDefinitionId": job["processDefinitionId"], "processDefinitionKey": "divide",
        "activityId": "calc", "jobType": "async-continuation", "jobConfiguration": "async-before",
        "overridingJobPriority": None, "suspended": False, "tenantId": None,
        "deploymentId": definitions.get_json()[0]["deploymentId"]}]
    assert client.get(f"/engine-rest/job-definition/{jd}").get_json()["activityId"] == "calc"
    assert client.get("/engine-rest/job-definition/nope").status_code == 404


def test_unknown_ids_and_bad_bodies(client: Any) -> None:
    for method, path, body in [("get", "/engine-rest/job/nope", None),
                               ("put", "/engine-rest/job/nope/retries", {"retries": 1}),
                               ("post", "/engine-rest/job/nope/execute", None),
                               ("put", "/engine-rest/job/nope/suspended", {"suspended": True}),
                               ("delete", "/engine-rest/job/nope", None)]:
        response = getattr(client, method)(path, json=body)
        assert response.status_code == 404, (path, response.get_json())
        assert response.get_json()["type"] == "InvalidRequestException"
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job_id = only(client, f"/engine-rest/job?processInstanceId={instance_id}")["id"]
    assert client.put(f"/engine-rest/job/{job_id}/retries", json={"retries": -1}).status_code == 400
    assert client.put(f"/engine-rest/job/{job_id}/retries", json={}).status_code == 400
    assert client.put(f"/engine-rest/job/{job_id}/suspended", json={}).status_code == 400


def test_suspended_jobs_wait(client: Any, ctx: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job_id = only(client, f"/engine-rest/job?processInstanceId={instance_id}")["id"]
    client.put(f"/engine-rest/process-instance/{instance_id}/variables/divisor", json={"value": 1})
    assert client.put(f"/engine-rest/job/{job_id}/suspended", json={"suspended": True}).status_code == 204
    client.put(f"/engine-rest/job/{job_id}/retries", json={"retries": 1})
    assert client.get("/engine-rest/job/count?suspended=true").get_json() == {"count": 1}
    assert run_until_idle(ctx) == 0
    assert client.put(f"/engine-rest/job/{job_id}/suspended", json={"suspended": False}).status_code == 204
    assert run_until_idle(ctx) == 1
    assert tasks_of(client, instance_id) == ["review"]


def test_retries_to_zero_opens_an_incident_and_back_resolves_it(client: Any) -> None:
    instance_id = start_failing(client, DIVIDE, "divide", {"divisor": {"value": 0, "type": "Integer"}})
    job_id = only(client, f"/engine-rest/job?processInstanceId={instance_id}")["id"]
    client.put(f"/engine-rest/job/{job_id}/retries", json={"retries": 3})
    assert client.get("/engine-rest/incident/count").get_json() == {"count": 0}
    client.put(f"/engine-rest/job/{job_id}/retries", json={"retries": 0})
    assert only(client, "/engine-rest/incident")["configuration"] == job_id
    assert client.delete(f"/engine-rest/job/{job_id}").status_code == 204
    assert client.get("/engine-rest/incident/count").get_json() == {"count": 0}
