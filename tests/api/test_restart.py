"""Restart: every instruction type on each model shape, variables, selection, errors, batches, dry run."""

from __future__ import annotations

from typing import Any

import models
import pytest
from sqlalchemy import select

from app.jobs.executor import run_until_idle
from app.store import models as m

ER = "/engine-rest"


def tasks_of(client: Any, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{ER}/task?processInstanceId={instance_id}")
    assert response.status_code == 200
    return response.get_json()


def active_activities(client: Any, instance_id: str) -> list[str]:
    tree = client.get(f"{ER}/process-instance/{instance_id}/activity-instances").get_json()

    def walk(node: dict[str, Any]) -> list[str]:
        found = []
        for child in node["childActivityInstances"]:
            if child["childActivityInstances"]:
                found += walk(child)
            else:
                found.append(child["activityId"])
        return found
    return sorted(walk(tree))


def complete(client: Any, task_id: str, variables: dict[str, Any] | None = None) -> None:
    response = client.post(f"{ER}/task/{task_id}/complete", json={"variables": variables or {}})
    assert response.status_code == 204, response.get_json()


def finish(client: Any, instance_id: str, variables: dict[str, Any] | None = None) -> None:
    """Complete every task until the instance ends."""
    for _ in range(20):
        tasks = tasks_of(client, instance_id)
        if not tasks:
            break
        complete(client, tasks[0]["id"], variables)
    historic = client.get(f"{ER}/history/process-instance/{instance_id}").get_json()
    assert historic["state"] == "COMPLETED", historic


def definition_id(deployment: dict[str, Any]) -> str:
    return next(iter(deployment["deployedProcessDefinitions"]))


def restarted_from(client: Any, old_id: str) -> list[dict[str, Any]]:
    rows = client.get(f"{ER}/history/process-instance").get_json()
    return [r for r in rows if r["restartedProcessInstanceId"] == old_id]


def restart(client: Any, pd: str, body: dict[str, Any], suffix: str = "restart") -> Any:
    return client.post(f"{ER}/process-definition/{pd}/{suffix}", json=body)


@pytest.fixture
def linear_done(client: Any) -> dict[str, Any]:
    pd = definition_id(client.deploy_ok({"linear.bpmn": models.linear()}))
    started = client.start("linear", {"x": {"value": 1, "type": "Long"}}, business_key="bk-1")
    finish(client, started["id"], {"x": {"value": 2, "type": "Long"}})
    return {"pd": pd, "id": started["id"]}


def test_start_before_activity_keeps_business_key_and_last_variables(client: Any, linear_done: dict) -> None:
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]],
        "instructions": [{"type": "startBeforeActivity", "activityId": "B"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, linear_done["id"])
    assert new["businessKey"] == "bk-1"
    assert new["state"] == "ACTIVE"
    assert new["startActivityId"] == "B"
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new["id"])] == ["B"]
    variables = client.get(f"{ER}/process-instance/{new['id']}/variables").get_json()
    assert variables["x"] == {"value": 2, "type": "Long", "valueInfo": {}}


def test_initial_variables_and_without_business_key(client: Any, linear_done: dict) -> None:
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]], "initialVariables": True, "withoutBusinessKey": True,
        "instructions": [{"type": "startBeforeActivity", "activityId": "A"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, linear_done["id"])
    assert new["businessKey"] is None
    variables = client.get(f"{ER}/process-instance/{new['id']}/variables").get_json()
    assert variables["x"] == {"value": 1, "type": "Long", "valueInfo": {}}


def test_omitted_instructions_start_at_the_none_start_event(client: Any, linear_done: dict) -> None:
    assert restart(client, linear_done["pd"], {"processInstanceIds": [linear_done["id"]]}).status_code == 204
    [new] = restarted_from(client, linear_done["id"])
    assert new["startActivityId"] == "start"
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new["id"])] == ["A"]


def test_start_after_activity_marks_the_source_skipped(client: Any, ctx: Any, linear_done: dict) -> None:
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]],
        "instructions": [{"type": "startAfterActivity", "activityId": "A"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, linear_done["id"])
    assert active_activities(client, new["id"]) == ["B"]
    with ctx.db.transaction() as session:
        rows = {a.activity_id: a for a in session.scalars(select(m.ActivityInstance).where(
            m.ActivityInstance.process_instance_id == new["id"]))}
    assert rows["A"].skipped is True and rows["A"].end_time is not None
    assert rows["B"].skipped is False and rows["B"].end_time is None
    assert "start" not in rows  # nothing ran before the instructions
    history = client.get(f"{ER}/history/activity-instance?processInstanceId={new['id']}&activityId=A").get_json()
    assert [(h["skipped"], h["canceled"]) for h in history] == [(True, False)]
    finish(client, new["id"])


def test_start_transition(client: Any, linear_done: dict) -> None:
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]], "instructions": [{"type": "startTransition", "transitionId": "f3"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, linear_done["id"])
    historic = client.get(f"{ER}/history/process-instance/{new['id']}").get_json()
    assert historic["state"] == "COMPLETED"  # f3 leads straight to the end event


def test_xor_branch_by_transition_overrides_the_condition(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"xor.bpmn": models.xor()}))
    started = client.start("xor", {"amount": {"value": 5, "type": "Integer"}})
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]],
                                     "instructions": [{"type": "startTransition", "transitionId": "f_big"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, started["id"])
    assert active_activities(client, new["id"]) == ["big"]
    finish(client, new["id"])


def test_both_parallel_branches_and_the_join(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"par.bpmn": models.parallel()}))
    started = client.start("parallel")
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]], "instructions": [
        {"type": "startBeforeActivity", "activityId": "L"}, {"type": "startBeforeActivity", "activityId": "R"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, started["id"])
    assert active_activities(client, new["id"]) == ["L", "R"]
    tasks = {t["taskDefinitionKey"]: t["id"] for t in tasks_of(client, new["id"])}
    complete(client, tasks["L"])
    complete(client, tasks["R"])
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new["id"])] == ["after"]  # the join fired once


def test_join_fed_by_transitions(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"par.bpmn": models.parallel()}))
    started = client.start("parallel")
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]], "instructions": [
        {"type": "startTransition", "transitionId": "fl2"}, {"type": "startTransition", "transitionId": "fr2"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, started["id"])
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new["id"])] == ["after"]


def test_two_tokens_in_one_embedded_subprocess_share_the_scope(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"sub.bpmn": models.subprocess()}))
    started = client.start("sub")
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]], "instructions": [
        {"type": "startBeforeActivity", "activityId": "S1"}, {"type": "startBeforeActivity", "activityId": "S2"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, started["id"])
    tree = client.get(f"{ER}/process-instance/{new['id']}/activity-instances").get_json()
    [scope] = tree["childActivityInstances"]
    assert scope["activityId"] == "S" and scope["activityType"] == "subProcess"
    assert sorted(c["activityId"] for c in scope["childActivityInstances"]) == ["S1", "S2"]


def test_boundary_timer_is_armed_after_restart(client: Any, ctx: Any) -> None:
    pd = definition_id(client.deploy_ok({"timed.bpmn": models.boundary_timer()}))
    started = client.start("timed")
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]],
                                    "instructions": [{"type": "startBeforeActivity", "activityId": "T"}]})
    assert response.status_code == 204
    [new] = restarted_from(client, started["id"])
    jobs = client.get(f"{ER}/job?processInstanceId={new['id']}&timers=true").get_json()
    assert len(jobs) == 1 and jobs[0]["dueDate"] is not None
    # Firing it takes the timer path: the timer really is armed on the restarted activity.
    assert client.post(f"{ER}/job/{jobs[0]['id']}/execute").status_code == 204
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new["id"])] == ["late"]


def test_loop_and_multi_instance_and_catch_event(client: Any) -> None:
    pd_loop = definition_id(client.deploy_ok({"loop.bpmn": models.loop()}))
    looped = client.start("loop")
    finish(client, looped["id"], {"again": {"value": False}})
    assert restart(client, pd_loop, {"processInstanceIds": [looped["id"]], "instructions": [
        {"type": "startTransition", "transitionId": "f_again"}]}).status_code == 204
    [new_loop] = restarted_from(client, looped["id"])
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new_loop["id"])] == ["work"]

    pd_multi = definition_id(client.deploy_ok({"multi.bpmn": models.multi_instance()}))
    multi = client.start("multi")
    finish(client, multi["id"])
    assert restart(client, pd_multi, {"processInstanceIds": [multi["id"]], "instructions": [
        {"type": "startBeforeActivity", "activityId": "review"}]}).status_code == 204
    [new_multi] = restarted_from(client, multi["id"])
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new_multi["id"])] == ["review"] * 3

    pd_wait = definition_id(client.deploy_ok({"wait.bpmn": models.message_catch()}))
    waiting = client.start("waiter", business_key="w-1")
    assert client.post(f"{ER}/message", json={"messageName": "go", "businessKey": "w-1"}).status_code == 204
    finish(client, waiting["id"])
    assert restart(client, pd_wait, {"processInstanceIds": [waiting["id"]], "instructions": [
        {"type": "startBeforeActivity", "activityId": "wait"}]}).status_code == 204
    [new_wait] = restarted_from(client, waiting["id"])
    assert active_activities(client, new_wait["id"]) == ["wait"]
    # The restarted catch event has a subscription: the message reaches it.
    assert client.post(f"{ER}/message", json={"messageName": "go", "processInstanceId": new_wait["id"]}
                       ).status_code == 204
    assert [t["taskDefinitionKey"] for t in tasks_of(client, new_wait["id"])] == ["done"]


def test_selection_by_historic_query_with_ids_deduplicated(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"linear.bpmn": models.linear()}))
    ids = []
    for n in range(3):
        started = client.start("linear", business_key=f"2024-{n}")
        finish(client, started["id"])
        ids.append(started["id"])
    client.start("linear", business_key="2024-running")  # not finished: excluded by the query
    response = restart(client, pd, {
        "processInstanceIds": [ids[0]],
        "historicProcessInstanceQuery": {"processDefinitionId": pd, "finished": True,
                                         "processInstanceBusinessKeyLike": "2024-%"}})
    assert response.status_code == 204
    restarted = [r["restartedProcessInstanceId"] for r in
                 client.get(f"{ER}/history/process-instance?unfinished=true").get_json()]
    assert sorted(r for r in restarted if r) == sorted(ids)


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"instructions": []}, 400, "Restart instructions cannot be empty: instructions is empty"),
    ({"instructions": [{"type": "startBeforeActivity"}]}, 400,
     "For instruction type 'startBeforeActivity': 'activityId' must be set"),
    ({"instructions": [{"type": "startAfterActivity"}]}, 400,
     "For instruction type 'startAfterActivity': 'activityId' must be set"),
    ({"instructions": [{"type": "startTransition"}]}, 400,
     "For instruction type 'startTransition': 'transitionId' must be set"),
    ({"instructions": [{"type": "jump", "activityId": "A"}]}, 400, "Unsupported instruction type 'jump'"),
    ({"processInstanceIds": None, "historicProcessInstanceQuery": {}}, 400, "processInstanceIds is empty"),
    ({"processInstanceIds": None, "historicProcessInstanceQuery": {"processDefinitionId": None}}, 400,
     "processInstanceIds is empty"),
])
def test_request_level_errors(client: Any, linear_done: dict, body: dict, status: int, message: str) -> None:
    body = {"processInstanceIds": [linear_done["id"]], **body}
    response = restart(client, linear_done["pd"], body)
    assert response.status_code == status
    assert response.get_json() == {"type": "InvalidRequestException", "message": message, "code": None}


def test_unknown_definition_activity_and_flow(client: Any, linear_done: dict) -> None:
    response = restart(client, "nope:1:x", {"processInstanceIds": [linear_done["id"]]})
    assert response.status_code == 404
    assert response.get_json()["message"] == \
        "no deployed process definition found with id 'nope:1:x': processDefinition is null"
    for instruction, element in [({"type": "startBeforeActivity", "activityId": "Ghost"}, "Ghost"),
                                 ({"type": "startTransition", "transitionId": "f_ghost"}, "f_ghost")]:
        response = restart(client, linear_done["pd"], {"processInstanceIds": [linear_done["id"]],
                                                       "instructions": [instruction]})
        assert response.status_code == 400 and element in response.get_json()["message"]


def test_after_a_gateway_with_two_flows_and_before_a_boundary_event_are_refused(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"xor.bpmn": models.xor()}))
    started = client.start("xor", {"amount": {"value": 5}})
    finish(client, started["id"])
    response = restart(client, pd, {"processInstanceIds": [started["id"]],
                                    "instructions": [{"type": "startAfterActivity", "activityId": "gw"}]})
    assert response.status_code == 400 and "gw" in response.get_json()["message"]
    pd_timed = definition_id(client.deploy_ok({"timed.bpmn": models.boundary_timer()}))
    timed = client.start("timed")
    finish(client, timed["id"])
    response = restart(client, pd_timed, {"processInstanceIds": [timed["id"]],
                                          "instructions": [{"type": "startBeforeActivity", "activityId": "timer"}]})
    assert response.status_code == 400 and "timer" in response.get_json()["message"]


def test_sync_is_all_or_nothing(client: Any, linear_done: dict) -> None:
    running = client.start("linear")
    response = restart(client, linear_done["pd"], {"processInstanceIds": [linear_done["id"], running["id"]]})
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        f"ENGINE-13040 Historic process instance '{running['id']}' cannot be restarted. "
        "It is not completed or terminated.")
    assert restarted_from(client, linear_done["id"]) == []  # the valid one was rolled back too


def test_instance_of_another_definition_is_refused(client: Any, linear_done: dict) -> None:
    other_pd = definition_id(client.deploy_ok({"linear.bpmn": models.linear()}))  # version 2
    response = restart(client, other_pd, {"processInstanceIds": [linear_done["id"]]})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(
        f"ENGINE-13039 Historic process instance '{linear_done['id']}' cannot be restarted.")


def test_terminated_instances_qualify(client: Any) -> None:
    pd = definition_id(client.deploy_ok({"linear.bpmn": models.linear()}))
    started = client.start("linear")
    assert client.delete(f"{ER}/process-instance/{started['id']}").status_code == 204
    assert restart(client, pd, {"processInstanceIds": [started["id"]]}).status_code == 204
    assert len(restarted_from(client, started["id"])) == 1


def test_restart_onto_another_version_validates_against_the_target(client: Any, linear_done: dict) -> None:
    v2 = definition_id(client.deploy_ok({"linear.bpmn": models.scripted("linear")}))
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]], "targetProcessDefinitionId": v2,
        "instructions": [{"type": "startBeforeActivity", "activityId": "bump"}]})
    assert response.status_code == 204, response.get_json()
    [new] = restarted_from(client, linear_done["id"])
    assert new["processDefinitionId"] == v2
    assert new["processDefinitionVersion"] == 2
    variables = client.get(f"{ER}/process-instance/{new['id']}/variables").get_json()
    assert variables["x"]["value"] == 3  # last value 2, then the v2-only script ran
    # An activity that exists only in the source version is refused.
    response = restart(client, linear_done["pd"], {
        "processInstanceIds": [linear_done["id"]], "targetProcessDefinitionId": v2,
        "instructions": [{"type": "startBeforeActivity", "activityId": "Ghost"}]})
    assert response.status_code == 400


def test_dry_run_changes_nothing(client: Any, linear_done: dict) -> None:
    running = client.start("linear")
    for suffix in ("restart", "restart-async"):
        response = restart(client, linear_done["pd"], {
            "processInstanceIds": [linear_done["id"], running["id"]], "dryRun": True,
            "instructions": [{"type": "startBeforeActivity", "activityId": "B"}]}, suffix)
        assert response.status_code == 200
        body = response.get_json()
        assert body["selectedInstances"] == 2
        assert body["firstInstanceIds"] == [linear_done["id"], running["id"]]
        assert body["refusedInstances"] == [{"id": running["id"], "reason": (
            f"ENGINE-13040 Historic process instance '{running['id']}' cannot be restarted. "
            "It is not completed or terminated.")}]
        assert body["sampleActiveActivityIds"] == ["B"]
    assert restarted_from(client, linear_done["id"]) == []
    assert client.get(f"{ER}/batch").get_json() == []


def test_async_batch_restarts_each_instance_in_its_own_job(client: Any, ctx: Any) -> None:
    pd = definition_id(client.deploy_ok({"linear.bpmn": models.linear()}))
    done = []
    for _ in range(3):
        started = client.start("linear")
        finish(client, started["id"])
        done.append(started["id"])
    running = client.start("linear")
    response = restart(client, pd, {"processInstanceIds": [*done, running["id"]]}, "restart-async")
    assert response.status_code == 200
    batch = response.get_json()
    assert batch["type"] == "instance-restart" and batch["totalJobs"] == 4 and batch["jobsCreated"] == 4
    for member in ("seedJobDefinitionId", "monitorJobDefinitionId", "batchJobDefinitionId"):
        assert batch[member]
    assert client.get(f"{ER}/batch/{batch['id']}").status_code == 200
    run_until_idle(ctx)
    stats = client.get(f"{ER}/batch/statistics?batchId={batch['id']}").get_json()
    assert [(s["remainingJobs"], s["completedJobs"], s["failedJobs"]) for s in stats] == [(1, 3, 1)]
    for old in done:
        assert len(restarted_from(client, old)) == 1
    # Deleting the batch leaves the restarted instances alone and moves the batch to history.
    assert client.delete(f"{ER}/batch/{batch['id']}").status_code == 204
    assert client.get(f"{ER}/batch/{batch['id']}").status_code == 404
    assert client.get(f"{ER}/history/batch/{batch['id']}").get_json()["endTime"] is not None


def test_finished_batch_disappears_and_leaves_history(client: Any, ctx: Any, linear_done: dict) -> None:
    batch = restart(client, linear_done["pd"], {"processInstanceIds": [linear_done["id"]]}, "restart-async").get_json()
    assert client.put(f"{ER}/batch/{batch['id']}/suspended", json={"suspended": True}).status_code == 204
    run_until_idle(ctx)
    assert restarted_from(client, linear_done["id"]) == []  # suspended: nothing ran
    assert client.put(f"{ER}/batch/{batch['id']}/suspended", json={"suspended": False}).status_code == 204
    run_until_idle(ctx)
    assert len(restarted_from(client, linear_done["id"])) == 1
    response = client.get(f"{ER}/batch/{batch['id']}")
    assert response.status_code == 404
    assert response.get_json()["message"] == f"Batch with id '{batch['id']}' does not exist"
    historic = client.get(f"{ER}/history/batch/{batch['id']}").get_json()
    assert historic["totalJobs"] == 1 and historic["endTime"] is not None


def test_modification_cancel_and_start(client: Any) -> None:
    client.deploy_ok({"linear.bpmn": models.linear()})
    started = client.start("linear")
    response = client.post(f"{ER}/process-instance/{started['id']}/modification", json={"instructions": [
        {"type": "cancel", "activityId": "A"},
        {"type": "startBeforeActivity", "activityId": "B",
         "variables": {"reason": {"value": "manual", "type": "String"}}}]})
    assert response.status_code == 204, response.get_json()
    assert [t["taskDefinitionKey"] for t in tasks_of(client, started["id"])] == ["B"]
    variables = client.get(f"{ER}/process-instance/{started['id']}/variables").get_json()
    assert variables["reason"]["value"] == "manual"
    rows = client.get(f"{ER}/history/activity-instance?processInstanceId={started['id']}&activityId=A").get_json()
    assert [r["canceled"] for r in rows] == [True]
    # Cancelling everything ends the instance from outside.
    response = client.post(f"{ER}/process-instance/{started['id']}/modification",
                           json={"instructions": [{"type": "cancel", "activityId": "B"}]})
    assert response.status_code == 204
    historic = client.get(f"{ER}/history/process-instance/{started['id']}").get_json()
    assert historic["state"] == "EXTERNALLY_TERMINATED"


def test_modification_errors(client: Any) -> None:
    client.deploy_ok({"linear.bpmn": models.linear()})
    started = client.start("linear")
    url = f"{ER}/process-instance/{started['id']}/modification"
    response = client.post(url, json={"instructions": [{"type": "cancel"}]})
    assert response.get_json()["message"] == ("For instruction type 'cancel': exactly one, 'activityId', "
                                              "'activityInstanceId', or 'transitionInstanceId', is required")
    assert client.post(url, json={"instructions": []}).status_code == 204
    assert client.post(url, json={"instructions": [{"type": "startBeforeActivity", "activityId": "Ghost"}]}
                       ).status_code == 400
    assert client.post(f"{ER}/process-instance/00000000-0000-0000-0000-000000000000/modification",
                       json={"instructions": [{"type": "cancel", "activityId": "A"}]}).status_code == 404
