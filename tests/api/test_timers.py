"""Timers: timer jobs in ``/job``, fired by the job executor or ``POST /job/{id}/execute``.

The test app runs without the executor thread; timers are made due by moving the job's due
date into the past in the database (the handler then aligns SpiffWorkflow's own due time), so
no test sleeps except the one against a real server.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import requests
from conftest import ADMIN
from sqlalchemy import select

from app.jobs.executor import run_until_idle
from app.services.context import utcnow
from app.store import models as m

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">\n')


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


def catch_model(key: str, kind: str, value: str, after: str = '<bpmn:userTask id="after" />') -> str:
    return (f'{_HEAD}<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="start" />'
            f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:{kind}>{value}'
            f'</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>{after}'
            '<bpmn:endEvent id="end" />' + flows(("start", "wait"), ("wait", "after"), ("after", "end"))
            + "</bpmn:process></bpmn:definitions>")


def boundary_model(key: str, *, interrupting: bool, kind: str = "timeDuration", value: str = "PT1H") -> str:
    return (f'{_HEAD}<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="start" />'
            '<bpmn:userTask id="review" /><bpmn:endEvent id="done" />'
            f'<bpmn:boundaryEvent id="late" attachedToRef="review" cancelActivity="{str(interrupting).lower()}">'
            f'<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent><bpmn:userTask id="remind" /><bpmn:endEvent id="reminded" />'
            + flows(("start", "review"), ("review", "done"), ("late", "remind"), ("remind", "reminded"))
            + "</bpmn:process></bpmn:definitions>")


def start(client: Any, key: str, model: str) -> str:
    client.deploy_ok({f"{key}.bpmn": model})
    return client.start(key)["id"]


def timer_jobs(client: Any, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/engine-rest/job?timers=true&processInstanceId={instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tasks_of(client: Any, instance_id: str) -> list[str]:
    rows = client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()
    return sorted(row["taskDefinitionKey"] for row in rows)


def make_due(ctx: Any, instance_id: str, ago: timedelta = timedelta(hours=1)) -> None:
    """Move the instance's timer jobs into the past (only the job row: Spiff keeps its own time)."""
    with ctx.db.transaction() as session:
        for job in session.scalars(select(m.Job).where(m.Job.process_instance_id == instance_id,
                                                       m.Job.type == "timer")):
            job.due_date = utcnow() - ago


def test_past_date_passes_at_once(client: Any, ctx: Any) -> None:
    instance_id = start(client, "pastDate", catch_model("pastDate", "timeDate", "2000-01-01T00:00:00Z"))
    run_until_idle(ctx)
    assert timer_jobs(client, instance_id) == []
    assert tasks_of(client, instance_id) == ["after"]


def test_duration_timer_job_fired_by_the_executor(client: Any, ctx: Any) -> None:
    instance_id = start(client, "waitAnHour", catch_model("waitAnHour", "timeDuration", "PT1H"))
    [job] = timer_jobs(client, instance_id)
    definition_id = job["processDefinitionId"]
    assert job["jobDefinitionId"] == f"timer:wait@{definition_id}"
    assert job["retries"] == 3 and job["exceptionMessage"] is None and job["failedActivityId"] is None
    due = job["dueDate"]
    assert due is not None and due > (utcnow() + timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M:%S")
    assert client.get("/engine-rest/job/count?dueDates=gt_2999-01-01T00:00:00").get_json() == {"count": 0}
    assert client.get("/engine-rest/job/count?dueDates=gt_2000-01-01T00:00:00.000%2b0000,lt_2999-01-01T00:00:00"
                      ).get_json() == {"count": 1}
    assert len(client.post("/engine-rest/job", json={"dueDates": [{"operator": "gt", "value": "2000-01-01T00:00:00"}]})
               .get_json()) == 1
    assert client.get("/engine-rest/job?dueDates=eq_2000-01-01T00:00:00").status_code == 400

    [definition] = client.get(f"/engine-rest/job-definition?processDefinitionId={definition_id}").get_json()
    assert definition["id"] == job["jobDefinitionId"]
    assert definition["jobType"] == "timer-intermediate-transition"
    assert definition["jobConfiguration"] == "DURATION: PT1H" and definition["activityId"] == "wait"

    assert run_until_idle(ctx) == 0  # not due yet
    make_due(ctx, instance_id)
    assert run_until_idle(ctx) == 1
    assert timer_jobs(client, instance_id) == []
    assert tasks_of(client, instance_id) == ["after"]


def test_execute_fires_a_timer_early(client: Any) -> None:
    instance_id = start(client, "waitAnHour", catch_model("waitAnHour", "timeDuration", "PT1H"))
    [job] = timer_jobs(client, instance_id)
    response = client.post(f"/engine-rest/job/{job['id']}/execute")
    assert response.status_code == 204, response.get_json()
    assert tasks_of(client, instance_id) == ["after"]
    assert client.get(f"/engine-rest/job/{job['id']}").status_code == 404


def test_interrupting_boundary_timer(client: Any, ctx: Any) -> None:
    instance_id = start(client, "escalate", boundary_model("escalate", interrupting=True))
    [job] = timer_jobs(client, instance_id)
    assert job["jobDefinitionId"].startswith("timer:late@")
    [definition] = client.get("/engine-rest/job-definition?processDefinitionKey=escalate").get_json()
    assert definition["jobType"] == "timer-transition"
    make_due(ctx, instance_id)
    assert run_until_idle(ctx) == 1
    assert tasks_of(client, instance_id) == ["remind"]  # review was cancelled
    assert timer_jobs(client, instance_id) == []


def test_non_interrupting_boundary_timer(client: Any, ctx: Any) -> None:
    instance_id = start(client, "nudge", boundary_model("nudge", interrupting=False))
    make_due(ctx, instance_id)
    assert run_until_idle(ctx) >= 1
    assert tasks_of(client, instance_id) == ["remind", "review"]
    assert timer_jobs(client, instance_id) == []


def test_completing_the_task_removes_its_boundary_timer(client: Any) -> None:
    instance_id = start(client, "escalate", boundary_model("escalate", interrupting=True))
    assert len(timer_jobs(client, instance_id)) == 1
    task_id = client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()[0]["id"]
    assert client.post(f"/engine-rest/task/{task_id}/complete", json={}).status_code == 204
    assert client.get("/engine-rest/job/count?timers=true").get_json() == {"count": 0}


def test_cycle_timer_fires_twice_then_stops(client: Any, ctx: Any) -> None:
    instance_id = start(client, "cycle", boundary_model("cycle", interrupting=False, kind="timeCycle",
                                                          value="R2/PT1S"))
    [job] = timer_jobs(client, instance_id)
    first_due = job["dueDate"]
    definition = client.get(f"/engine-rest/job-definition/{job['jobDefinitionId']}").get_json()
    assert definition["jobConfiguration"] == "CYCLE: R2/PT1S" and definition["jobType"] == "timer-transition"
    # First cycle: made due by hand; the job stays, due again a second after that.
    make_due(ctx, instance_id, timedelta(0))
    assert run_until_idle(ctx) == 1
    assert tasks_of(client, instance_id) == ["remind", "review"]
    [again] = timer_jobs(client, instance_id)
    assert again["id"] == job["id"] and again["dueDate"] != first_due
    # Second cycle on its own schedule (about one second later), then the timer is done.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline and len(tasks_of(client, instance_id)) < 3:
        time.sleep(0.2)
        run_until_idle(ctx)
    run_until_idle(ctx)
    assert tasks_of(client, instance_id) == ["remind", "remind", "review"]
    assert timer_jobs(client, instance_id) == []


def test_timer_followed_by_failing_script(client: Any) -> None:
    after = ('<bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>x = 1\ny = x / 0'
             '</bpmn:script></bpmn:scriptTask>')
    instance_id = start(client, "timerThenFail", catch_model("timerThenFail", "timeDuration", "PT1H", after))
    [job] = timer_jobs(client, instance_id)
    response = client.post(f"/engine-rest/job/{job['id']}/execute")
    assert response.status_code == 500 and "line 2" in response.get_json()["message"]
    # The timer fired (its job is gone); the script's failure is one activity job and one incident.
    assert timer_jobs(client, instance_id) == []
    [failed] = client.get(f"/engine-rest/job?processInstanceId={instance_id}").get_json()
    assert failed["failedActivityId"] == "after" and failed["retries"] == 0
    [incident] = client.get("/engine-rest/incident").get_json()
    assert incident["configuration"] == failed["id"]


def test_timer_fires_on_its_own_in_a_real_server(live_server: Any) -> None:
    base = live_server.engine_rest
    files = {"data": ("tick.bpmn", catch_model("tick", "timeDuration", "PT1S").encode())}
    response = requests.post(f"{base}/deployment/create", files=files, auth=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    started = requests.post(f"{base}/process-definition/key/tick/start", json={}, auth=ADMIN, timeout=10).json()
    tasks: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not tasks:
        time.sleep(0.2)
        tasks = requests.get(f"{base}/task", params={"processInstanceId": started["id"]}, auth=ADMIN,
                             timeout=10).json()
    assert [t["taskDefinitionKey"] for t in tasks] == ["after"]
