"""``GET|POST /task`` and ``/task/count``: the user-task query of contract 9.2.

``filters`` and each ``or_queries`` entry are the dicts produced by ``QuerySpec`` (see
``app/api/camunda/task_query.py``). The top-level filters are ANDed; inside one OR group the
filters are ORed; the groups are ANDed with the rest, as in Camunda.

Decisions worth knowing (beyond contract 9.2):

- ``taskVariables``: Baton has no task-local variables; ``GET /task/{id}/variables`` shows the
  variables of the task's process instance, so ``taskVariables`` filters on exactly those, i.e.
  it behaves like ``processVariables``.
- ``name``, ``nameNotEqual`` and ``description`` compare case-insensitively, as in Camunda
  (CAM-6363, CAM-12186). The ``…Like`` filters are case-sensitive SQL ``LIKE`` (contract 5.1).
- Date filters compare at millisecond precision, the precision Baton emits (contract 3).
- ``parentTaskId``: Baton has no sub-tasks, so any value matches nothing.
- ``active`` / ``suspended`` follow the task's suspension flag (that of its instance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select

from app.errors import InvalidRequest
from app.services.context import Context
from app.store import models as m
from app.store.querying import Sorting, any_of, apply_paging, apply_sorting, count_of, variable_condition

T = m.Task
PI = m.ProcessInstance
PD = m.ProcessDefinition
TC = m.TaskCandidate

Filters = Mapping[str, Any]

SORT_COLUMNS: dict[str, Any] = {
    "instanceId": T.process_instance_id,
    "dueDate": T.due,
    "executionId": T.execution_id,
    "assignee": T.assignee,
    "created": T.created,
    "lastUpdated": T.last_updated,
    "description": T.description,
    "id": T.id,
    "name": T.name,
    "nameCaseInsensitive": func.lower(T.name),
    "priority": T.priority,
}

_EQUALS = {
    "taskId": T.id, "processInstanceId": T.process_instance_id, "processInstanceBusinessKey": PI.business_key,
    "processDefinitionId": T.definition_id, "processDefinitionKey": T.definition_key,
    "processDefinitionName": PD.name, "executionId": T.execution_id, "assignee": T.assignee,
    "owner": T.owner, "taskDefinitionKey": T.task_definition_key, "priority": T.priority,
}
_IN = {
    "taskIdIn": T.id, "processInstanceIdIn": T.process_instance_id,
    "processInstanceBusinessKeyIn": PI.business_key, "processDefinitionKeyIn": T.definition_key,
    "activityInstanceIdIn": T.activity_instance_id, "tenantIdIn": T.tenant_id, "assigneeIn": T.assignee,
    "taskDefinitionKeyIn": T.task_definition_key,
}
_LIKE = {
    "processInstanceBusinessKeyLike": PI.business_key, "processDefinitionNameLike": PD.name,
    "assigneeLike": T.assignee, "taskDefinitionKeyLike": T.task_definition_key, "nameLike": T.name,
    "descriptionLike": T.description,
}
_IGNORE_CASE_EQUALS = {"name": T.name, "description": T.description}
# (column, operator) of each date filter; "on"/"after"/"before" are read at millisecond precision.
_DATES = {
    "dueDate": (T.due, "on"), "dueAfter": (T.due, "after"), "dueBefore": (T.due, "before"),
    "followUpDate": (T.follow_up, "on"), "followUpAfter": (T.follow_up, "after"),
    "followUpBefore": (T.follow_up, "before"), "createdOn": (T.created, "on"),
    "createdAfter": (T.created, "after"), "createdBefore": (T.created, "before"),
}
_FLAGS = {
    "withoutTenantId": T.tenant_id.is_(None), "assigned": T.assignee.is_not(None),
    "unassigned": T.assignee.is_(None), "withoutDueDate": T.due.is_(None),
    "active": T.suspended.is_(False), "suspended": T.suspended.is_(True),
}
_INSTANCE_FILTERS = ("processInstanceBusinessKey", "processInstanceBusinessKeyIn", "processInstanceBusinessKeyLike")
_DEFINITION_FILTERS = ("processDefinitionName", "processDefinitionNameLike")
_CANDIDATE_FILTERS = ("candidateUser", "candidateGroup", "candidateGroups", "withCandidateGroups",
                      "withCandidateUsers", "withoutCandidateGroups", "withoutCandidateUsers")
_MS = timedelta(milliseconds=1)


def task_query(filters: Filters, or_queries: Sequence[Filters] = ()) -> Select:
    """All tasks matching ``filters`` and every OR group; unordered."""
    _check_candidate_combination(filters)
    groups = [filters, *or_queries]
    query = select(T)
    # Outer joins: inside an OR group a task without a match must still be able to qualify.
    if any(name in group for group in groups for name in _INSTANCE_FILTERS):
        query = query.outerjoin(PI, PI.id == T.process_instance_id)
    if any(name in group for group in groups for name in _DEFINITION_FILTERS):
        query = query.outerjoin(PD, PD.id == T.definition_id)
    where = _conditions(filters)
    where.extend(any_of(_conditions(group)) for group in or_queries)
    return query.where(*where)


def list_tasks(ctx: Context, filters: Filters, or_queries: Sequence[Filters] = (), sorting: Sorting = (),
               first_result: int = 0, max_results: int | None = None) -> list[m.Task]:
    # Ties are broken by creation order (contract 5.3); task ids are not time-ordered, so
    # ``created`` comes first and the id only separates tasks created in the same instant.
    query = apply_sorting(task_query(filters, or_queries), sorting, SORT_COLUMNS, T.created).order_by(T.id)
    query = apply_paging(query, first_result, max_results)
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(query))


def count_tasks(ctx: Context, filters: Filters, or_queries: Sequence[Filters] = ()) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return session.scalar(count_of(task_query(filters, or_queries))) or 0


# --- conditions --------------------------------------------------------------------------------


def _conditions(f: Filters) -> list[ColumnElement[bool]]:
    """One condition per filter present in ``f`` (the candidate filters give one together)."""
    conds: list[ColumnElement[bool]] = []
    for name, column in _EQUALS.items():
        if name in f:
            conds.append(column == f[name])
    for name, column in _IN.items():
        if name in f:
            conds.append(column.in_(f[name]))
    for name, column in _LIKE.items():
        if name in f:
            conds.append(column.like(f[name]))
    for name, column in _IGNORE_CASE_EQUALS.items():
        if name in f:
            conds.append(func.lower(column) == func.lower(f[name]))
    if "nameNotEqual" in f:
        conds.append(func.lower(T.name) != func.lower(f["nameNotEqual"]))
    if "nameNotLike" in f:
        conds.append(~T.name.like(f["nameNotLike"]))
    if "assigneeNotIn" in f:
        # SQL NOT IN: unassigned tasks do not match either, as in Camunda.
        conds.append(T.assignee.not_in(f["assigneeNotIn"]))
    if "minPriority" in f:
        conds.append(T.priority >= f["minPriority"])
    if "maxPriority" in f:
        conds.append(T.priority <= f["maxPriority"])
    for name, (column, operator) in _DATES.items():
        if name in f:
            conds.append(_date_condition(column, operator, f[name]))
    for name, cond in _FLAGS.items():
        if f.get(name):
            conds.append(cond)
    if "parentTaskId" in f:
        conds.append(false())  # no sub-tasks in Baton
    candidate = _candidate_condition(f)
    if candidate is not None:
        conds.append(candidate)
    conds.extend(_variable_conditions(f))
    return conds


def _date_condition(column: Any, operator: str, value: datetime) -> ColumnElement[bool]:
    # Stored times keep microseconds but clients only ever see milliseconds: compare the
    # millisecond a stored time falls in, so a ``created`` value read from a task finds that
    # task with ``createdOn`` and excludes it from ``createdAfter`` (Camunda stores milliseconds).
    start = value.replace(microsecond=value.microsecond // 1000 * 1000)
    if operator == "on":
        return and_(column >= start, column < start + _MS)
    if operator == "after":
        return column >= start + _MS
    return column < start


def _check_candidate_combination(f: Filters) -> None:
    """Camunda refuses these pairs outside OR groups (its TaskQueryImpl messages)."""
    if "candidateUser" in f and "candidateGroup" in f:
        raise InvalidRequest("Invalid query usage: cannot set both candidateUser and candidateGroup")
    if "candidateUser" in f and "candidateGroups" in f:
        raise InvalidRequest("Invalid query usage: cannot set both candidateUser and candidateGroupIn")
    if "candidateGroup" in f and "candidateGroups" in f:
        raise InvalidRequest("Invalid query usage: cannot set both candidateGroup and candidateGroupIn")


def _candidate_link(*conds: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(TC.task_id).where(TC.task_id == T.id, *conds))


def _candidate_condition(f: Filters) -> ColumnElement[bool] | None:
    """The candidate filters as one condition, so an OR group treats them as one alternative."""
    if not any(f.get(name) for name in _CANDIDATE_FILTERS):
        return None
    conds: list[ColumnElement[bool]] = []
    offered: list[ColumnElement[bool]] = []
    user = f.get("candidateUser")
    if user is not None:
        # Offered to the user, or to a group (a Baton role) the user belongs to.
        user_groups = select(m.Role.name).join(m.RoleMember, m.RoleMember.role_id == m.Role.id) \
            .where(m.RoleMember.user_id == user)
        offered.append(and_(TC.kind == "user", TC.value == user))
        offered.append(and_(TC.kind == "group", TC.value.in_(user_groups)))
    groups = ([f["candidateGroup"]] if "candidateGroup" in f else []) + list(f.get("candidateGroups", []))
    if groups:
        offered.append(and_(TC.kind == "group", TC.value.in_(groups)))
    if offered:
        conds.append(_candidate_link(or_(*offered)))
    if f.get("withCandidateGroups"):
        conds.append(_candidate_link(TC.kind == "group"))
    if f.get("withCandidateUsers"):
        conds.append(_candidate_link(TC.kind == "user"))
    if f.get("withoutCandidateGroups"):
        conds.append(~_candidate_link(TC.kind == "group"))
    if f.get("withoutCandidateUsers"):
        conds.append(~_candidate_link(TC.kind == "user"))
    if not f.get("includeAssignedTasks"):
        # Camunda's rule: a candidate query shows only tasks nobody has taken yet.
        conds.append(T.assignee.is_(None))
    return and_(*conds)


def _variable_conditions(f: Filters) -> list[ColumnElement[bool]]:
    names_ic = bool(f.get("variableNamesIgnoreCase"))
    values_ic = bool(f.get("variableValuesIgnoreCase"))
    # taskVariables == processVariables in Baton (see the module docstring).
    return [
        variable_condition(T.process_instance_id, vf.name, vf.operator, vf.value,
                           names_ignore_case=names_ic, values_ignore_case=values_ic)
        for key in ("taskVariables", "processVariables")
        for vf in f.get(key, ())
    ]
