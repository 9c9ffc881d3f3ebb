"""Paging and sorting of the Keyfactor list endpoints (contract section 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import InvalidRequest


@dataclass(frozen=True)
class ListRequest:
    """Section 4's parameters, already checked for form by the API layer."""

    query: str | None = None
    page: int = 1
    limit: int = 50
    sort_field: str | None = None
    descending: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class Sortable:
    """The sort keys of an endpoint: lower-cased name → column (SQL) or getter (catalogs)."""

    keys: Mapping[str, Any] = field(default_factory=dict)
    default: str = ""

    def resolve(self, name: str | None) -> Any:
        wanted = (name or self.default).strip()
        key = self.keys.get(wanted.lower())
        if key is None:
            raise InvalidRequest(f"Unknown SortField '{name}'; use one of {', '.join(sorted(self.names()))}")
        return key

    def names(self) -> Sequence[str]:
        return list(self.keys)


def page_of(items: list[Any], request: ListRequest, sortable: Sortable) -> list[Any]:
    """Sort and page an in-memory list (stable: ties keep the catalog's order)."""
    getter = sortable.resolve(request.sort_field)

    def key(item: Any) -> tuple[bool, Any]:
        value = getter(item)
        if isinstance(value, str):
            value = value.lower()
        return (value is None, value if value is not None else 0)
    ordered = sorted(items, key=key, reverse=request.descending)
    return ordered[request.offset:request.offset + request.limit]
