"""The job that restarts one historic instance of a restart-async batch.

Creating the new instance and deleting the job happen in one transaction, so a worker killed
mid-job leaves the job (its lock expires and another worker takes it) and no instance: every
historic instance is restarted exactly once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.errors import BatonError
from app.jobs.executor import handler
from app.services import restart
from app.services.context import Context, utcnow
from app.store import models as m

_requests: OrderedDict[str, tuple[restart.RestartRequest, str, str]] = OrderedDict()
_lock = threading.Lock()


def _request_for(session: Session, batch_id: str) -> tuple[restart.RestartRequest, str, str]:
    with _lock:
        cached = _requests.get(batch_id)
    if cached is not None:
        return cached
    batch = session.get(m.Batch, batch_id)
    if batch is None or batch.payload is None:
        raise BatonError(f"Batch with id '{batch_id}' does not exist")
    request = restart.RestartRequest.from_payload(batch.payload)
    entry = (request, request.definition_id, request.target_definition_id or request.definition_id)
    with _lock:
        _requests[batch_id] = entry
        while len(_requests) > 64:
            _requests.popitem(last=False)
    return entry


@handler("restart")
def run_restart_job(ctx: Context, session: Session, job: m.Job) -> None:
    assert job.batch_id is not None and job.payload is not None
    request, source_id, target_id = _request_for(session, job.batch_id)
    source = session.get(m.ProcessDefinition, source_id)
    target = session.get(m.ProcessDefinition, target_id)
    if source is None or target is None:
        raise BatonError(f"no deployed process definition found with id '{target_id}': processDefinition is null")
    restart.restart_one(ctx, session, request, restart.Prepared(source, target), job.payload)
    session.execute(update(m.Batch).where(m.Batch.id == job.batch_id, m.Batch.execution_start_time.is_(None))
                    .values(execution_start_time=utcnow()))
    session.delete(job)
