"""Deployments: upload BPMN resources, version their processes, list and delete them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.engine.parsing import BpmnParseError, is_bpmn_resource, parse_deployment
from app.errors import BpmnParseFailed, InvalidRequest, NotFound, ProcessFailure
from app.services.context import Context, utcnow
from app.store import models as m
from app.store.ids import new_id

#: Camunda's default source when none is given (used for duplicate filtering).
DEFAULT_SOURCE = "process application"


@dataclass
class NewDeployment:
    name: str | None
    source: str | None
    tenant_id: str | None
    resources: dict[str, bytes]
    duplicate_filtering: bool = False
    changed_only: bool = False
    #: Script engine name for the definitions (see Context.engine_for); None = the BPMN sandbox.
    engine: str | None = None


@dataclass
class DeploymentResult:
    deployment: m.Deployment
    #: Definitions created by this request; None when nothing new was deployed.
    definitions: list[m.ProcessDefinition] | None


def _problem_details(error: BpmnParseError) -> dict:
    return {error.resource_name: {
        "errors": [{"message": p.message, "line": p.line or 0, "column": p.column or 0,
                    "mainElementId": p.element_id, "elementIds": [p.element_id] if p.element_id else []}
                   for p in error.problems],
        "warnings": [],
    }}


def _changed_resources(session: Session, new: NewDeployment) -> dict[str, bytes]:
    """Camunda's duplicate check: compare with the latest same-named resource of earlier
    deployments with the same name, source and tenant."""
    source = new.source or DEFAULT_SOURCE
    changed: dict[str, bytes] = {}
    for name, data in new.resources.items():
        query = (select(m.Resource.data).join(m.Deployment)
                 .where(m.Resource.name == name, m.Deployment.name == new.name)
                 .where(func.coalesce(m.Deployment.source, DEFAULT_SOURCE) == source)
                 .order_by(m.Deployment.deployment_time.desc(), m.Deployment.id.desc()).limit(1))
        query = query.where(m.Deployment.tenant_id == new.tenant_id) if new.tenant_id is not None \
            else query.where(m.Deployment.tenant_id.is_(None))
        previous = session.scalars(query).first()
        if previous is None or bytes(previous) != data:
            changed[name] = data
    return changed


def _latest_named(session: Session, new: NewDeployment) -> m.Deployment | None:
    query = select(m.Deployment).where(m.Deployment.name == new.name)
    query = query.where(m.Deployment.tenant_id == new.tenant_id) if new.tenant_id is not None \
        else query.where(m.Deployment.tenant_id.is_(None))
    return session.scalars(query.order_by(m.Deployment.deployment_time.desc(), m.Deployment.id.desc())).first()


def create_deployment(ctx: Context, new: NewDeployment) -> DeploymentResult:
    if not new.resources:
        raise InvalidRequest("No deployment resources contained in the form upload.")
    with ctx.db.transaction() as session:
        resources = new.resources
        if new.duplicate_filtering or new.changed_only:
            changed = _changed_resources(session, new)
            if not changed:
                existing = _latest_named(session, new)
                if existing is not None:
                    return DeploymentResult(existing, None)
            elif new.changed_only:
                resources = changed
        bpmn = {name: data for name, data in resources.items() if is_bpmn_resource(name, data)}
        try:
            parsed = parse_deployment(bpmn) if bpmn else None
        except BpmnParseError as error:
            text = "; ".join(p.message for p in error.problems) or "invalid BPMN"
            raise BpmnParseFailed(f"ENGINE-09005 Could not parse BPMN process. Errors: {text}",
                                  details=_problem_details(error)) from None
        now = utcnow()
        deployment = m.Deployment(id=new_id(), name=new.name, source=new.source, tenant_id=new.tenant_id,
                                  deployment_time=now)
        session.add(deployment)
        for name, data in resources.items():
            session.add(m.Resource(id=new_id(), deployment_id=deployment.id, name=name, data=data))
        created: list[m.ProcessDefinition] = []
        for process in (parsed.processes if parsed else []):
            version_query = select(func.max(m.ProcessDefinition.version)).where(
                m.ProcessDefinition.key == process.key)
            version_query = version_query.where(m.ProcessDefinition.tenant_id == new.tenant_id) \
                if new.tenant_id is not None else version_query.where(m.ProcessDefinition.tenant_id.is_(None))
            version = (session.scalar(version_query) or 0) + 1
            definition = m.ProcessDefinition(
                id=f"{process.key}:{version}:{new_id()}", key=process.key, version=version,
                name=process.name, category=process.category, description=process.description,
                version_tag=process.version_tag, history_ttl=process.history_ttl,
                startable=process.startable, deployment_id=deployment.id,
                resource_name=process.resource_name, tenant_id=new.tenant_id, suspended=False,
                has_none_start=process.has_none_start_event, engine=new.engine, deployed_at=now,
            )
            session.add(definition)
            created.append(definition)
        session.flush()
        return DeploymentResult(deployment, created or None)


def get_deployment(ctx: Context, deployment_id: str) -> m.Deployment:
    with ctx.db.transaction(readonly=True) as session:
        deployment = session.get(m.Deployment, deployment_id)
        if deployment is None:
            raise NotFound(f"Deployment with id '{deployment_id}' does not exist")
        return deployment


def list_resources(ctx: Context, deployment_id: str) -> list[m.Resource]:
    with ctx.db.transaction(readonly=True) as session:
        if session.get(m.Deployment, deployment_id) is None:
            raise NotFound(f"Deployment with id '{deployment_id}' does not exist")
        return list(session.scalars(select(m.Resource).where(m.Resource.deployment_id == deployment_id)
                                    .order_by(m.Resource.id)))


def get_resource(ctx: Context, deployment_id: str, resource_id: str) -> m.Resource:
    with ctx.db.transaction(readonly=True) as session:
        resource = session.get(m.Resource, resource_id)
        if resource is None or resource.deployment_id != deployment_id:
            raise NotFound(f"Deployment resource with resource id '{resource_id}' for deployment id "
                           f"'{deployment_id}' does not exist.")
        return resource


def delete_deployment(ctx: Context, deployment_id: str, cascade: bool = False) -> None:
    from app.services.instances import terminate_instances  # late: instances imports deployments' peers

    with ctx.db.transaction() as session:
        deployment = session.get(m.Deployment, deployment_id)
        if deployment is None:
            raise NotFound(f"Deployment with id '{deployment_id}' do not exist")
        definition_ids = list(session.scalars(select(m.ProcessDefinition.id).where(
            m.ProcessDefinition.deployment_id == deployment_id)))
        running = list(session.scalars(select(m.ProcessInstance.id).where(
            m.ProcessInstance.definition_id.in_(definition_ids), m.ProcessInstance.end_time.is_(None))))
        if running and not cascade:
            raise ProcessFailure(f"Deletion of process definition without cascading failed: deployment "
                                 f"'{deployment_id}' has {len(running)} running process instance(s)")
        if cascade:
            terminate_instances(ctx, session, running, reason="deployment deleted")
            instance_ids = select(m.ProcessInstance.id).where(m.ProcessInstance.definition_id.in_(definition_ids))
            for model in (m.ActivityInstance, m.Variable, m.Incident, m.Job, m.EventSubscription):
                session.execute(delete(model).where(model.process_instance_id.in_(instance_ids)))
            session.execute(delete(m.ProcessInstance).where(m.ProcessInstance.definition_id.in_(definition_ids)))
        session.execute(delete(m.ProcessDefinition).where(m.ProcessDefinition.deployment_id == deployment_id))
        session.execute(delete(m.Resource).where(m.Resource.deployment_id == deployment_id))
        session.delete(deployment)
    for definition_id in definition_ids:
        ctx.specs.evict(definition_id)



D = m.Deployment
DEPLOYMENT_SORT = {"id": D.id, "name": D.name, "deploymentTime": D.deployment_time, "tenantId": D.tenant_id}


def _deployment_query(filters: dict):  # type: ignore[no-untyped-def]
    from sqlalchemy import or_

    f = filters
    conds = []
    if "id" in f:
        conds.append(D.id == f["id"])
    if "name" in f:
        conds.append(D.name == f["name"])
    if "nameLike" in f:
        conds.append(D.name.like(f["nameLike"]))
    if "source" in f:
        conds.append(D.source == f["source"])
    if f.get("withoutSource"):
        conds.append(D.source.is_(None))
    if "tenantIdIn" in f:
        tenant = [D.tenant_id.in_(f["tenantIdIn"])]
        if f.get("includeDeploymentsWithoutTenantId"):
            tenant.append(D.tenant_id.is_(None))
        conds.append(or_(*tenant))
    if f.get("withoutTenantId"):
        conds.append(D.tenant_id.is_(None))
    if "after" in f:
        conds.append(D.deployment_time >= f["after"])
    if "before" in f:
        conds.append(D.deployment_time <= f["before"])
    return select(D).where(*conds)


def list_deployments(ctx: Context, filters: dict, sorting=(), first_result: int = 0,  # type: ignore[no-untyped-def]
                     max_results: int | None = None) -> list[m.Deployment]:
    from app.store.querying import apply_paging, apply_sorting

    query = apply_sorting(_deployment_query(filters), sorting, DEPLOYMENT_SORT, D.id)
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(apply_paging(query, first_result, max_results)))


def count_deployments(ctx: Context, filters: dict) -> int:
    from app.store.querying import count_of

    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(_deployment_query(filters))) or 0
