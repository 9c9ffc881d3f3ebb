"""Which permission claim a Camunda engine-rest call needs (the Keyfactor claims, contract 2.2).

Both dialects share one permission model. For ``/engine-rest`` the mapping is by resource and
method, so endpoints added later fall into the right class without a table entry:

===================================================================  ===================================
call                                                                 claim
===================================================================  ===================================
``GET`` deployments, process/decision/job definitions                ``/workflows/definitions/read/``
deploy, delete deployments or definitions, suspend definitions,      ``/workflows/definitions/modify/``
history TTL, job-definition changes
``GET`` of everything else (instances, tasks, history, variables,    ``/workflows/instances/read/``
incidents, jobs, batches) and ``POST`` queries (``POST /task``,
``POST /process-instance/count``, ``POST /history/…``)
starting instances, completing/claiming tasks, messages, signals,   ``/workflows/instances/manage/``
modification, restart, variable writes, deletes, suspension of
instances, job retries/execution, batch changes
``/engine``, ``/version``, the OpenAPI document                      none (any authenticated user)
===================================================================  ===================================
"""

from __future__ import annotations

DEFINITIONS_READ = "/workflows/definitions/read/"
DEFINITIONS_MODIFY = "/workflows/definitions/modify/"
INSTANCES_READ = "/workflows/instances/read/"
INSTANCES_MANAGE = "/workflows/instances/manage/"

PREFIX = "/engine-rest"
_OPEN = {"", "engine", "version", "openapi.json", "swagger-ui"}
_DEFINITION_RESOURCES = {"deployment", "process-definition", "decision-definition", "job-definition"}
#: Resources whose collection accepts a POST query (``POST /task``, ``POST /task/count``).
_POST_QUERIES = {"process-instance", "task", "execution", "variable-instance", "activity-instance", "job",
                 "job-definition", "external-task", "incident", "batch", "process-definition", "deployment"}
#: ``POST /process-definition/{id}/<action>`` calls that act on instances, not on the definition.
_INSTANCE_ACTIONS = {"start", "submit-form", "restart", "restart-async"}
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def _segments(path: str) -> list[str]:
    if path == PREFIX or path.startswith(PREFIX + "/"):
        path = path[len(PREFIX):]
    return [part for part in path.split("/") if part]


def _is_post_query(segments: list[str]) -> bool:
    first = segments[0]
    if first == "history":
        # POST /history/<resource>[/count] is a query; /history/process-instance/delete etc. are not.
        return len(segments) == 2 or (len(segments) == 3 and segments[2] == "count")
    return first in _POST_QUERIES and (len(segments) == 1 or (len(segments) == 2 and segments[1] == "count"))


def camunda_permission(method: str, path: str) -> str | None:
    """The claim ``method path`` (a path under ``/engine-rest``, prefix optional) needs; None = none."""
    segments = _segments(path)
    if not segments or segments[0] in _OPEN:
        return None
    method, first = method.upper(), segments[0]
    if method in _READ_METHODS:
        return DEFINITIONS_READ if first in _DEFINITION_RESOURCES else INSTANCES_READ
    if method == "POST" and _is_post_query(segments):
        return DEFINITIONS_READ if first in _DEFINITION_RESOURCES else INSTANCES_READ
    if first == "process-definition":
        if method != "DELETE" and len(segments) > 2 and segments[-1] in _INSTANCE_ACTIONS:
            return INSTANCES_MANAGE
        return DEFINITIONS_MODIFY
    if first in _DEFINITION_RESOURCES:
        return DEFINITIONS_MODIFY
    return INSTANCES_MANAGE
