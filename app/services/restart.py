"""Restart finished instances as new ones: synchronously, as an async batch, or as a dry run.

Validation follows contract 16.4 in order. The selection (ids, then the historic query's
results) is streamed, so a request naming 100,000 instances never holds their rows at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import values
from app.engine import positioning, runtime
from app.errors import InvalidRequest, NotFound, ProcessFailure
from app.services import instance_queries
from app.services import instance_state as state
from app.services import positioning as placing
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.ids import new_id

ENDED = ("COMPLETED", "EXTERNALLY_TERMINATED", "INTERNALLY_TERMINATED")
DRY_RUN_SAMPLE = 100


@dataclass
class HistoricQuery:
    filters: dict[str, Any] = field(default_factory=dict)
    or_queries: list[dict[str, Any]] = field(default_factory=list)
    sorting: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class RestartRequest:
    definition_id: str
    instance_ids: list[str | None] | None = None
    query: HistoricQuery | None = None
    #: None = omitted (start at the none start event); [] = explicitly empty (400).
    instructions: list[positioning.Instruction] | None = None
    initial_variables: bool = False
    without_business_key: bool = False
    target_definition_id: str | None = None
    dry_run: bool = False

    def to_payload(self) -> str:
        return json.dumps({
            "definitionId": self.definition_id,
            "targetDefinitionId": self.target_definition_id,
            "instructions": None if self.instructions is None else [
                {"type": i.type, "activityId": i.activity_id, "transitionId": i.transition_id}
                for i in self.instructions],
            "initialVariables": self.initial_variables,
            "withoutBusinessKey": self.without_business_key,
        })

    @classmethod
    def from_payload(cls, text: str) -> RestartRequest:
        data = json.loads(text)
        instructions = data["instructions"]
        return cls(
            definition_id=data["definitionId"], target_definition_id=data.get("targetDefinitionId"),
            instructions=None if instructions is None else [
                positioning.Instruction(i["type"], activity_id=i.get("activityId"),
                                        transition_id=i.get("transitionId")) for i in instructions],
            initial_variables=data["initialVariables"], without_business_key=data["withoutBusinessKey"],
        )


@dataclass
class Prepared:
    source: m.ProcessDefinition
    target: m.ProcessDefinition


def _query_given(request: RestartRequest) -> bool:
    return request.query is not None and not instance_queries.is_empty_query(
        request.query.filters, request.query.or_queries)


def selection(session: Session, request: RestartRequest) -> Iterator[str]:
    """Candidate ids: the given ids in order, then the query's results; duplicates removed."""
    given: set[str] = set()
    for instance_id in request.instance_ids or []:
        if instance_id is not None and instance_id not in given:
            given.add(instance_id)
            yield instance_id
    if _query_given(request):
        assert request.query is not None
        # A query never repeats an id, so only the given ids are remembered: memory does not
        # grow with the number of instances the query selects.
        for instance_id in instance_queries.history_ids(session, request.query.filters, request.query.or_queries,
                                                        request.query.sorting):
            if instance_id not in given:
                yield instance_id


def prepare(ctx: Context, session: Session, request: RestartRequest) -> Prepared:
    """Request-level checks of contract 16.4 (the API layer did #1 and #2)."""
    if request.instructions is not None and not request.instructions:
        raise InvalidRequest("Restart instructions cannot be empty: instructions is empty")
    if not request.instance_ids and not _query_given(request):
        raise InvalidRequest("processInstanceIds is empty")
    if request.instance_ids and any(i is None for i in request.instance_ids):
        raise InvalidRequest("Process instance ids cannot be null: Process instance ids contains null value")
    source = session.get(m.ProcessDefinition, request.definition_id)
    if source is None:
        raise NotFound(f"no deployed process definition found with id '{request.definition_id}': "
                       "processDefinition is null")
    target = source
    if request.target_definition_id and request.target_definition_id != source.id:
        target = session.get(m.ProcessDefinition, request.target_definition_id)
        if target is None:
            raise NotFound(f"no deployed process definition found with id '{request.target_definition_id}': "
                           "processDefinition is null")
        if target.key != source.key:
            raise InvalidRequest(f"Cannot restart onto process definition '{target.id}': its key '{target.key}' "
                                 f"differs from '{source.key}'")
    process = state.load_process(ctx, session, target)
    if request.instructions is None:
        if not target.has_none_start:
            raise InvalidRequest(f"Restart instructions cannot be omitted: process definition '{target.id}' "
                                 "has no none start event")
    else:
        placing.validate(process, request.instructions)
    return Prepared(source, target)


def check_instance(session: Session, request: RestartRequest, historic_id: str) -> m.ProcessInstance:
    """Per-instance checks of contract 16.4."""
    old = session.get(m.ProcessInstance, historic_id)
    if old is None:
        raise InvalidRequest("Historic process instance cannot be found: historicProcessInstanceId is null")
    if old.end_time is None or old.state not in ENDED:
        raise InvalidRequest(f"ENGINE-13040 Historic process instance '{historic_id}' cannot be restarted. "
                             "It is not completed or terminated.")
    if old.definition_id != request.definition_id:
        raise InvalidRequest(f"ENGINE-13039 Historic process instance '{historic_id}' cannot be restarted. Its "
                             f"process definition '{old.definition_id}' does not match given process definition "
                             f"'{request.definition_id}'")
    return old


def restart_variables(session: Session, old: m.ProcessInstance, initial: bool) -> dict[str, values.TypedValue]:
    if initial:
        if not old.initial_variables:
            return {}
        return {n: values.from_storage(d) for n, d in json.loads(old.initial_variables).items()}
    rows = session.scalars(select(m.Variable).where(m.Variable.process_instance_id == old.id,
                                                    m.Variable.state == "CREATED"))
    return {row.name: state.stored_value(row) for row in rows}


def restart_one(ctx: Context, session: Session, request: RestartRequest, prepared: Prepared,
                historic_id: str) -> m.ProcessInstance:
    old = check_instance(session, request, historic_id)
    variables = restart_variables(session, old, request.initial_variables)
    business_key = None if request.without_business_key else old.business_key
    workflow = None
    start_activity = None
    if request.instructions is not None:
        workflow, start_activity = placing.positioned_workflow(ctx, session, prepared.target, request.instructions,
                                                               variables)
    live = state.create(ctx, session, prepared.target, variables=variables, business_key=business_key,
                        start_activity_id=start_activity, restarted_from=old.id, workflow=workflow)
    # A failing script becomes an incident on the new instance, exactly as on a normal start.
    live.failure = runtime.run(live.workflow)
    state.save(ctx, session, live)
    return live.row


def restart_sync(ctx: Context, request: RestartRequest) -> int:
    """All selected instances in one transaction: all restarted, or none."""
    def command(session: Session) -> int:
        prepared = prepare(ctx, session, request)
        count = 0
        for historic_id in selection(session, request):
            try:
                restart_one(ctx, session, request, prepared, historic_id)
            except (InvalidRequest, NotFound):
                raise
            except Exception as error:  # noqa: BLE001 - anything else while running: roll back, name it
                raise ProcessFailure(f"Restart of historic process instance '{historic_id}' failed: {error}") \
                    from None
            count += 1
        if count == 0:
            raise InvalidRequest("processInstanceIds is empty")
        return count
    return state.run_command(ctx, command)


def dry_run(ctx: Context, request: RestartRequest) -> dict[str, Any]:
    """What a restart would do, changing nothing (Baton's addition)."""
    with ctx.db.transaction() as session:
        prepared = prepare(ctx, session, request)
        target_id = prepared.target.id
        total = 0
        first: list[str] = []
        refused: list[dict[str, str]] = []
        sample_activities: list[str] | None = None
        for historic_id in selection(session, request):
            total += 1
            if len(first) < DRY_RUN_SAMPLE:
                first.append(historic_id)
            try:
                check_instance(session, request, historic_id)
            except InvalidRequest as error:
                if len(refused) < 1000:
                    refused.append({"id": historic_id, "reason": error.message})
                continue
            if sample_activities is None:
                sample_activities = _sample_activities(ctx, session, request, prepared, historic_id)
        session.rollback()
    if total == 0:
        raise InvalidRequest("processInstanceIds is empty")
    return {"selectedInstances": total, "firstInstanceIds": first, "refusedInstances": refused,
            "refusedCount": len(refused), "sampleActiveActivityIds": sample_activities or [],
            "processDefinitionId": target_id}


def _sample_activities(ctx: Context, session: Session, request: RestartRequest, prepared: Prepared,
                       historic_id: str) -> list[str]:
    """Run one restart inside a savepoint and roll it back, reporting where its tokens would wait."""
    nested = session.begin_nested()
    try:
        row = restart_one(ctx, session, request, prepared, historic_id)
        active = list(session.scalars(select(m.ActivityInstance.activity_id).where(
            m.ActivityInstance.process_instance_id == row.id, m.ActivityInstance.end_time.is_(None))
            .order_by(m.ActivityInstance.seq)))
    finally:
        nested.rollback()
    return active


def restart_async(ctx: Context, request: RestartRequest) -> m.Batch:
    """A batch with one restart job per selected instance; instances are checked by their jobs."""
    with ctx.db.transaction() as session:
        prepare(ctx, session, request)
        now = utcnow()
        batch = m.Batch(id=new_id(), type="instance-restart", seed_job_definition_id=new_id(),
                        monitor_job_definition_id=new_id(), batch_job_definition_id=new_id(),
                        suspended=False, tenant_id=None, create_user_id=ctx.user_id, start_time=now,
                        payload=request.to_payload())
        source = session.get(m.ProcessDefinition, request.definition_id)
        assert source is not None
        batch.tenant_id = source.tenant_id
        session.add(batch)
        session.flush()
        total = 0
        chunk: list[dict[str, Any]] = []
        for historic_id in selection(session, request):
            chunk.append({"id": new_id(), "type": "restart", "job_definition_id": batch.batch_job_definition_id,
                          "definition_id": source.id, "definition_key": source.key, "batch_id": batch.id,
                          "retries": 3, "suspended": False, "payload": historic_id, "created": now,
                          "tenant_id": source.tenant_id})
            if len(chunk) >= 1000:
                session.execute(insert(m.Job), chunk)
                total += len(chunk)
                chunk = []
        if chunk:
            session.execute(insert(m.Job), chunk)
            total += len(chunk)
        if total == 0:
            raise InvalidRequest("processInstanceIds is empty")
        batch.total_jobs = total
        batch.jobs_created = total
        return batch
