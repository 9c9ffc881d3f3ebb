"""Process-instance modification: cancel activities and start tokens elsewhere on a running instance."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app import values
from app.engine import positioning, runtime
from app.errors import InvalidRequest
from app.services import instance_state as state
from app.services import positioning as placing
from app.services.context import Context
from app.services.instances import require_active


def modify_instance(ctx: Context, instance_id: str, items: list[Any]) -> None:
    """Apply the instructions in order, in one transaction (contract 8.6)."""
    if not items:
        return
    instructions = placing.instructions_of(items)

    def command(session: Session) -> None:
        live = state.load(ctx, session, instance_id)
        require_active(live.row)
        index = live.process.index
        for ins in instructions:
            if ins.type == "cancel" and ins.activity_id and ins.activity_id not in index.activities:
                raise InvalidRequest(f"Cannot cancel activity '{ins.activity_id}': no such activity in process "
                                     f"definition '{live.row.definition_id}'")
        starts = [i for i in instructions if i.type != "cancel"]
        if starts:
            placing.validate(live.process, starts)
        variables = placing.instruction_variables(items)
        if variables:
            live.declared.update(variables)
            runtime.set_variables(live.workflow, {n: values.to_engine(tv) for n, tv in variables.items()})
        data = runtime.process_variables(live.workflow)
        try:
            positioning.modify(live.workflow, instructions, index.flow_index(), data=data)
        except positioning.PositioningError as error:
            raise InvalidRequest(str(error)) from None
        if positioning.is_cancelled(live.workflow):
            state.save(ctx, session, live, end_state="EXTERNALLY_TERMINATED")
            return
        live.failure = runtime.run(live.workflow)
        state.save(ctx, session, live)
    state.run_command(ctx, command)
