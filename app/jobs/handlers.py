"""Job handlers: firing timers and retrying failed activities.

Each handler runs inside the executor's transaction for its job (``executor.execute``): it
loads the instance, changes it, runs it and saves it, and deletes or reschedules its own job
in that same transaction. A failure *of the process* (a script raising, a bad condition) is
not an exception here: ``instance_state.save`` records it as an "activity" job with an open
incident, and the handler returns normally. Only unexpected errors (corrupt state, a lost
optimistic-locking race) escape and take the executor's generic failure path, so the two
never count the same failure twice.

The outcome of the last handler run in this thread/context is available through
:func:`capture_failures`, which ``POST /job/{id}/execute`` uses to answer 500 when the job ran
but the process failed while doing so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from sqlalchemy.orm import Session

from app.engine import runtime
from app.errors import NotFound
from app.jobs.executor import handler
from app.services import instance_state
from app.services.context import Context, utcnow
from app.store import models as m

#: Messages of process failures raised while handlers ran (None: nobody is listening).
_FAILURES: ContextVar[list[str] | None] = ContextVar("baton_job_failures", default=None)


@contextmanager
def capture_failures() -> Iterator[list[str]]:
    """Collect the process-failure messages of the handlers run inside the ``with`` block."""
    collected: list[str] = []
    token = _FAILURES.set(collected)
    try:
        yield collected
    finally:
        _FAILURES.reset(token)


def _report(message: str) -> None:
    collected = _FAILURES.get()
    if collected is not None:
        collected.append(message)


def _running_instance(session: Session, job: m.Job) -> m.ProcessInstance | None:
    if job.process_instance_id is None:
        return None
    row = session.get(m.ProcessInstance, job.process_instance_id)
    if row is None or row.end_time is not None or row.state_json is None:
        return None
    return row


def _load(ctx: Context, session: Session, job: m.Job) -> instance_state.LiveInstance | None:
    """The job's live instance, or None (job deleted) when the instance is gone or has ended."""
    if _running_instance(session, job) is None:
        session.delete(job)
        return None
    try:
        return instance_state.load(ctx, session, job.process_instance_id or "")
    except NotFound:  # e.g. its deployment was deleted: nothing left to run the job against
        session.delete(job)
        return None


# --------------------------------------------------------------------------------------------
# Timers


@handler("timer")
def fire_timer(ctx: Context, session: Session, job: m.Job) -> None:
    job_id, execution_id = job.id, job.execution_id
    live = _load(ctx, session, job)
    if live is None:
        return
    now = utcnow()
    # A job that runs is due by definition (the executor only acquires due jobs; an API
    # `execute` fires early on purpose), but SpiffWorkflow compares against its own clock
    # reading: align it, so clock skew between hosts or an early execute cannot leave the
    # timer unfired and the job spinning.
    due = min(_aware(job.due_date) or now, now)
    if execution_id:
        _make_timer_due(live.workflow, execution_id, due - timedelta(milliseconds=1))
    runtime.fire_timers(live.workflow)
    if execution_id and _finish_spent_cycle(live.workflow, execution_id):
        runtime.fire_timers(live.workflow)  # now it completes instead of waiting one more period
    live.failure = runtime.run(live.workflow)
    instance_state.save(ctx, session, live)
    if live.failure is not None:
        _report(live.failure.message)
    # save() deleted the job if its event stopped waiting. A cycle timer still waits, with a
    # new due date that save() does not copy onto a job locked by its executor: copy it here,
    # or the job would be acquired again at once with its stale (past) due date.
    still_there = session.get(m.Job, job_id)
    if still_there is not None:
        for wait in runtime.waiting_events(live.workflow):
            if wait.kind == "timer" and wait.task_id == execution_id:
                still_there.due_date = wait.due or utcnow()
                break


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; Baton stores UTC everywhere.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _make_timer_due(workflow: Any, task_id: str, when: datetime) -> None:
    """Move the SpiffWorkflow due time of one waiting timer back to ``when`` if it is later.

    SpiffWorkflow keeps the evaluated due time in the task's internal data: an ISO string for
    date and duration timers, ``{"cycles", "next", "duration"}`` for cycles. Belongs in
    ``app.engine.runtime`` next to ``fire_timers`` (see the jobs/incidents report).
    """
    task = runtime.find_task(workflow, task_id)
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if task is None or not isinstance(definition, TimerEventDefinition):
        return
    value = task.internal_data.get("event_value")
    stamp = when.isoformat()
    if isinstance(definition, CycleTimerEventDefinition):
        if isinstance(value, dict) and value.get("cycles") != 0 and _later(value.get("next"), when):
            value["next"] = stamp
    elif isinstance(value, str) and _later(value, when):
        task.internal_data["event_value"] = stamp


def _finish_spent_cycle(workflow: Any, task_id: str) -> bool:
    """A cycle timer that has just fired its last repetition is done (as in Camunda).

    SpiffWorkflow would keep it waiting for one more period and only then notice that no
    repetitions are left; mark it fired now, as its own ``cycle_complete`` would later.
    """
    task = runtime.find_task(workflow, task_id)
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if task is None or not isinstance(definition, CycleTimerEventDefinition):
        return False
    value = task.internal_data.get("event_value")
    if not isinstance(value, dict) or value.get("cycles") != 0:
        return False
    task.internal_data.pop("event_value", None)
    task.internal_data["event_fired"] = True
    return True


def _later(value: object, when: datetime) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = TimerEventDefinition.get_datetime(value)
    except (ValueError, TypeError):
        return False  # e.g. a time-date timer whose value is a duration: leave it to Spiff
    return parsed >= when


# --------------------------------------------------------------------------------------------
# Failed activities


@handler("activity")
def retry_activity(ctx: Context, session: Session, job: m.Job) -> None:
    job_id, execution_id, instance_id = job.id, job.execution_id, job.process_instance_id
    live = _load(ctx, session, job)
    if live is None:
        return
    if execution_id is None or runtime.retry_failed(live.workflow, execution_id) == 0:
        # The failed task is gone (a modification or restart moved the token away): nothing to retry.
        instance_state.resolve_incidents(session, live.row.id, utcnow(), job_id=job_id)
        session.delete(job)
        return
    live.failure = runtime.run(live.workflow)
    # If the same task fails again, save() re-records it on this very job (retries back to 0,
    # a new incident if setting retries resolved the old one); another failing task gets its own job.
    instance_state.save(ctx, session, live)
    if live.failure is not None:
        _report(live.failure.message)
        if live.failure.task_id == execution_id:
            return
    instance_state.resolve_incidents(session, instance_id or live.row.id, utcnow(), job_id=job_id)
    still_there = session.get(m.Job, job_id)  # save() removes it itself when the instance ended
    if still_there is not None:
        session.delete(still_there)
