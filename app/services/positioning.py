"""Starting a workflow somewhere other than its none start event (start instructions, restart)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app import values
from app.engine import positioning
from app.engine.cache import LoadedProcess
from app.errors import InvalidRequest
from app.services import instance_state as state
from app.services.context import Context
from app.store import models as m


def instructions_of(items: list[Any]) -> list[positioning.Instruction]:
    """Accept engine Instructions or API-parsed instructions (which carry variables)."""
    return [getattr(item, "instruction", item) for item in items]


def instruction_variables(items: list[Any]) -> dict[str, values.TypedValue]:
    merged: dict[str, values.TypedValue] = {}
    for item in items:
        merged.update(getattr(item, "variables", {}) or {})
        merged.update(getattr(item, "local_variables", {}) or {})
    return merged


def start_activity(process: LoadedProcess, instruction: positioning.Instruction) -> str | None:
    if instruction.activity_id:
        return instruction.activity_id
    flow = process.index.flows.get(instruction.transition_id or "")
    return flow.target if flow else None


def validate(process: LoadedProcess, instructions: list[positioning.Instruction]) -> None:
    try:
        positioning.validate(process.spec, process.subprocess_specs, instructions, process.index.flow_index())
    except positioning.PositioningError as error:
        raise InvalidRequest(str(error)) from None


def positioned_workflow(ctx: Context, session: Session, definition: m.ProcessDefinition, items: list[Any],
                        variables: dict[str, values.TypedValue]) -> tuple[Any, str | None]:
    """A fresh workflow positioned by the instructions; instruction variables join ``variables``."""
    process = state.load_process(ctx, session, definition)
    instructions = instructions_of(items)
    variables.update(instruction_variables(items))
    try:
        workflow, _skipped = positioning.start_at(
            process.spec, process.subprocess_specs, instructions, process.index.flow_index(),
            data={n: values.to_engine(tv) for n, tv in variables.items()}, script_engine=ctx.engine_for(definition))
    except positioning.PositioningError as error:
        raise InvalidRequest(str(error)) from None
    return workflow, start_activity(process, instructions[0])
