"""The read-only catalogs: step types (``Definitions/Steps``) and workflow types (``Definitions/Types``).

They come from app.engine.keyfactor.catalog as JSON-ready dicts in Keyfactor's spelling; the
query language and paging run over them in memory (a handful of items).
"""

from __future__ import annotations

from typing import Any

from app.errors import NotFound
from app.services import identity
from app.services.context import Context
from app.services.keyfactor_definitions import READ
from app.services.keyfactor_paging import ListRequest, Sortable, page_of
from app.services.keyfactor_query import (
    STRING,
    STRING_LIST,
    Field,
    parse,
    to_predicate,
)


def _catalog() -> Any:
    from app.engine.keyfactor import catalog

    return catalog


STEP_FIELDS = {"DisplayName": Field("DisplayName", STRING), "ExtensionName": Field("ExtensionName", STRING),
               "SupportedWorkflowTypes": Field("SupportedWorkflowTypes", STRING_LIST)}
STEP_SORT = Sortable({"displayname": lambda s: s.get("DisplayName"), "extensionname": lambda s: s.get("ExtensionName")},
                     "DisplayName")
TYPE_FIELDS = {"Name": Field("Name", STRING)}
TYPE_SORT = Sortable({"workflowtype": lambda t: t.get("WorkflowType"), "name": lambda t: t.get("WorkflowType"),
                      "keytype": lambda t: t.get("KeyType")}, "WorkflowType")


def list_step_types(ctx: Context, request: ListRequest) -> list[dict[str, Any]]:
    identity.require_claim(ctx.actor, READ)
    test = to_predicate(parse(request.query, STEP_FIELDS), {name: (lambda s, n=name: s.get(n)) for name in STEP_FIELDS})
    return page_of([s for s in _catalog().available_steps() if test(s)], request, STEP_SORT)


def get_step_type(ctx: Context, extension_name: str) -> dict[str, Any]:
    identity.require_claim(ctx.actor, READ)
    try:
        return _catalog().step_definition(extension_name)
    except KeyError:
        raise NotFound(f"Step type '{extension_name}' does not exist") from None


def list_workflow_types(ctx: Context, request: ListRequest) -> list[dict[str, Any]]:
    identity.require_claim(ctx.actor, READ)
    test = to_predicate(parse(request.query, TYPE_FIELDS), {"Name": lambda t: t.get("WorkflowType")})
    return page_of([t for t in _catalog().workflow_types() if test(t)], request, TYPE_SORT)
