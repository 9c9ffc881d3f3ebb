"""User tasks: read, claim, assign, complete."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import values
from app.engine import runtime
from app.errors import InvalidRequest, NotFound
from app.services import instance_state as state
from app.services.context import Context, utcnow
from app.services.instances import read_variables, require_active
from app.store import models as m


def find_task(session: Session, task_id: str) -> m.Task:
    task = session.get(m.Task, task_id)
    if task is None:
        raise NotFound(f"No matching task with id {task_id}")
    return task


def get_task(ctx: Context, task_id: str) -> m.Task:
    with ctx.db.transaction(readonly=True) as session:
        task = find_task(session, task_id)
        _ = task.candidates
        return task


def claim(ctx: Context, task_id: str, user_id: str) -> None:
    with ctx.db.transaction() as session:
        task = find_task(session, task_id)
        if task.assignee is not None and task.assignee != user_id:
            raise InvalidRequest(f"Cannot claim task '{task_id}': task is already claimed by someone else.",
                                 camunda_type="TaskAlreadyClaimedException")
        _assign(session, task, user_id)


def unclaim(ctx: Context, task_id: str) -> None:
    with ctx.db.transaction() as session:
        _assign(session, find_task(session, task_id), None)


def set_assignee(ctx: Context, task_id: str, user_id: str | None) -> None:
    with ctx.db.transaction() as session:
        _assign(session, find_task(session, task_id), user_id)


def _assign(session: Session, task: m.Task, user_id: str | None) -> None:
    task.assignee = user_id
    task.last_updated = utcnow()
    act = session.get(m.ActivityInstance, task.activity_instance_id)
    if act is not None:
        act.assignee = user_id


def complete(ctx: Context, task_id: str, variables: dict[str, values.TypedValue] | None = None,
             *, action: str = "complete") -> dict[str, values.TypedValue]:
    """Complete a user task and run the instance on; returns the instance's variables afterwards."""
    prefix = "Cannot complete task" if action == "complete" else "Cannot submit task form"

    def command(session: Session) -> dict[str, values.TypedValue]:
        task_row = session.get(m.Task, task_id)
        if task_row is None:
            raise NotFound(f"{prefix} {task_id}: Cannot find task with id {task_id}: task is null",
                           camunda_type="RestException", status=500)
        instance = session.get(m.ProcessInstance, task_row.process_instance_id)
        assert instance is not None
        require_active(instance)
        live = state.load(ctx, session, task_row.process_instance_id)
        task = runtime.find_task(live.workflow, task_id)
        if task is None or not runtime.is_user_task(task):
            raise NotFound(f"{prefix} {task_id}: Cannot find task with id {task_id}: task is null",
                           camunda_type="RestException", status=500)
        typed = variables or {}
        live.declared.update(typed)
        runtime.complete_user_task(live.workflow, task, {n: values.to_engine(tv) for n, tv in typed.items()})
        live.failure = runtime.run(live.workflow)
        state.save(ctx, session, live)
        return read_variables(session, live.row.id)
    return state.run_command(ctx, command)


def task_variables(ctx: Context, task_id: str) -> dict[str, values.TypedValue]:
    with ctx.db.transaction(readonly=True) as session:
        task = find_task(session, task_id)
        return read_variables(session, task.process_instance_id)


def candidates_of(session: Session, task_id: str) -> list[m.TaskCandidate]:
    return list(session.scalars(select(m.TaskCandidate).where(m.TaskCandidate.task_id == task_id)))
