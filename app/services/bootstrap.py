"""Building the service context: one place for the server, the worker and the CLI."""

from __future__ import annotations

from app.config import Settings
from app.services.context import Context


def build_context(settings: Settings) -> Context:
    """Database, spec cache and script engines (the BPMN sandbox; compiled Keyfactor workflows)."""
    from app.engine.cache import SpecCache
    from app.engine.keyfactor.engine import make_keyfactor_script_engine
    from app.engine.sandbox import make_script_engine
    from app.store.db import Database

    engine = make_script_engine(time_limit=settings.script_time_limit, memory_limit=settings.script_memory_limit)
    ctx = Context(db=Database(settings.database_url), settings=settings, specs=SpecCache(), script_engine=engine)
    ctx.engines["keyfactor"] = make_keyfactor_script_engine(
        memory_limit=max(settings.script_memory_limit, 64 * 2**20))
    return ctx
