"""Batches (restart-async): list, statistics, suspension, deletion, history, completion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from app.errors import InvalidRequest, NotFound
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of

B = m.Batch
SORT_COLUMNS = {"batchId": B.id, "tenantId": B.tenant_id}
HISTORY_SORT_COLUMNS = {**SORT_COLUMNS, "startTime": B.start_time, "endTime": B.end_time}


@dataclass
class BatchStats:
    batch: m.Batch
    remaining: int
    failed: int

    @property
    def completed(self) -> int:
        return self.batch.total_jobs - self.remaining


def _failures_exist() -> Any:
    return select(m.Job.id).where(m.Job.batch_id == B.id, m.Job.retries == 0).exists()


def _query(filters: dict[str, Any], *, history: bool = False) -> Select:
    f = filters
    conds = [] if history else [B.end_time.is_(None)]
    if "batchId" in f:
        conds.append(B.id == f["batchId"])
    if "type" in f:
        conds.append(B.type == f["type"])
    if "tenantIdIn" in f:
        conds.append(B.tenant_id.in_(f["tenantIdIn"]))
    if f.get("withoutTenantId"):
        conds.append(B.tenant_id.is_(None))
    if "suspended" in f:
        conds.append(B.suspended.is_(bool(f["suspended"])))
    if "createdBy" in f:
        conds.append(B.create_user_id == f["createdBy"])
    if "startedBefore" in f:
        conds.append(B.start_time <= f["startedBefore"])
    if "startedAfter" in f:
        conds.append(B.start_time >= f["startedAfter"])
    if f.get("withFailures"):
        conds.append(_failures_exist())
    if f.get("withoutFailures"):
        conds.append(~_failures_exist())
    if history and f.get("completed") is not None:
        conds.append(B.end_time.is_not(None) if f["completed"] else B.end_time.is_(None))
    return select(B).where(*conds)


def list_batches(ctx: Context, filters: dict[str, Any], sorting: Sorting = (), first_result: int = 0,
                 max_results: int | None = None, *, history: bool = False) -> list[m.Batch]:
    finalize_batches(ctx)
    columns = HISTORY_SORT_COLUMNS if history else SORT_COLUMNS
    query = apply_paging(apply_sorting(_query(filters, history=history), sorting, columns, B.start_time),
                         first_result, max_results)
    with ctx.db.transaction() as session:
        return list(session.scalars(query))


def count_batches(ctx: Context, filters: dict[str, Any], *, history: bool = False) -> int:
    finalize_batches(ctx)
    with ctx.db.transaction() as session:
        return session.scalar(count_of(_query(filters, history=history))) or 0


def _stats(session: Session, batch: m.Batch) -> BatchStats:
    remaining = session.scalar(select(func.count()).where(m.Job.batch_id == batch.id)) or 0
    failed = session.scalar(select(func.count()).where(m.Job.batch_id == batch.id, m.Job.retries == 0)) or 0
    return BatchStats(batch, remaining, failed)


def statistics(ctx: Context, filters: dict[str, Any], sorting: Sorting = (), first_result: int = 0,
               max_results: int | None = None) -> list[BatchStats]:
    batches = list_batches(ctx, filters, sorting, first_result, max_results)
    with ctx.db.transaction() as session:
        return [_stats(session, b) for b in batches]


def get_batch(ctx: Context, batch_id: str) -> m.Batch:
    finalize_batches(ctx)
    with ctx.db.transaction() as session:
        batch = session.get(B, batch_id)
        if batch is None or batch.end_time is not None:
            raise NotFound(f"Batch with id '{batch_id}' does not exist")
        return batch


def get_historic_batch(ctx: Context, batch_id: str) -> m.Batch:
    with ctx.db.transaction() as session:
        batch = session.get(B, batch_id)
        if batch is None:
            raise NotFound(f"Historic batch for id '{batch_id}' cannot be found")
        return batch


def set_suspended(ctx: Context, batch_id: str, suspended: bool) -> None:
    with ctx.db.transaction() as session:
        batch = session.get(B, batch_id)
        if batch is None or batch.end_time is not None:
            verb = "suspend" if suspended else "activate"
            raise InvalidRequest(f"Unable to {verb} batch with id '{batch_id}'")
        batch.suspended = suspended
        session.execute(update(m.Job).where(m.Job.batch_id == batch_id).values(suspended=suspended))


def delete_batch(ctx: Context, batch_id: str) -> None:
    """Deletes the batch and its pending jobs; instances already restarted stay restarted."""
    with ctx.db.transaction() as session:
        batch = session.get(B, batch_id)
        if batch is None or batch.end_time is not None:
            raise InvalidRequest(f"Unable to delete batch with id '{batch_id}'")
        session.execute(delete(m.Job).where(m.Job.batch_id == batch_id))
        batch.end_time = utcnow()


def delete_historic_batch(ctx: Context, batch_id: str) -> None:
    with ctx.db.transaction() as session:
        batch = session.get(B, batch_id)
        if batch is None or batch.end_time is None:
            raise NotFound(f"Historic batch for id '{batch_id}' cannot be found")
        session.delete(batch)


def finalize_batches(ctx: Context) -> int:
    """End batches whose jobs all succeeded (Camunda's monitor job); they leave only history."""
    with ctx.db.transaction() as session:
        open_ids = list(session.scalars(select(B.id).where(
            B.end_time.is_(None), ~select(m.Job.id).where(m.Job.batch_id == B.id).exists())))
        if open_ids:
            session.execute(update(B).where(B.id.in_(open_ids), B.end_time.is_(None)).values(end_time=utcnow()))
        return len(open_ids)
