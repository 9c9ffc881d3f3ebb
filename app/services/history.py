"""History reads: one historic process instance, historic activity instances, historic variables.

Historic process instance lists live in app/services/instance_queries.py (shared with the
runtime list and restart). Filters arrive as dicts keyed by Camunda filter names with parsed
values (app/api/camunda/params.py); absent filters are not in them.

Historic variable instances are the rows of the ``variable`` table: one per (instance, name)
holding the last value, state CREATED or DELETED. They are all process-scope, so their
execution and activity instance are the process instance itself. Filters Camunda defines that
this model cannot answer (``taskIdIn``: task-local variables are not kept in history) are
declared unsupported by the API layer; case filters match nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select

from app import values
from app.errors import InvalidRequest, NotFound
from app.services.context import Context
from app.services.instance_queries import HistoricProcessInstance, historic
from app.services.instance_state import stored_value
from app.store import models as m
from app.store.expressions import at_or_after, at_or_before, duration_millis
from app.store.querying import Sorting, apply_paging, apply_sorting, count_of, variable_value_condition

PI = m.ProcessInstance
PD = m.ProcessDefinition
AI = m.ActivityInstance
V = m.Variable

VARIABLE_VALUE_MESSAGE = ("Only a single variable value parameter specified: variable name and value are required "
                          "to be able to query after a specific variable value.")


def get_historic_instance(ctx: Context, instance_id: str) -> HistoricProcessInstance:
    """Any instance Baton started, running or ended; 404 text exact (contract 12.1)."""
    query = select(PI, PD.name, PD.version).outerjoin(PD, PD.id == PI.definition_id).where(PI.id == instance_id)
    with ctx.db.transaction(readonly=True) as session:
        row = session.execute(query).first()
    if row is None:
        raise NotFound(f"Historic process instance with id {instance_id} does not exist")
    return historic(row)


# --------------------------------------------------------------------------------------------
# Activity instances (contract 13.1)


@dataclass(frozen=True)
class HistoricActivity:
    activity: m.ActivityInstance
    root_process_instance_id: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probing before the fields exist
            raise AttributeError(name)
        return getattr(self.activity, name)


ACTIVITY_SORT_KEYS: dict[str, Any] = {
    "activityInstanceId": AI.id, "instanceId": AI.process_instance_id, "executionId": AI.execution_id,
    "activityId": AI.activity_id, "activityName": AI.activity_name, "activityType": AI.activity_type,
    "startTime": AI.start_time, "endTime": AI.end_time, "duration": duration_millis(AI.start_time, AI.end_time),
    "definitionId": AI.definition_id, "occurrence": AI.seq, "tenantId": AI.tenant_id,
}

_ACTIVITY_EQUALS = {
    "activityInstanceId": AI.id, "processInstanceId": AI.process_instance_id, "processDefinitionId": AI.definition_id,
    "executionId": AI.execution_id, "activityId": AI.activity_id, "activityName": AI.activity_name,
    "activityType": AI.activity_type, "taskAssignee": AI.assignee,
}


def _activity_conditions(f: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for name, column in _ACTIVITY_EQUALS.items():
        if f.get(name) is not None:
            conds.append(column == f[name])
    if f.get("finished"):
        conds.append(AI.end_time.is_not(None))
    if f.get("unfinished"):
        conds.append(AI.end_time.is_(None))
    if f.get("canceled"):
        conds.append(AI.canceled.is_(True))
    if f.get("completeScope"):
        conds.append(AI.complete_scope.is_(True))
    # Inclusive bounds at millisecond precision, as for process instances.
    if f.get("startedAfter") is not None:
        conds.append(at_or_after(AI.start_time, f["startedAfter"]))
    if f.get("startedBefore") is not None:
        conds.append(at_or_before(AI.start_time, f["startedBefore"]))
    if f.get("finishedAfter") is not None:
        conds.append(at_or_after(AI.end_time, f["finishedAfter"]))
    if f.get("finishedBefore") is not None:
        conds.append(at_or_before(AI.end_time, f["finishedBefore"]))
    if f.get("tenantIdIn") is not None:
        conds.append(AI.tenant_id.in_(f["tenantIdIn"]))
    if f.get("withoutTenantId"):
        conds.append(AI.tenant_id.is_(None))
    return conds


def activity_query(filters: Mapping[str, Any]) -> Select:
    """``SELECT activity_instance, root instance id`` restricted by the filters of contract 13.1."""
    root = func.coalesce(PI.root_instance_id, AI.process_instance_id)
    return (select(AI, root).select_from(AI).outerjoin(PI, PI.id == AI.process_instance_id)
            .where(*_activity_conditions(filters)))


def list_activities(ctx: Context, filters: Mapping[str, Any], sorting: Sorting = (), first_result: int = 0,
                    max_results: int | None = None) -> list[HistoricActivity]:
    # Ties: creation order (seq), then id for rows written in the same instant.
    query = apply_sorting(activity_query(filters), sorting, ACTIVITY_SORT_KEYS, AI.seq).order_by(AI.id)
    with ctx.db.transaction(readonly=True) as session:
        rows = session.execute(apply_paging(query, first_result, max_results)).all()
    return [HistoricActivity(activity, root) for activity, root in rows]


def count_activities(ctx: Context, filters: Mapping[str, Any]) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(activity_query(filters))) or 0


def get_activity(ctx: Context, activity_instance_id: str) -> HistoricActivity:
    with ctx.db.transaction(readonly=True) as session:
        row = session.execute(activity_query({"activityInstanceId": activity_instance_id})).first()
    if row is None:
        raise NotFound(f"Historic activity instance with id '{activity_instance_id}' does not exist")
    return HistoricActivity(row[0], row[1])


# --------------------------------------------------------------------------------------------
# Variable instances (OpenAPI /history/variable-instance)


@dataclass(frozen=True)
class HistoricVariable:
    variable: m.Variable
    typed: values.TypedValue
    root_process_instance_id: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probing before the fields exist
            raise AttributeError(name)
        return getattr(self.variable, name)


VARIABLE_SORT_KEYS: dict[str, Any] = {
    "instanceId": V.process_instance_id, "variableName": V.name, "tenantId": V.tenant_id,
}


def _variable_conditions(f: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    names_ignore_case = bool(f.get("variableNamesIgnoreCase"))
    values_ignore_case = bool(f.get("variableValuesIgnoreCase"))
    conds: list[ColumnElement[bool]] = []
    if f.get("variableName") is not None:
        name = f["variableName"]
        conds.append(func.lower(V.name) == name.lower() if names_ignore_case else V.name == name)
    if f.get("variableNameLike") is not None:
        pattern = f["variableNameLike"]
        conds.append(func.lower(V.name).like(pattern.lower()) if names_ignore_case else V.name.like(pattern))
    if "variableValue" in f:
        if f.get("variableName") is None:
            raise InvalidRequest(VARIABLE_VALUE_MESSAGE)
        conds.append(variable_value_condition("eq", f["variableValue"], values_ignore_case))
    if f.get("variableNameIn") is not None:
        conds.append(V.name.in_(f["variableNameIn"]))
    if f.get("variableTypeIn") is not None:
        # Camunda's type names are lower case ("string", "integer"); compare case-insensitively.
        conds.append(func.lower(V.type).in_([t.lower() for t in f["variableTypeIn"]]))
    if not f.get("includeDeleted"):
        conds.append(V.state == "CREATED")
    if f.get("processInstanceId") is not None:
        conds.append(V.process_instance_id == f["processInstanceId"])
    if f.get("processInstanceIdIn") is not None:
        conds.append(V.process_instance_id.in_(f["processInstanceIdIn"]))
    if f.get("processDefinitionId") is not None:
        conds.append(V.definition_id == f["processDefinitionId"])
    if f.get("processDefinitionKey") is not None:
        conds.append(V.definition_key == f["processDefinitionKey"])
    if f.get("executionIdIn") is not None:
        conds.append(V.process_instance_id.in_(f["executionIdIn"]))  # process scope: execution = instance
    if f.get("activityInstanceIdIn") is not None:
        conds.append(func.coalesce(V.activity_instance_id, V.process_instance_id).in_(f["activityInstanceIdIn"]))
    for name in ("caseInstanceId", "caseExecutionIdIn", "caseActivityIdIn"):
        if f.get(name) is not None:
            conds.append(false())
    if f.get("tenantIdIn") is not None:
        conds.append(V.tenant_id.in_(f["tenantIdIn"]))
    if f.get("withoutTenantId"):
        conds.append(V.tenant_id.is_(None))
    return conds


def variable_query(filters: Mapping[str, Any]) -> Select:
    """``SELECT variable, root instance id``; deleted variables only with ``includeDeleted``.

    ``variableValue`` (with ``variableName``) compares like a POST variable filter: a string
    matches String variables, a number Integer/Long/Double ones, a boolean Boolean ones.
    """
    root = func.coalesce(PI.root_instance_id, V.process_instance_id)
    return (select(V, root).select_from(V).outerjoin(PI, PI.id == V.process_instance_id)
            .where(*_variable_conditions(filters)))


def _historic_variable(row: Any) -> HistoricVariable:
    variable, root = row
    return HistoricVariable(variable, stored_value(variable), root)


def list_variables(ctx: Context, filters: Mapping[str, Any], sorting: Sorting = (), first_result: int = 0,
                   max_results: int | None = None) -> list[HistoricVariable]:
    query = apply_sorting(variable_query(filters), sorting, VARIABLE_SORT_KEYS, V.id)  # ids are time-ordered
    with ctx.db.transaction(readonly=True) as session:
        return [_historic_variable(row) for row in session.execute(apply_paging(query, first_result, max_results))]


def count_variables(ctx: Context, filters: Mapping[str, Any]) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(variable_query(filters))) or 0


def get_variable(ctx: Context, variable_id: str) -> HistoricVariable:
    """One historic variable by id, deleted ones included."""
    with ctx.db.transaction(readonly=True) as session:
        row = session.execute(variable_query({"includeDeleted": True}).where(V.id == variable_id)).first()
    if row is None:
        raise NotFound(f"Historic variable instance with Id '{variable_id}' does not exist.")
    return _historic_variable(row)
