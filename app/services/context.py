"""What every service call gets: the database, settings, caches and the acting user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.config import Settings
from app.engine.cache import SpecCache
from app.store.db import Database


@dataclass(frozen=True)
class Actor:
    user_id: str
    is_admin: bool = False
    groups: tuple[str, ...] = ()
    role_ids: tuple[int, ...] = ()
    claims: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Context:
    db: Database
    settings: Settings
    specs: SpecCache
    script_engine: Any
    actor: Actor | None = None
    #: Script engines for definitions deployed with ``engine=<name>`` (e.g. compiled Keyfactor workflows).
    engines: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str | None:
        return self.actor.user_id if self.actor else None

    def as_actor(self, actor: Actor | None) -> Context:
        return Context(self.db, self.settings, self.specs, self.script_engine, actor, self.engines)

    def engine_for(self, definition: Any) -> Any:
        """The script engine for a definition: only compiled workflows get their connectors."""
        name = getattr(definition, "engine", None)
        return self.engines.get(name, self.script_engine) if name else self.script_engine


def utcnow() -> datetime:
    return datetime.now(UTC)
