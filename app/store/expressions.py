"""SQL expressions the query builders share that plain SQLAlchemy does not give portably.

- :class:`duration_millis`: ``end - start`` in milliseconds on SQLite and PostgreSQL.
- :func:`at_or_after` / :func:`at_or_before`: inclusive date bounds at millisecond precision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class duration_millis(FunctionElement):  # noqa: N801 - SQL function naming
    """``end - start`` in milliseconds (NULL while ``end`` is NULL), portable across backends."""

    type = Float()
    name = "duration_millis"
    inherit_cache = True


@compiles(duration_millis)
def _duration_default(element: duration_millis, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # Cast: EXTRACT gives numeric on PostgreSQL; keyset paging compares against float values.
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) * 1000 AS DOUBLE PRECISION)"


@compiles(duration_millis, "sqlite")
def _duration_sqlite(element: duration_millis, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400000.0)"


def _ms_floor(when: datetime) -> datetime:
    return when - timedelta(microseconds=when.microsecond % 1000)


def at_or_after(column: Any, when: datetime) -> ColumnElement[bool]:
    """Inclusive lower bound at millisecond precision (what clients see and send back)."""
    ceiling = _ms_floor(when)
    if ceiling != when:
        ceiling += timedelta(milliseconds=1)
    return column >= ceiling


def at_or_before(column: Any, when: datetime) -> ColumnElement[bool]:
    """Inclusive upper bound at millisecond precision: rows are stored with microseconds, but a
    time sent back from a response (truncated to ms) must still match its own row."""
    return column < _ms_floor(when) + timedelta(milliseconds=1)
