"""pycamunda 0.6.1, unmodified, against a real Baton server: restart (contract 16, 18.1) and batches (14).

pycamunda's ``RestartProcessInstance`` always sends ``historicProcessInstanceQuery: {}``, always an
``instructions`` array (``[]`` when none was added) and ``initialVariables: true`` unless told
otherwise; ``async_=True`` switches to ``/restart-async`` and parses the answer as a
``pycamunda.batch.Batch``.
"""

from __future__ import annotations

import time
from typing import Any

import models
import pycamunda
import pycamunda.batch
import pycamunda.processdef
import pytest
import requests
from conftest import ADMIN, LiveServer
from requests.auth import HTTPBasicAuth

pytestmark = pytest.mark.server


def authed(request: Any) -> Any:
    """pycamunda carries credentials in ``request.auth`` (handed to requests as ``auth=``)."""
    request.auth = HTTPBasicAuth(*ADMIN)
    return request


class Engine:
    """Plain-requests helpers for what pycamunda cannot do (it has no history module)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.auth = ADMIN

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(f"{self.base}{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def deploy_linear(self) -> str:
        files = {"resource-0": ("linear.bpmn", models.linear().encode())}
        response = self.http.post(f"{self.base}/deployment/create", files=files,
                                  data={"deployment-name": "pycamunda-restart"}, timeout=30)
        assert response.status_code == 200, response.text
        return next(iter(response.json()["deployedProcessDefinitions"]))

    def completed_instance(self, pd: str, business_key: str) -> str:
        """linear: started with x=1 (initial), A completed with x=2 (last), then B: COMPLETED."""
        response = self.http.post(f"{self.base}/process-definition/{pd}/start", timeout=30, json={
            "businessKey": business_key, "variables": {"x": {"value": 1, "type": "Long"}}})
        assert response.status_code == 200, response.text
        instance_id = response.json()["id"]
        for _ in range(5):
            tasks = self.get("/task", processInstanceId=instance_id)
            if not tasks:
                break
            done = self.http.post(f"{self.base}/task/{tasks[0]['id']}/complete", timeout=30,
                                  json={"variables": {"x": {"value": 2, "type": "Long"}}})
            assert done.status_code == 204, done.text
        assert self.get(f"/history/process-instance/{instance_id}")["state"] == "COMPLETED"
        return instance_id

    def restarted_from(self, old_id: str) -> list[dict[str, Any]]:
        rows = self.get("/history/process-instance", sortBy="startTime", sortOrder="asc")
        return [r for r in rows if r["restartedProcessInstanceId"] == old_id]

    def tasks_of(self, instance_id: str) -> list[str]:
        return [t["taskDefinitionKey"] for t in self.get("/task", processInstanceId=instance_id)]

    def x_of(self, instance_id: str) -> Any:
        return self.get(f"/process-instance/{instance_id}/variables")["x"]


@pytest.fixture
def engine(live_server: LiveServer) -> Engine:
    return Engine(live_server.engine_rest)


def restart_request(engine: Engine, pd: str, ids: list[str], **kwargs: Any) -> Any:
    return authed(pycamunda.processdef.RestartProcessInstance(url=engine.base, id_=pd, process_instance_ids=ids,
                                                              **kwargs))


def wait_for_batch_end(engine: Engine, batch_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.http.get(f"{engine.base}/batch/{batch_id}", timeout=30).status_code == 404:
            return
        time.sleep(0.1)
    pytest.fail(f"batch {batch_id} still open after {timeout} s: {engine.get('/batch/statistics')}")


def test_sync_restart_with_each_instruction_type_and_initial_variables(engine: Engine) -> None:
    pd = engine.deploy_linear()
    before, after, transition, last = (engine.completed_instance(pd, f"bk-{n}") for n in range(4))

    request = restart_request(engine, pd, [before])
    request.add_before_activity_instruction("B")
    assert request() is None  # 204
    [new] = engine.restarted_from(before)
    assert new["processDefinitionId"] == pd and new["businessKey"] == "bk-0" and new["state"] == "ACTIVE"
    assert engine.tasks_of(new["id"]) == ["B"]
    # pycamunda's default initialVariables=true: the values the old instance was started with.
    assert engine.x_of(new["id"]) == {"value": 1, "type": "Long", "valueInfo": {}}

    request = restart_request(engine, pd, [after])
    request.add_after_activity_instruction("A")
    request()
    [new] = engine.restarted_from(after)
    assert engine.tasks_of(new["id"]) == ["B"]
    assert engine.x_of(new["id"])["value"] == 1

    request = restart_request(engine, pd, [transition], without_business_key=True)
    request.add_transition_instruction("f3")  # B → end
    request()
    [new] = engine.restarted_from(transition)
    assert new["state"] == "COMPLETED" and new["businessKey"] is None

    # initial_variables=False: the last values.
    request = restart_request(engine, pd, [last], initial_variables=False)
    request.add_before_activity_instruction("A")
    request()
    [new] = engine.restarted_from(last)
    assert engine.tasks_of(new["id"]) == ["A"]
    assert engine.x_of(new["id"]) == {"value": 2, "type": "Long", "valueInfo": {}}


def test_always_sent_empty_historic_query_selects_nothing_more(engine: Engine) -> None:
    pd = engine.deploy_linear()
    chosen, other = engine.completed_instance(pd, "chosen"), engine.completed_instance(pd, "other")
    request = restart_request(engine, pd, [chosen])
    request.add_before_activity_instruction("A")
    assert request.body_parameters()["historicProcessInstanceQuery"] == {}  # what goes on the wire
    request()
    assert len(engine.restarted_from(chosen)) == 1
    assert engine.restarted_from(other) == []  # on real Camunda {} would select every historic instance
    assert engine.get("/history/process-instance/count")["count"] == 3


def test_no_added_instruction_sends_an_empty_list_and_gets_bad_request(engine: Engine) -> None:
    pd = engine.deploy_linear()
    old = engine.completed_instance(pd, "bk")
    for async_ in (False, True):
        request = restart_request(engine, pd, [old], async_=async_)
        assert request.body_parameters()["instructions"] == []
        with pytest.raises(pycamunda.BadRequest) as raised:
            request()
        assert str(raised.value) == "Restart instructions cannot be empty: instructions is empty"
    assert engine.restarted_from(old) == []
    assert engine.get("/batch") == []


def test_unknown_definition_is_not_found(engine: Engine) -> None:
    pd = engine.deploy_linear()
    old = engine.completed_instance(pd, "bk")
    request = restart_request(engine, "nope:1:x", [old])
    request.add_before_activity_instruction("A")
    with pytest.raises(pycamunda.NotFound) as raised:
        request()
    assert str(raised.value) == "no deployed process definition found with id 'nope:1:x': processDefinition is null"


def test_async_restart_returns_a_pycamunda_batch_that_completes(engine: Engine) -> None:
    pd = engine.deploy_linear()
    olds = [engine.completed_instance(pd, f"bk-{n}") for n in range(3)]
    request = restart_request(engine, pd, olds, async_=True)
    request.add_before_activity_instruction("B")
    batch = request()
    assert isinstance(batch, pycamunda.batch.Batch)
    assert batch.type_ == "instance-restart"
    assert batch.total_jobs == 3 and batch.jobs_created == 3
    assert batch.batch_jobs_per_seed == 100 and batch.invocations_per_batch_job == 1
    assert batch.seed_job_definition_id and batch.monitor_job_definition_id and batch.batch_job_definition_id
    assert batch.suspended is False and batch.tenant_id is None and batch.create_user_id == ADMIN[0]
    wait_for_batch_end(engine, batch.id_)  # the servers' executor threads run the jobs
    for n, old in enumerate(olds):
        [new] = engine.restarted_from(old)
        assert new["businessKey"] == f"bk-{n}"
        assert engine.tasks_of(new["id"]) == ["B"]
        assert engine.x_of(new["id"])["value"] == 1  # initialVariables=true, also in a batch job
    with pytest.raises(pycamunda.NotFound):
        authed(pycamunda.batch.Get(url=engine.base, id_=batch.id_))()


def test_batch_requests(engine: Engine) -> None:
    """Get, GetList, Count, GetStats, CountStats, Suspend, Activate and Delete on a batch that stays.

    One job restarts a finished instance; the other names a running one, so it fails three times
    and the batch stays (14.1 step 4) no matter how fast the executor threads are.
    """
    pd = engine.deploy_linear()
    old = engine.completed_instance(pd, "done")
    running = engine.http.post(f"{engine.base}/process-definition/{pd}/start", json={}, timeout=30).json()["id"]
    request = restart_request(engine, pd, [old, running], async_=True)
    request.add_before_activity_instruction("A")
    batch = request()
    url = engine.base

    deadline = time.monotonic() + 60
    stats: tuple[pycamunda.batch.BatchStats, ...] = ()
    while time.monotonic() < deadline:
        stats = authed(pycamunda.batch.GetStats(url=url, batch_id=batch.id_))()
        if stats and stats[0].failed_jobs == 1 and stats[0].completed_jobs == 1:
            break
        time.sleep(0.1)
    [stat] = stats
    assert (stat.id_, stat.type_, stat.total_jobs) == (batch.id_, "instance-restart", 2)
    assert (stat.remaining_jobs, stat.completed_jobs, stat.failed_jobs) == (1, 1, 1)  # failed count as remaining
    assert authed(pycamunda.batch.CountStats(url=url))() == 1
    assert len(engine.restarted_from(old)) == 1 and engine.restarted_from(running) == []

    got = authed(pycamunda.batch.Get(url=url, id_=batch.id_))()
    assert got == batch  # same dataclass members as the restart-async answer
    assert [b.id_ for b in authed(pycamunda.batch.GetList(url=url))()] == [batch.id_]
    assert authed(pycamunda.batch.GetList(url=url, suspended=True))() == ()
    assert authed(pycamunda.batch.Count(url=url, type_="instance-restart"))() == 1

    authed(pycamunda.batch.Suspend(url=url, id_=batch.id_))()
    assert authed(pycamunda.batch.Get(url=url, id_=batch.id_))().suspended is True
    assert [b.id_ for b in authed(pycamunda.batch.GetList(url=url, suspended=True))()] == [batch.id_]
    assert authed(pycamunda.batch.GetStats(url=url, suspended=True))()[0].suspended is True
    authed(pycamunda.batch.Activate(url=url, id_=batch.id_))()
    assert authed(pycamunda.batch.Get(url=url, id_=batch.id_))().suspended is False

    authed(pycamunda.batch.Delete(url=url, id_=batch.id_, cascade=True))()
    with pytest.raises(pycamunda.NotFound) as raised:
        authed(pycamunda.batch.Get(url=url, id_=batch.id_))()
    assert str(raised.value) == f"Batch with id '{batch.id_}' does not exist"
    assert authed(pycamunda.batch.GetList(url=url))() == ()
    assert engine.get("/job/count")["count"] == 0  # the failed job went with the batch
    assert len(engine.restarted_from(old)) == 1  # what was restarted stays restarted

    for call, verb in ((pycamunda.batch.Delete, "delete"), (pycamunda.batch.Suspend, "suspend"),
                       (pycamunda.batch.Activate, "activate")):
        with pytest.raises(pycamunda.BadRequest) as raised:
            authed(call(url=url, id_=batch.id_))()
        assert str(raised.value) == f"Unable to {verb} batch with id '{batch.id_}'"
