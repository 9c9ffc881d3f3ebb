"""Keyfactor workflow definitions: create, read, change, version, publish, delete (contract 6).

A definition has versions 1..N (``workflow_definition_version``); the latest is the draft.
Changing a published latest version first copies it to N+1 (6.2). Publishing validates the
steps again, compiles them to BPMN (app.engine.keyfactor.compiler) and deploys that through
the ordinary deployment service with ``engine="keyfactor"``, so Keyfactor instances are
plain process instances of that process definition.

Built-in definitions (contract 14.4): "Global Enrollment Workflow" and "Global Revocation
Workflow" exist from the first start (``ensure_builtin_definitions``), with Key ``"0"``
(Baton choice: no certificate template has id 0), no steps and unpublished; they can be
changed and published like any definition but not deleted.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidRequest, NotFound
from app.services import identity
from app.services.context import Context, utcnow
from app.services.keyfactor_paging import ListRequest, Sortable
from app.services.keyfactor_query import BOOLEAN, GUID, STRING, Field, parse, to_sql
from app.store import keyfactor_models as k
from app.store import models as m

READ = "/workflows/definitions/read/"
MODIFY = "/workflows/definitions/modify/"
BUILTIN_KEY = "0"
BUILTINS = (
    ("Enrollment", "Global Enrollment Workflow", "a1d6c7e4-4f1b-5c39-9a57-0e3c2f9b1e01"),
    ("Revocation", "Global Revocation Workflow", "a1d6c7e4-4f1b-5c39-9a57-0e3c2f9b1e02"),
)

WD, WDV = k.WorkflowDefinition, k.WorkflowDefinitionVersion


@dataclass
class DefinitionView:
    id: str
    display_name: str
    description: str | None
    key: str
    key_display_name: str
    is_published: bool
    workflow_type: str
    draft_version: int
    published_version: int | None
    steps: list[dict[str, Any]] = field(default_factory=list)


def parse_guid(text: str, what: str = "Workflow definition") -> str:
    """Path ids are GUIDs compared case-insensitively; anything else names nothing (404)."""
    try:
        return str(uuid.UUID(str(text).strip()))
    except ValueError:
        raise NotFound(f"{what} '{text}' does not exist") from None


def _catalog() -> Any:
    from app.engine.keyfactor import catalog

    return catalog


def canonical_type(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("WorkflowType is required")
    from app.engine.keyfactor.steptypes import canonical_workflow_type

    canonical = canonical_workflow_type(name)
    if canonical is None:
        raise InvalidRequest(f"Unknown WorkflowType '{name}'")
    return canonical


def validated_steps(steps: Any, workflow_type: str) -> list[dict[str, Any]]:
    catalog = _catalog()
    try:
        return catalog.validate_steps(steps, workflow_type)
    except catalog.StepValidationError as error:
        raise InvalidRequest(str(error)) from None


def fresh_ids(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy whose steps, signals and conditions carry new GUIDs (a new version gets new Ids)."""
    result = copy.deepcopy(steps)
    for step in result:
        step["Id"] = str(uuid.uuid4())
        for signal in step.get("Signals") or []:
            signal["StepSignalId"] = str(uuid.uuid4())
        for condition in step.get("Conditions") or []:
            condition["Id"] = str(uuid.uuid4())
    return result


# --------------------------------------------------------------------------------------------
# Rows


def find(session: Session, definition_id: str, *, lock: bool = False) -> k.WorkflowDefinition:
    guid = parse_guid(definition_id)
    query = select(WD).where(WD.id == guid, WD.deleted.is_(False))
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"Workflow definition '{definition_id}' does not exist")
    return row


def latest_version(session: Session, definition: k.WorkflowDefinition) -> k.WorkflowDefinitionVersion:
    version = session.scalars(select(WDV).where(WDV.definition_id == definition.id)
                              .order_by(WDV.version.desc()).limit(1)).first()
    assert version is not None, "a definition always has version 1"
    return version


def find_version(session: Session, definition: k.WorkflowDefinition, number: int) -> k.WorkflowDefinitionVersion:
    version = session.scalars(select(WDV).where(WDV.definition_id == definition.id, WDV.version == number)).first()
    if version is None:
        raise NotFound(f"Workflow definition '{definition.id}' has no version {number}")
    return version


def _view(definition: k.WorkflowDefinition, shown: k.WorkflowDefinitionVersion, draft: int,
          *, exportable: bool = False) -> DefinitionView:
    steps = copy.deepcopy(shown.steps or [])
    if exportable:
        for step in steps:
            for signal in step.get("Signals") or []:
                signal["RoleIds"] = []
    return DefinitionView(
        id=definition.id, display_name=shown.display_name, description=shown.description, key=definition.key,
        key_display_name=definition.key_display_name or definition.key,
        is_published=definition.published_version == shown.version, workflow_type=definition.workflow_type,
        draft_version=draft, published_version=definition.published_version, steps=steps)


def _latest_view(session: Session, definition: k.WorkflowDefinition) -> DefinitionView:
    latest = latest_version(session, definition)
    return _view(definition, latest, latest.version)


def _editable(session: Session, definition: k.WorkflowDefinition) -> k.WorkflowDefinitionVersion:
    """The version a PUT changes: the draft, or a new copy of the published latest version (6.2)."""
    latest = latest_version(session, definition)
    now = utcnow()
    if definition.published_version != latest.version:
        latest.compiled_bpmn = None  # changed in place: a deployment made for a restart is stale now
        latest.process_definition_id = None
        latest.updated = now
        return latest
    copy_ = WDV(definition_id=definition.id, version=latest.version + 1, display_name=latest.display_name,
                description=latest.description, steps=fresh_ids(latest.steps or []), published=False,
                created=now, updated=now)
    session.add(copy_)
    return copy_


# --------------------------------------------------------------------------------------------
# Use cases


def create_definition(ctx: Context, *, display_name: Any, description: Any, key: Any,
                      workflow_type: Any) -> DefinitionView:
    identity.require_claim(ctx.actor, MODIFY)
    for name, value in (("DisplayName", display_name), ("Key", key)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequest(f"{name} is required")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("Description must be a string")
    canonical = canonical_type(workflow_type)
    try:
        with ctx.db.transaction() as session:
            if session.scalars(select(WD.id).where(WD.workflow_type == canonical, WD.key == key,
                                                   WD.deleted.is_(False))).first() is not None:
                raise InvalidRequest(f"A {canonical} workflow definition with Key '{key}' already exists; only one "
                                     "definition can be created for each combination of WorkflowType and Key")
            return _insert(session, str(uuid.uuid4()), canonical, key, display_name, description, builtin=False)
    except IntegrityError:
        # Another request created the same WorkflowType + Key between our check and our insert.
        raise InvalidRequest(f"A {canonical} workflow definition with Key '{key}' already exists") from None


def _insert(session: Session, definition_id: str, workflow_type: str, key: str, display_name: str,
            description: str | None, *, builtin: bool) -> DefinitionView:
    now = utcnow()
    definition = WD(id=definition_id, workflow_type=workflow_type, key=key, builtin=builtin, deleted=False,
                    published_version=None, created=now)
    session.add(definition)
    session.flush()
    version = WDV(definition_id=definition.id, version=1, display_name=display_name, description=description,
                  steps=[], published=False, created=now, updated=now)
    session.add(version)
    session.flush()
    return _view(definition, version, 1)


def ensure_builtin_definitions(ctx: Context) -> None:
    """Create the Global Enrollment/Revocation definitions unless they exist (idempotent, race-safe)."""
    for workflow_type, name, definition_id in BUILTINS:
        with ctx.db.transaction() as session:
            if session.get(WD, definition_id) is not None:
                continue
        try:
            with ctx.db.transaction() as session:
                _insert(session, definition_id, workflow_type, BUILTIN_KEY, name, None, builtin=True)
        except IntegrityError:
            pass  # another server process created it first


DEFINITION_FIELDS = {
    "DisplayName": Field("DisplayName", STRING), "Id": Field("Id", GUID),
    "IsPublished": Field("IsPublished", BOOLEAN), "WorkflowType": Field("WorkflowType", STRING),
}


def list_definitions(ctx: Context, request: ListRequest) -> list[DefinitionView]:
    identity.require_claim(ctx.actor, READ)
    node = parse(request.query, DEFINITION_FIELDS)
    latest = (select(WDV.definition_id, func.max(WDV.version).label("version"))
              .group_by(WDV.definition_id).subquery())
    columns = {"DisplayName": WDV.display_name, "Id": WD.id, "IsPublished": WD.published_version.is_not(None),
               "WorkflowType": WD.workflow_type}
    sortable = Sortable({
        "displayname": func.lower(WDV.display_name), "id": WD.id, "ispublished": WD.published_version.is_not(None),
        "workflowtype": func.lower(WD.workflow_type), "key": func.lower(WD.key), "keydisplayname": func.lower(WD.key),
        "draftversion": WDV.version, "publishedversion": WD.published_version,
    }, "DisplayName")
    order = sortable.resolve(request.sort_field)
    query = (select(WD, WDV).join(latest, latest.c.definition_id == WD.id)
             .join(WDV, (WDV.definition_id == WD.id) & (WDV.version == latest.c.version))
             .where(WD.deleted.is_(False), to_sql(node, columns))
             .order_by(order.desc() if request.descending else order.asc(), WD.created, WD.id)
             .offset(request.offset).limit(request.limit))
    with ctx.db.transaction() as session:
        return [_view(d, v, v.version) for d, v in session.execute(query).all()]


def get_definition(ctx: Context, definition_id: str, version: int | None = None,
                   exportable: bool = False) -> DefinitionView:
    identity.require_claim(ctx.actor, READ)
    with ctx.db.transaction() as session:
        definition = find(session, definition_id)
        latest = latest_version(session, definition)
        shown = latest if version is None else find_version(session, definition, version)
        return _view(definition, shown, latest.version, exportable=exportable)


def update_definition(ctx: Context, definition_id: str, *, display_name: Any, description: Any) -> DefinitionView:
    identity.require_claim(ctx.actor, MODIFY)
    if not isinstance(display_name, str) or not display_name.strip():
        raise InvalidRequest("DisplayName is required")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("Description must be a string")
    with ctx.db.transaction() as session:
        definition = find(session, definition_id, lock=True)
        version = _editable(session, definition)
        version.display_name = display_name
        version.description = description  # PUT replaces: a missing Description is cleared
        session.flush()
        return _latest_view(session, definition)


def set_steps(ctx: Context, definition_id: str, steps: Any) -> DefinitionView:
    identity.require_claim(ctx.actor, MODIFY)
    with ctx.db.transaction() as session:
        definition = find(session, definition_id, lock=True)
        normalized = fresh_ids(validated_steps(steps, definition.workflow_type))
        version = _editable(session, definition)
        version.steps = normalized
        session.flush()
        return _latest_view(session, definition)


def delete_definition(ctx: Context, definition_id: str) -> None:
    from app.services.keyfactor_views import KI, PI, RUNNING, SUSPENDED, status_expression

    identity.require_claim(ctx.actor, MODIFY)
    with ctx.db.transaction() as session:
        definition = find(session, definition_id, lock=True)
        if definition.builtin:
            raise InvalidRequest(f"The built-in workflow definition '{definition.id}' cannot be deleted")
        active = session.scalars(select(KI.process_instance_id).join(PI, PI.id == KI.process_instance_id)
                                 .where(KI.definition_id == definition.id,
                                        status_expression().in_((RUNNING, SUSPENDED))).limit(1)).first()
        if active is not None:
            raise InvalidRequest(f"Workflow definition '{definition.id}' has running or suspended instances "
                                 f"(e.g. '{active}'); stop or delete them first")
        # Kept as a row (hidden everywhere) so finished instances keep their step names.
        definition.deleted = True


# --------------------------------------------------------------------------------------------
# Publishing and deploying


def process_key(definition_id: str) -> str:
    # The compiler reserves ids starting with kf_/Step_/Flow_; this one is an NCName of our own.
    return "KeyfactorWorkflow_" + definition_id.replace("-", "_")


def _compile(definition: k.WorkflowDefinition, version: k.WorkflowDefinitionVersion) -> bytes:
    from app.engine.keyfactor.compiler import compile_definition

    steps = validated_steps(version.steps or [], definition.workflow_type)
    try:
        return compile_definition(process_key(definition.id), version.display_name, definition.workflow_type, steps)
    except _catalog().StepValidationError as error:
        raise InvalidRequest(str(error)) from None


def _deploy(ctx: Context, definition: k.WorkflowDefinition, version: k.WorkflowDefinitionVersion,
            bpmn: bytes) -> str:
    from app.services.deployments import NewDeployment, create_deployment

    result = create_deployment(ctx.as_actor(None), NewDeployment(
        name=f"Keyfactor {definition.workflow_type} workflow {definition.id} v{version.version}",
        source="keyfactor", tenant_id=None, resources={f"{process_key(definition.id)}.bpmn": bpmn},
        engine="keyfactor"))
    if not result.definitions:
        raise InvalidRequest(f"Version {version.version} of workflow definition '{definition.id}' compiled to "
                             "nothing executable")
    return result.definitions[0].id


def _record_deployment(session: Session, version: k.WorkflowDefinitionVersion, bpmn: bytes,
                       process_definition_id: str, stamp: Any) -> None:
    from app.services.keyfactor_views import activity_id_of

    if version.updated != stamp:
        raise Conflict(f"Version {version.version} of workflow definition '{version.definition_id}' changed while "
                       "it was being deployed; please retry")
    version.compiled_bpmn = bpmn
    version.process_definition_id = process_definition_id
    roles = {(activity_id_of(step["UniqueName"]), int(role))
             for step in version.steps or [] for signal in step.get("Signals") or []
             for role in signal.get("RoleIds") or []}
    for activity_id, role_id in sorted(roles):
        session.add(k.ApprovalRole(process_definition_id=process_definition_id, activity_id=activity_id,
                                   role_id=role_id))


def publish(ctx: Context, definition_id: str) -> DefinitionView:
    identity.require_claim(ctx.actor, MODIFY)
    with ctx.db.transaction() as session:
        definition = find(session, definition_id)
        latest = latest_version(session, definition)
        if definition.published_version == latest.version:
            return _view(definition, latest, latest.version)  # already published: nothing changes
        stamp, bpmn = latest.updated, _compile(definition, latest)
        deployed = latest.process_definition_id if latest.compiled_bpmn == bpmn else None
    process_definition_id = deployed or _deploy(ctx, definition, latest, bpmn)
    with ctx.db.transaction() as session:
        definition = find(session, definition_id, lock=True)
        version = find_version(session, definition, latest.version)
        if version.process_definition_id != process_definition_id:
            _record_deployment(session, version, bpmn, process_definition_id, stamp)
        version.published = True
        definition.published_version = version.version
        session.flush()
        return _latest_view(session, definition)


def deployed_version(ctx: Context, definition_id: str, number: int | None
                     ) -> tuple[k.WorkflowDefinition, k.WorkflowDefinitionVersion, m.ProcessDefinition]:
    """The version an instance should run on (``None`` = the published one), deployed if needed.

    Any existing version may be named (restart, contract 11.2); an unpublished one is compiled
    and deployed on first use without being published.
    """
    with ctx.db.transaction() as session:
        definition = find(session, definition_id)
        if number is None:
            if definition.published_version is None:
                raise InvalidRequest(f"Workflow definition '{definition.id}' has no published version")
            number = definition.published_version
        version = session.scalars(select(WDV).where(WDV.definition_id == definition.id,
                                                    WDV.version == number)).first()
        if version is None:
            raise InvalidRequest(f"Workflow definition '{definition.id}' has no version {number}")
        if version.process_definition_id is not None:
            process = session.get(m.ProcessDefinition, version.process_definition_id)
            if process is not None:
                return definition, version, process
        stamp, bpmn = version.updated, _compile(definition, version)
    process_definition_id = _deploy(ctx, definition, version, bpmn)
    with ctx.db.transaction() as session:
        version = session.get(WDV, version.id)
        assert version is not None
        _record_deployment(session, version, bpmn, process_definition_id, stamp)
        process = session.get(m.ProcessDefinition, process_definition_id)
        assert process is not None
        return definition, version, process
