"""Process definitions: lookup, listing, the deployed XML, suspension."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from app.errors import InvalidRequest, NotFound
from app.services.context import Context
from app.store import models as m
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of

PD = m.ProcessDefinition

SORT_COLUMNS = {
    "category": PD.category, "key": PD.key, "id": PD.id, "name": PD.name, "version": PD.version,
    "deploymentId": PD.deployment_id, "deployTime": PD.deployed_at, "tenantId": PD.tenant_id,
    "versionTag": PD.version_tag,
}


def _tenant_cond(column: Any, tenant_id: str | None) -> Any:
    return column == tenant_id if tenant_id is not None else column.is_(None)


def _filtered(filters: dict[str, Any]) -> Select:
    query = select(PD)
    f = filters
    conds = []
    simple = {"processDefinitionId": PD.id, "name": PD.name, "deploymentId": PD.deployment_id,
              "key": PD.key, "category": PD.category, "version": PD.version,
              "resourceName": PD.resource_name, "versionTag": PD.version_tag}
    for name, column in simple.items():
        if name in f:
            conds.append(column == f[name])
    likes = {"nameLike": PD.name, "keyLike": PD.key, "categoryLike": PD.category,
             "resourceNameLike": PD.resource_name, "versionTagLike": PD.version_tag}
    for name, column in likes.items():
        if name in f:
            conds.append(column.like(f[name]))
    if "processDefinitionIdIn" in f:
        conds.append(PD.id.in_(f["processDefinitionIdIn"]))
    if "keysIn" in f:
        conds.append(PD.key.in_(f["keysIn"]))
    if "deployedAfter" in f:
        conds.append(PD.deployed_at > f["deployedAfter"])
    if "deployedAt" in f:
        conds.append(PD.deployed_at == f["deployedAt"])
    if f.get("suspended"):
        conds.append(PD.suspended.is_(True))
    if f.get("active"):
        conds.append(PD.suspended.is_(False))
    if f.get("withoutVersionTag"):
        conds.append(PD.version_tag.is_(None))
    if f.get("startableInTasklist"):
        conds.append(PD.startable.is_(True))
    if f.get("notStartableInTasklist"):
        conds.append(PD.startable.is_(False))
    tenant_conds = []
    if "tenantIdIn" in f:
        tenant_conds.append(PD.tenant_id.in_(f["tenantIdIn"]))
        if f.get("includeProcessDefinitionsWithoutTenantId"):
            tenant_conds.append(PD.tenant_id.is_(None))
        conds.append(or_(*tenant_conds))
    if f.get("withoutTenantId"):
        conds.append(PD.tenant_id.is_(None))
    if f.get("latestVersion"):
        newer = aliased(PD)
        conds.append(~select(newer.id).where(
            newer.key == PD.key, newer.version > PD.version,
            or_(newer.tenant_id == PD.tenant_id, and_(newer.tenant_id.is_(None), PD.tenant_id.is_(None)))
        ).exists())
    return query.where(*conds)


def list_definitions(ctx: Context, filters: dict[str, Any], sorting: Sorting = (), first_result: int = 0,
                     max_results: int | None = None) -> list[m.ProcessDefinition]:
    query = apply_sorting(_filtered(filters), sorting, SORT_COLUMNS, PD.deployed_at)
    query = apply_paging(query.order_by(PD.id), first_result, max_results)
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(query))


def count_definitions(ctx: Context, filters: dict[str, Any]) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(_filtered(filters))) or 0


def find_definition(session: Session, definition_id: str) -> m.ProcessDefinition:
    definition = session.get(PD, definition_id)
    if definition is None:
        raise NotFound(f"No matching definition with id {definition_id}")
    return definition


def find_latest_by_key(session: Session, key: str, tenant_id: str | None = None) -> m.ProcessDefinition:
    definition = session.scalars(select(PD).where(PD.key == key, _tenant_cond(PD.tenant_id, tenant_id))
                                 .order_by(PD.version.desc()).limit(1)).first()
    if definition is None:
        suffix = f"tenant-id: {tenant_id}" if tenant_id is not None else "no tenant-id"
        raise NotFound(f"No matching process definition with key: {key} and {suffix}", camunda_type="RestException")
    return definition


def get_definition(ctx: Context, definition_id: str) -> m.ProcessDefinition:
    with ctx.db.transaction(readonly=True) as session:
        return find_definition(session, definition_id)


def get_latest_by_key(ctx: Context, key: str, tenant_id: str | None = None) -> m.ProcessDefinition:
    with ctx.db.transaction(readonly=True) as session:
        return find_latest_by_key(session, key, tenant_id)


def get_xml(ctx: Context, definition: m.ProcessDefinition) -> str:
    with ctx.db.transaction(readonly=True) as session:
        data = session.scalar(select(m.Resource.data).where(
            m.Resource.deployment_id == definition.deployment_id, m.Resource.name == definition.resource_name))
    if data is None:
        raise NotFound(f"No matching definition with id {definition.id}")
    return bytes(data).decode("utf-8", errors="replace")


def set_suspended(ctx: Context, *, suspended: bool, definition_id: str | None = None, key: str | None = None,
                  include_instances: bool = False, tenant_id: str | None = None) -> None:
    from app.services.instances import set_instances_suspended

    with ctx.db.transaction() as session:
        if definition_id is not None:
            definitions = [find_definition(session, definition_id)]
        elif key is not None:
            definitions = list(session.scalars(select(PD).where(PD.key == key)))
            if not definitions:
                raise NotFound(f"No process definition found for key '{key}'")
        else:
            raise InvalidRequest("Either processDefinitionId or processDefinitionKey can be set to update "
                                 "the suspension state.")
        for definition in definitions:
            definition.suspended = suspended
        if include_instances:
            set_instances_suspended(session, [d.id for d in definitions], suspended)


def latest_versions(session: Session, keys: list[str]) -> list[m.ProcessDefinition]:
    """The latest version of each key, per tenant."""
    newer = aliased(PD)
    is_latest = ~select(newer.id).where(
        newer.key == PD.key, newer.version > PD.version,
        or_(newer.tenant_id == PD.tenant_id, and_(newer.tenant_id.is_(None), PD.tenant_id.is_(None)))).exists()
    return list(session.scalars(select(PD).where(PD.key.in_(keys), is_latest)))
