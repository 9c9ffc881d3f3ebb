"""Building blocks every list query uses: sorting with Camunda's null rules, paging, variable filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from app.store import models as m

Sorting = Sequence[tuple[str, bool]]  # (sort key, ascending)


def apply_sorting(query: Select, sorting: Sorting, columns: Mapping[str, Any], tiebreak: Any) -> Select:
    """Order by the requested keys; nulls first ascending, last descending; creation order breaks ties."""
    clauses = []
    for key, ascending in sorting:
        column = columns[key]
        clauses.append(column.asc().nulls_first() if ascending else column.desc().nulls_last())
    clauses.append(tiebreak.asc())
    return query.order_by(*clauses)


def apply_paging(query: Select, first_result: int = 0, max_results: int | None = None) -> Select:
    if first_result:
        query = query.offset(first_result)
    if max_results is not None:
        query = query.limit(max_results)
    return query


def count_of(query: Select) -> Select:
    return select(func.count()).select_from(query.order_by(None).subquery())


def like(column: Any, pattern: str) -> ColumnElement[bool]:
    return column.like(pattern)


def in_list(column: Any, items: Iterable[Any]) -> ColumnElement[bool]:
    return column.in_(list(items))


def _variable_value_condition(operator: str, value: Any, values_ignore_case: bool) -> ColumnElement[bool]:
    v = m.Variable
    if isinstance(value, bool):
        target, column, kind = (1 if value else 0), v.long_value, ("Boolean",)
    elif isinstance(value, int | float):
        target, column, kind = float(value), v.double_value, ("Integer", "Long", "Double")
    elif isinstance(value, datetime):
        target, column, kind = int(value.timestamp() * 1000), v.long_value, ("Date",)
    elif value is None:
        cond = v.type == "Null"
        return cond if operator == "eq" else ~cond
    else:
        target, column, kind = str(value), v.text_value, ("String",)
        if values_ignore_case:
            target, column = target.lower(), func.lower(v.text_value)
    type_ok = v.type.in_(kind)
    ops = {
        "eq": column == target, "neq": column != target, "gt": column > target, "gteq": column >= target,
        "lt": column < target, "lteq": column <= target,
    }
    if operator in ops:
        return and_(type_ok, ops[operator])
    if operator == "like":
        return and_(type_ok, column.like(target))
    if operator == "notLike":
        return and_(type_ok, ~column.like(target))
    raise ValueError(f"Invalid variable comparator specified: {operator}")


def variable_condition(instance_id_column: Any, name: str, operator: str, value: Any, *,
                       names_ignore_case: bool = False, values_ignore_case: bool = False) -> ColumnElement[bool]:
    """An EXISTS over the instance's process variables (last values; also for ended instances)."""
    v = m.Variable
    name_cond = func.lower(v.name) == name.lower() if names_ignore_case else v.name == name
    return exists(select(v.id).where(v.process_instance_id == instance_id_column, v.state == "CREATED",
                                     name_cond, _variable_value_condition(operator, value, values_ignore_case)))


def any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*conditions) if conditions else and_(True)


def variable_value_condition(operator: str, value: Any, values_ignore_case: bool = False) -> ColumnElement[bool]:
    """The value part of a variable filter on ``variable`` rows themselves (historic variable queries)."""
    return _variable_value_condition(operator, value, values_ignore_case)
