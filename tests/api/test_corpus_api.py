"""Every BPMN file of the shared corpus through the HTTP API, and the save/restore round trip.

1. Each corpus file (the call-activity pair together, in one deployment) is posted to
   ``POST /engine-rest/deployment/create``: it deploys (200, one definition per executable
   process, the bytes kept verbatim) or is refused with Camunda's ``ParseException`` shape
   (400). Never a 500, and a refused upload leaves nothing behind.
2. For every model that deploys, and for every model shipped in ``processes/``: the stored
   instance state restores (with the cached spec) to a workflow that dumps to the same JSON
   document and holds the same tokens (ready, waiting, errored task ids).

Corpus attribution (see /work/shared/corpus/README.md):
- miwg/: the BPMN Model Interchange Working Group test suite
  (github.com/bpmn-miwg/bpmn-miwg-test-suite, commit bc9f858c), licensed CC BY 3.0
  (miwg/LICENSE.txt).
- spiff/: test models from SpiffWorkflow (github.com/sartography/SpiffWorkflow, commit 8c6e00f6),
  licensed LGPL-3.0 (spiff/COPYING.LGPL-3.0).
"""

from __future__ import annotations

import csv
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import models
import pytest
from e2e_helpers import CORPUS, ER, PROCESSES, assert_parse_error
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from app.engine import runtime, serializer
from app.engine.parsing import BpmnParseError, parse_deployment
from app.services import instance_state
from app.store import models as m

requires_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"BPMN corpus not found at {CORPUS}")

#: Files that must be deployed together (a call activity calls a process of the other file).
COMPANIONS = {"spiff/bpmn__call_activity_end_event.bpmn": ("spiff/bpmn__call_activity_call_activity.bpmn",)}
_COMPANION_FILES = {f for files in COMPANIONS.values() for f in files}

#: Start variables for the corpus models that read data (Spiff's test models expect them).
START_VARIABLES = {
    "remove_this_var": {"value": "gone soon", "type": "String"},  # call_activity: del(remove_this_var)
    "lover_name": {"value": "Alice", "type": "String"},  # collaboration: correlation property
    "from_name": {"value": "Bob", "type": "String"},
    "done": {"value": True, "type": "Boolean"},  # standard_loop: loopCondition "not done"
    "input_data": {"value": "[1,2,3]", "type": "Json"},  # multi-instance input collections
    "u": {"value": 1, "type": "Integer"}, "v": {"value": 0, "type": "Integer"},  # inclusive_gateway
    "w": {"value": 1, "type": "Integer"},
    "answer": {"value": "No", "type": "String"}, "NeedClarification": {"value": "No", "type": "String"},
    "work_done": {"value": "No", "type": "String"}, "interrupt_task": {"value": "No", "type": "String"},
    "quantity": {"value": 1, "type": "Integer"}, "value": {"value": "widget", "type": "String"},
    "task_num": {"value": 1, "type": "Integer"}, "init_id": {"value": 1, "type": "Integer"},
}

NO_NONE_START = "process has no none start event"
TOKEN_STATES = {"READY": TaskState.READY, "WAITING": TaskState.WAITING, "STARTED": TaskState.STARTED,
                "ERROR": TaskState.ERROR}


# ------------------------------------------------------------------------------------------
# What to deploy


def corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.bpmn"))


def corpus_units() -> list[tuple[str, ...]]:
    """One deployment per file, except that companions go with the file that calls them."""
    return [(rel, *COMPANIONS.get(rel, ())) for rel in corpus_files() if rel not in _COMPANION_FILES]


def read_unit(base: Path, unit: tuple[str, ...]) -> dict[str, bytes]:
    return {rel: (base / rel).read_bytes() for rel in unit}


@cache
def manifest_executables() -> dict[str, set[str]]:
    """corpus-relative file → the ids of its processes whose isExecutable is not "false"."""
    result: dict[str, set[str]] = {}
    for manifest in CORPUS.glob("*/MANIFEST.tsv"):
        with manifest.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                processes = [p.rsplit(":", 1) for p in row["processes(id:isExecutable)"].split(";") if p]
                rel = f"{manifest.parent.name}/{row['file']}"
                result[rel] = {pid for pid, flag in processes if flag.lower() != "false"}
    return result


def deployable_units() -> list[Any]:
    """Corpus units the parser accepts, plus every shipped process (the round-trip candidates)."""
    params = []
    for unit in corpus_units():
        try:
            parse_deployment(read_unit(CORPUS, unit))
        except BpmnParseError:
            continue
        params.append(pytest.param(CORPUS, unit, id=f"corpus:{unit[0]}", marks=requires_corpus))
    for path in sorted(PROCESSES.glob("*.bpmn")):
        params.append(pytest.param(PROCESSES, (path.name,), id=f"processes:{path.name}"))
    return params


def counts(client: Any, ctx: Any) -> dict[str, int]:
    with ctx.db.transaction() as session:
        resources = session.scalar(select(func.count()).select_from(m.Resource))
    return {"deployments": client.get(f"{ER}/deployment/count").get_json()["count"],
            "definitions": client.get(f"{ER}/process-definition/count").get_json()["count"],
            "instances": client.get(f"{ER}/history/process-instance/count").get_json()["count"],
            "resources": resources}


# ------------------------------------------------------------------------------------------
# 1. Deploy every file


@requires_corpus
def test_units_cover_every_corpus_file() -> None:
    covered = sorted(rel for unit in corpus_units() for rel in unit)
    assert covered == corpus_files()
    assert len(covered) == 77  # 51 miwg + 26 spiff (README)
    assert set(manifest_executables()) == set(covered)


@requires_corpus
@pytest.mark.parametrize("unit", corpus_units(), ids=lambda unit: unit[0])
def test_corpus_file_deploys_or_is_refused_cleanly(client: Any, ctx: Any, unit: tuple[str, ...]) -> None:
    client.deploy_ok({"baseline.bpmn": models.linear("baseline")}, name="baseline")
    before = counts(client, ctx)
    resources = read_unit(CORPUS, unit)

    started = time.monotonic()
    response = client.deploy(resources, name=unit[0])
    assert time.monotonic() - started < 10, f"{unit[0]} took too long to deploy"
    body = response.get_json()
    assert response.status_code in (200, 400), (response.status_code, body)

    if response.status_code == 400:
        assert not unit[0].startswith("spiff/"), f"plain SpiffWorkflow parses every spiff/ file: {body}"
        first = assert_parse_error(body, unit)
        if first["mainElementId"] is not None:
            # The error names an element that really is in the uploaded model.
            assert any(f'id="{first["mainElementId"]}"'.encode() in data for data in resources.values()), first
        assert counts(client, ctx) == before, "a refused upload must leave nothing behind"
        return

    definitions = body["deployedProcessDefinitions"] or {}
    expected_keys = set().union(*(manifest_executables()[rel] for rel in unit))
    assert {d["key"] for d in definitions.values()} == expected_keys
    for definition_id, definition in definitions.items():
        assert definition["id"] == definition_id and definition["version"] == 1
        assert definition["deploymentId"] == body["id"] and definition["resource"] in unit
        xml = client.get(f"{ER}/process-definition/{definition_id}/xml").get_json()["bpmn20Xml"]
        assert xml == resources[definition["resource"]].decode("utf-8")  # stored verbatim
    after = counts(client, ctx)
    assert after == {**before, "deployments": before["deployments"] + 1,
                     "definitions": before["definitions"] + len(definitions),
                     "resources": before["resources"] + len(unit)}


# ------------------------------------------------------------------------------------------
# 2. Save and restore


def token_ids(workflow: Any) -> dict[str, list[str]]:
    tasks = {str(t.id): t.state for t in runtime.all_tasks(workflow)}
    return {name: sorted(i for i, state in tasks.items() if state == value) for name, value in TOKEN_STATES.items()}


def token_ids_in_json(document: dict[str, Any]) -> dict[str, list[str]]:
    """The same, read straight from the stored JSON (top-level and subprocess task maps)."""
    tasks: dict[str, int] = {}
    for scope in [document, *document.get("subprocesses", {}).values()]:
        tasks.update({task_id: task["state"] for task_id, task in scope["tasks"].items()})
    return {name: sorted(i for i, state in tasks.items() if state == value) for name, value in TOKEN_STATES.items()}


def assert_round_trip(text: str, process: Any, engine: Any) -> dict[str, list[str]]:
    """Restore ``text`` with the cached spec, dump it again: the same document and the same tokens."""
    document = json.loads(text)
    restored = serializer.loads(text, process.spec, process.subprocess_specs, engine)
    again = serializer.dumps(restored)
    assert json.loads(again) == document
    tokens = token_ids(restored)
    assert tokens == token_ids_in_json(document)
    assert token_ids(serializer.loads(again, process.spec, process.subprocess_specs, engine)) == tokens
    return tokens


@pytest.mark.parametrize(("base", "unit"), deployable_units())
def test_stored_state_restores_to_the_same_workflow(client: Any, ctx: Any, base: Path, unit: tuple[str, ...]) -> None:
    body = client.deploy_ok(read_unit(base, unit), name=unit[0])
    definitions = body["deployedProcessDefinitions"] or {}
    if not definitions:
        assert base == CORPUS  # descriptive models (isExecutable="false") only come from the corpus
        return
    for definition_id, definition in definitions.items():
        with ctx.db.transaction() as session:
            row = session.get(m.ProcessDefinition, definition_id)
            process = instance_state.load_process(ctx, session, row)
            assert instance_state.load_process(ctx, session, row) is process  # the cached spec
            engine = ctx.engine_for(row)

        # A brand-new workflow round-trips too (this also covers processes the API cannot start).
        fresh = runtime.new_workflow(process.spec, process.subprocess_specs, engine)
        assert_round_trip(serializer.dumps(fresh), process, engine)

        response = client.post(f"{ER}/process-definition/{definition_id}/start",
                               json={"businessKey": f"rt-{definition['key']}", "variables": START_VARIABLES})
        started = response.get_json()
        if response.status_code == 400 and started["message"].endswith(NO_NONE_START):
            assert started["type"] == "InvalidRequestException"
            continue
        assert response.status_code == 200, (definition_id, started)
        instance_id = started["id"]
        with ctx.db.transaction() as session:
            state_json = session.get(m.ProcessInstance, instance_id).state_json
        if started["ended"]:
            assert state_json is None
            historic = client.get(f"{ER}/history/process-instance/{instance_id}").get_json()
            assert historic["state"] in ("COMPLETED", "INTERNALLY_TERMINATED")
            continue
        assert state_json is not None, definition_id

        tokens = assert_round_trip(state_json, process, engine)
        assert any(tokens.values()), f"{definition_id}: a running instance holds no token"
        # The service's own load path gives the same workflow.
        with ctx.db.transaction() as session:
            live = instance_state.load(ctx, session, instance_id)
            assert json.loads(serializer.dumps(live.workflow)) == json.loads(state_json)
        # What the API shows is what the restored workflow holds.
        user_tasks = {t["id"] for t in client.get(f"{ER}/task?processInstanceId={instance_id}").get_json()}
        assert user_tasks <= set(tokens["READY"])
        incidents = client.get(f"{ER}/incident?processInstanceId={instance_id}").get_json()
        assert {i["executionId"] for i in incidents} == set(tokens["ERROR"])
