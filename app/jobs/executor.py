"""The database-backed job executor.

Jobs are acquired in small batches under a lock with an expiry (``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so any number of executors on any number of hosts can share the
table and a killed worker's jobs are picked up again once its locks expire. Each job runs in
its own transaction; a handler deletes or reschedules its job in that same transaction, which
makes a job's effect and its completion one atomic step.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.errors import BatonError, Conflict
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.ids import new_id

log = logging.getLogger("baton.jobs")

Handler = Callable[[Context, Session, m.Job], None]
HANDLERS: dict[str, Handler] = {}


def handler(job_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[job_type] = fn
        return fn
    return register


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"


def acquire(ctx: Context, owner: str, limit: int = 10) -> list[str]:
    now = utcnow()
    expiry = now + timedelta(seconds=ctx.settings.job_lock_seconds)
    suspended_batches = select(m.Batch.id).where(m.Batch.suspended.is_(True))
    query = (
        select(m.Job)
        .where(m.Job.retries > 0, m.Job.suspended.is_(False))
        .where(or_(m.Job.due_date.is_(None), m.Job.due_date <= now))
        .where(or_(m.Job.lock_expiry.is_(None), m.Job.lock_expiry < now))
        .where(or_(m.Job.batch_id.is_(None), m.Job.batch_id.not_in(suspended_batches)))
        .order_by(m.Job.due_date.asc().nulls_first(), m.Job.id)
        .limit(limit)
    )
    if not ctx.db.is_sqlite:
        query = query.with_for_update(skip_locked=True, of=m.Job)
    with ctx.db.transaction() as session:
        jobs = list(session.scalars(query))
        for job in jobs:
            job.lock_owner = owner
            job.lock_expiry = expiry
        return [job.id for job in jobs]


def execute(ctx: Context, job_id: str, owner: str | None = None) -> bool:
    """Run one job now. Returns True if its handler succeeded."""
    try:
        with ctx.db.transaction() as session:
            if not ctx.db.is_sqlite:
                # The job's effect and its deletion commit together, so a commit lost in a database
                # crash only means the job runs again; not waiting for the WAL flush is safe here.
                session.execute(text("SET LOCAL synchronous_commit = off"))
            # Row-lock the job and re-check our lock: a job whose lock expired while it waited in
            # this round may have been taken by another worker, which must not run it twice.
            job = session.get(m.Job, job_id, with_for_update=True, populate_existing=True)
            if job is None or (owner is not None and (
                    job.lock_owner != owner or job.lock_expiry is None or job.lock_expiry <= utcnow())):
                return False  # done elsewhere, or our lock expired and another worker took it
            run = HANDLERS.get(job.type)
            if run is None:
                raise BatonError(f"No handler for job type '{job.type}'")
            run(ctx, session, job)
            still_there = session.get(m.Job, job_id)
            if still_there is not None:
                still_there.lock_owner = None
                still_there.lock_expiry = None
        return True
    except (StaleDataError, Conflict) as exc:
        # Lost a race with another writer: not the job's fault, so no retry is used up.
        log.info("job %s conflicted, will run again: %s", job_id, exc)
        _unlock(ctx, job_id, owner)
        return False
    except OperationalError as exc:
        if "locked" not in str(exc).lower():
            _record_failure(ctx, job_id, exc)
        else:
            _unlock(ctx, job_id, owner)
        return False
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded, never fatal to the executor
        _record_failure(ctx, job_id, exc)
        return False


def _unlock(ctx: Context, job_id: str, owner: str | None = None) -> None:
    with ctx.db.transaction() as session:
        job = session.get(m.Job, job_id)
        if job is not None and (owner is None or job.lock_owner == owner):
            job.lock_owner = None
            job.lock_expiry = None


def _record_failure(ctx: Context, job_id: str, exc: Exception) -> None:
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    log.info("job %s failed: %s", job_id, message)
    with ctx.db.transaction() as session:
        job = session.get(m.Job, job_id)
        if job is None:
            return
        had_retries = job.retries > 0
        job.retries = max(job.retries - 1, 0)
        job.exception_message = message
        job.lock_owner = None
        job.lock_expiry = None
        if job.retries == 0 and had_retries:  # exhausted now, not a re-run of an already failed job
            session.add(m.Incident(
                id=new_id(), type="failedJob", process_instance_id=job.process_instance_id,
                definition_id=job.definition_id, activity_id=job.activity_id, execution_id=job.execution_id,
                job_id=job.id, message=message, created=utcnow(), status="open", tenant_id=job.tenant_id))
            if job.process_instance_id:
                instance = session.get(m.ProcessInstance, job.process_instance_id)
                if instance is not None:
                    instance.has_incident = True
            on_exhausted = EXHAUSTED.get(job.type)
            if on_exhausted is not None:
                on_exhausted(ctx, session, job)


#: Called (in the failure transaction) when a job of that type has no retries left.
EXHAUSTED: dict[str, Handler] = {}


def register_handlers() -> None:
    from app.jobs import handlers, restart_jobs  # noqa: F401 - importing registers them


def run_once(ctx: Context, owner: str, limit: int = 10) -> int:
    """Acquire and run one round of due jobs; returns how many were acquired."""
    ids = acquire(ctx, owner, limit)
    for job_id in ids:
        execute(ctx, job_id, owner)
    if not ids:
        from app.services.batches import finalize_batches

        finalize_batches(ctx)  # Camunda's monitor job: end batches whose jobs all succeeded
    return len(ids)


def run_until_idle(ctx: Context, max_rounds: int = 1000) -> int:
    """Run jobs until none is due (tests and the CLI use it). Returns the number run."""
    register_handlers()
    owner = worker_id()
    total = 0
    for _ in range(max_rounds):
        count = run_once(ctx, owner)
        total += count
        if count == 0:
            break
    return total


class BackgroundExecutor:
    def __init__(self, ctx: Context) -> None:
        register_handlers()
        self.ctx = ctx
        self.owner = worker_id()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="baton-job-executor", daemon=True)

    def start(self) -> BackgroundExecutor:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                count = run_once(self.ctx, self.owner)
            except Exception:  # noqa: BLE001 - e.g. the database restarting: wait and try again
                log.exception("job acquisition failed")
                count = 0
            if count == 0:
                self._stop.wait(self.ctx.settings.job_poll_interval)


def start_background_executor(ctx: Context) -> BackgroundExecutor:
    return BackgroundExecutor(ctx).start()


def run_worker(ctx: Context, stop: threading.Event | None = None) -> None:
    """``baton worker``: run jobs in the foreground until stopped."""
    register_handlers()
    stop = stop or threading.Event()
    owner = worker_id()
    log.info("worker %s started", owner)
    while not stop.is_set():
        try:
            count = run_once(ctx, owner, limit=20)
        except Exception:  # noqa: BLE001
            log.exception("job acquisition failed")
            count = 0
        if count == 0:
            stop.wait(ctx.settings.job_poll_interval)
