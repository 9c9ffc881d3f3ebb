"""Token positioning (restart / modification) on SpiffWorkflow 3.2.0.

These tests pin the private-API technique in app/engine/positioning.py: if a Spiff upgrade breaks
it, they fail here first.
"""

from __future__ import annotations

import json
import time
from uuid import UUID

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.positioning import (
    SKIPPED_KEY,
    Instruction,
    PositioningError,
    is_cancelled,
    is_skipped,
    modify,
    start_at,
    validate,
)

# ------------------------------------------------------------------------------------------- model helpers

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def definitions(*processes: str, extra: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{BPMN_NS}" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">'
        + "".join(processes) + extra + "</bpmn:definitions>"
    )


def process(body: str, pid: str = "p") -> str:
    return f'<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>'


def el(tag: str, eid: str, inner: str = "", **attrs: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'<bpmn:{tag} id="{eid}"{extra}>{inner}</bpmn:{tag}>'


def flow(source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow with id '<source>_<target>'."""
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    attrs = f'id="{source}_{target}" sourceRef="{source}" targetRef="{target}"'
    return f"<bpmn:sequenceFlow {attrs}>{cond}</bpmn:sequenceFlow>"


def path(*ids: str) -> str:
    return "".join(flow(a, b) for a, b in zip(ids, ids[1:], strict=False))


def users(*ids: str) -> str:
    return "".join(el("userTask", i) for i in ids)


def timer(duration_expr: str) -> str:
    duration = f"<bpmn:timeDuration>{duration_expr}</bpmn:timeDuration>"
    return f"<bpmn:timerEventDefinition>{duration}</bpmn:timerEventDefinition>"


class Model:
    def __init__(self, xml: str, pid: str = "p") -> None:
        parser = CamundaParser()
        parser.add_bpmn_str(xml.encode())
        self.spec = parser.get_spec(pid)
        self.subs = parser.get_subprocess_specs(pid)
        root = etree.fromstring(xml.encode())
        self.flows = {
            f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")
        }

    def start_at(self, *instructions: Instruction, data: dict | None = None) -> tuple[BpmnWorkflow, set[str]]:
        wf, skipped = start_at(self.spec, self.subs, list(instructions), self.flows, data=data)
        wf.do_engine_steps()
        return wf, skipped

    def start(self, data: dict | None = None) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subs)
        wf.task_tree.data.update(data or {})
        wf.do_engine_steps()
        return wf


def before(aid: str) -> Instruction:
    return Instruction("startBeforeActivity", activity_id=aid)


def after(aid: str) -> Instruction:
    return Instruction("startAfterActivity", activity_id=aid)


def transition(fid: str) -> Instruction:
    return Instruction("startTransition", transition_id=fid)


def cancel(aid: str | None = None, task_id: str | None = None) -> Instruction:
    return Instruction("cancel", activity_id=aid, activity_instance_id=task_id)


def ids(tasks) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in tasks)


def ready(wf: BpmnWorkflow) -> list[str]:
    return ids(wf.get_tasks(state=TaskState.READY))


def waiting(wf: BpmnWorkflow) -> list[str]:
    return ids(t for t in wf.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id)


def completed(wf: BpmnWorkflow) -> list[str]:
    """BPMN ids of tasks that really ran (skipped grafts excluded), with repeats."""
    return ids(
        t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id and not is_skipped(t)
    )


def finish(wf: BpmnWorkflow, answers: dict[str, dict] | None = None, limit: int = 50) -> BpmnWorkflow:
    """Complete READY user/manual tasks (first in tree order) until the workflow completes."""
    answers = answers or {}
    for _ in range(limit):
        wf.do_engine_steps()
        if wf.is_completed():
            return wf
        manual = wf.get_tasks(state=TaskState.READY, manual=True)
        assert manual, f"stuck:\n{wf.get_dump()}"
        task = manual[0]
        task.data.update(answers.get(task.task_spec.bpmn_id, {}))
        task.run()
    raise AssertionError("did not complete")


# ----------------------------------------------------------------------------------------------- models

LINEAR = definitions(process(
    el("startEvent", "s") + users("A", "B", "C") + el("endEvent", "e") + path("s", "A", "B", "C", "e")
))

XOR = definitions(process(
    el("startEvent", "s") + users("A", "B", "C") + el("exclusiveGateway", "G", default="G_C")
    + el("endEvent", "e")
    + path("s", "A", "G") + flow("G", "B", "x == 'b'") + flow("G", "C") + flow("B", "e") + flow("C", "e")
))

PARALLEL = definitions(process(
    el("startEvent", "s") + el("parallelGateway", "P") + users("A", "B", "Z") + el("parallelGateway", "J")
    + el("endEvent", "e") + path("s", "P", "A", "J", "Z", "e") + path("P", "B", "J")
))

SUB_BODY = (
    el("startEvent", "ss") + el("parallelGateway", "SP") + users("SA", "SB") + el("parallelGateway", "SJ")
    + el("endEvent", "se") + path("ss", "SP", "SA", "SJ", "se") + path("SP", "SB", "SJ")
)
SUBPROCESS = definitions(process(
    el("startEvent", "s") + users("A", "Z") + el("endEvent", "e") + path("s", "A", "S", "Z", "e")
    + el("subProcess", "S", SUB_BODY)
))
SUBPROCESS_WITH_TIMER = definitions(process(
    el("startEvent", "s") + users("A", "Z", "H") + el("endEvent", "e") + el("endEvent", "e2")
    + el("subProcess", "S", SUB_BODY) + el("boundaryEvent", "ST", timer("delay"), attachedToRef="S")
    + path("s", "A", "S", "Z", "e") + path("ST", "H", "e2")
))

BOUNDARY = definitions(process(
    el("startEvent", "s") + users("A", "B", "H") + el("endEvent", "e") + el("endEvent", "e2")
    + el("boundaryEvent", "T", timer("delay"), attachedToRef="A")
    + path("s", "A", "B", "e") + path("T", "H", "e2")
))

LOOP = definitions(process(
    el("startEvent", "s") + el("exclusiveGateway", "X") + users("A")
    + el("scriptTask", "C", "<bpmn:script>count = count + 1</bpmn:script>")
    + el("exclusiveGateway", "G", default="G_e") + el("endEvent", "e")
    + path("s", "X", "A", "C", "G") + flow("G", "X", "count &lt; 2") + flow("G", "e")
))


def mi_model(sequential: bool) -> str:
    loop = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
            "<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>")
    return definitions(process(
        el("startEvent", "s") + users("A", "Z") + el("userTask", "M", loop) + el("endEvent", "e")
        + path("s", "A", "M", "Z", "e")
    ))


MESSAGE = definitions(
    process(el("startEvent", "s") + users("A", "Z") + el("endEvent", "e")
            + el("intermediateCatchEvent", "W", '<bpmn:messageEventDefinition messageRef="Msg_go"/>')
            + path("s", "A", "W", "Z", "e")),
    extra='<bpmn:message id="Msg_go" name="go"/>',
)

CALL = definitions(
    process(el("startEvent", "s") + el("callActivity", "CA", calledElement="q") + el("endEvent", "e")
            + path("s", "CA", "e")),
    process(el("startEvent", "qs") + users("QA") + el("endEvent", "qe") + path("qs", "QA", "qe"), pid="q"),
)


# ------------------------------------------------------------------------------------------------ tests


def test_linear_start_before_and_data_flow() -> None:
    m = Model(LINEAR)
    wf, skipped = m.start_at(before("B"), data={"amount": 42})
    assert skipped == set()
    assert ready(wf) == ["B"]
    b = wf.get_tasks(state=TaskState.READY)[0]
    assert b.data == {"amount": 42}  # initial data is visible to the first task
    finish(wf, {"B": {"ok": True}})
    assert completed(wf) == ["B", "C", "e"]  # s and A never ran
    assert wf.data == {"amount": 42, "ok": True}  # and reaches the end


def test_linear_start_after_grafts_skipped_source() -> None:
    m = Model(LINEAR)
    wf, skipped = m.start_at(after("A"))
    assert ready(wf) == ["B"]
    (sid,) = skipped
    source = wf.get_task_from_id(UUID(sid))
    assert source.task_spec.bpmn_id == "A" and source.state == TaskState.COMPLETED
    assert source.internal_data[SKIPPED_KEY] is True
    finish(wf)
    assert completed(wf) == ["B", "C", "e"]


def test_xor_start_transition_on_branch() -> None:
    m = Model(XOR)
    wf, skipped = m.start_at(transition("G_B"), data={"x": "c"})  # the condition would pick C
    assert ready(wf) == ["B"]
    assert len(skipped) == 1
    finish(wf)
    assert completed(wf) == ["B", "e"]


def test_parallel_both_branches_and_join_fires_once() -> None:
    m = Model(PARALLEL)
    wf, _ = m.start_at(before("A"), before("B"))
    assert ready(wf) == ["A", "B"]
    finish(wf)
    assert completed(wf) == ["A", "B", "J", "Z", "e"]  # J and Z exactly once


def test_parallel_one_branch_leaves_join_waiting() -> None:
    wf, _ = Model(PARALLEL).start_at(before("A"))
    wf.get_tasks(state=TaskState.READY)[0].run()
    wf.do_engine_steps()
    assert waiting(wf) == ["J"] and ready(wf) == []


def test_parallel_join_fed_by_transitions() -> None:
    m = Model(PARALLEL)
    wf, skipped = m.start_at(transition("A_J"), transition("B_J"))
    assert len(skipped) == 2
    assert ready(wf) == ["Z"]
    finish(wf)
    assert completed(wf) == ["J", "Z", "e"]


def test_start_before_parallel_split_enters_through_its_incoming_flow() -> None:
    wf, skipped = Model(PARALLEL).start_at(before("P"))
    assert ready(wf) == ["A", "B"]
    assert len(skipped) == 1  # the start event 's', as the source of flow s_P
    finish(wf)
    assert completed(wf) == ["A", "B", "J", "P", "Z", "e"]


def test_two_tokens_in_one_embedded_subprocess_share_the_scope() -> None:
    m = Model(SUBPROCESS)
    wf, _ = m.start_at(before("SA"), before("SB"), data={"v": 1})
    assert len(wf.subprocesses) == 1
    assert ready(wf) == ["SA", "SB"]
    (sub,) = wf.subprocesses.values()
    assert all(t.data["v"] == 1 for t in sub.get_tasks(state=TaskState.READY))
    finish(wf)
    assert completed(wf) == ["S", "SA", "SB", "SJ", "Z", "e", "se"]
    assert wf.data["v"] == 1


def test_start_after_inside_subprocess() -> None:
    wf, skipped = Model(SUBPROCESS).start_at(transition("SA_SJ"), before("SB"))
    assert len(wf.subprocesses) == 1 and len(skipped) == 1
    assert ready(wf) == ["SB"]
    finish(wf)
    assert completed(wf) == ["S", "SB", "SJ", "Z", "e", "se"]


def test_boundary_timer_is_armed_and_fires() -> None:
    m = Model(BOUNDARY)
    wf, _ = m.start_at(before("A"), data={"delay": "PT1S"})
    assert ready(wf) == ["A"]
    assert waiting(wf) == ["T"]
    assert [e.event_type for e in wf.waiting_events()] == ["DurationTimerEventDefinition"]
    time.sleep(1.1)
    wf.refresh_timers()
    wf.do_engine_steps()
    assert ready(wf) == ["H"]
    assert [t.state for t in wf.get_tasks(spec_name="A")] == [TaskState.CANCELLED]
    finish(wf)
    assert "e2" in completed(wf) and "B" not in completed(wf)


def test_boundary_timer_disarmed_when_activity_completes() -> None:
    wf, _ = Model(BOUNDARY).start_at(before("A"), data={"delay": "PT1H"})
    finish(wf)
    assert completed(wf) == ["A", "B", "e"]
    assert wf.waiting_events() == []


def test_start_transition_into_activity_with_boundary_event_arms_it() -> None:
    wf, skipped = Model(BOUNDARY).start_at(transition("s_A"), data={"delay": "PT1H"})
    assert ready(wf) == ["A"] and waiting(wf) == ["T"] and len(skipped) == 1


def test_position_inside_subprocess_with_boundary_timer() -> None:
    m = Model(SUBPROCESS_WITH_TIMER)
    wf, _ = m.start_at(before("SA"), before("SB"), data={"delay": "PT1S"})
    assert len(wf.subprocesses) == 1 and ready(wf) == ["SA", "SB"]
    assert waiting(wf) == ["ST"]  # the timer on the subprocess is armed
    (s_task,) = wf.get_tasks(spec_name="S")
    assert s_task.state == TaskState.STARTED
    time.sleep(1.1)
    wf.refresh_timers()
    wf.do_engine_steps()
    assert ready(wf) == ["H"]  # the interrupting timer cancelled the subprocess
    assert s_task.state == TaskState.CANCELLED
    finish(wf)
    assert completed(wf) == ["H", "ST", "e2"]


def test_position_inside_subprocess_with_boundary_timer_completes_normally() -> None:
    wf, _ = Model(SUBPROCESS_WITH_TIMER).start_at(before("SA"), data={"delay": "PT1H"})
    assert ready(wf) == ["SA"] and waiting(wf) == ["ST"]
    wf.get_tasks(state=TaskState.READY)[0].run()
    wf.do_engine_steps()
    assert waiting(wf) == ["SJ", "ST"]  # SB never gets a token: the join waits inside S


def test_start_after_boundary_event_takes_its_outgoing_flow() -> None:
    wf, skipped = Model(BOUNDARY).start_at(after("T"))
    assert ready(wf) == ["H"] and waiting(wf) == [] and len(skipped) == 1
    finish(wf)
    assert completed(wf) == ["H", "e2"]


def test_start_after_subprocess() -> None:
    wf, skipped = Model(SUBPROCESS).start_at(after("S"))
    assert ready(wf) == ["Z"] and wf.subprocesses == {}
    (sid,) = skipped
    assert wf.get_task_from_id(UUID(sid)).task_spec.bpmn_id == "S"
    finish(wf)
    assert completed(wf) == ["Z", "e"]


def test_start_before_join_with_two_incoming_flows_waits() -> None:
    # Like Camunda, a single token entering a parallel join waits for the other incoming flow.
    wf, _ = Model(PARALLEL).start_at(before("J"))
    assert waiting(wf) == ["J"] and ready(wf) == []


def test_loop_start_before_task_on_back_edge() -> None:
    wf, _ = Model(LOOP).start_at(before("C"), data={"count": 0})
    assert ready(wf) == ["A"]  # C ran (count=1) and looped back through G and X
    finish(wf)
    assert completed(wf).count("C") == 2 and completed(wf).count("A") == 1
    assert wf.data["count"] == 2


@pytest.mark.parametrize("sequential", [False, True])
def test_multi_instance_body_created_with_its_children(sequential: bool) -> None:
    wf, _ = Model(mi_model(sequential)).start_at(before("M"))
    body = wf.get_tasks(spec_name="M")
    assert len(body) == 1 and body[0].state == TaskState.STARTED
    assert ready(wf) == (["M"] if sequential else ["M", "M", "M"])
    finish(wf)
    assert completed(wf) == ["M", "M", "M", "M", "Z", "e"]  # three instances + the body


def test_user_task_ready_and_message_catch_waiting() -> None:
    m = Model(MESSAGE)
    wf, _ = m.start_at(before("W"))
    assert ready(wf) == [] and waiting(wf) == ["W"]
    assert [e.name for e in wf.waiting_events()] == ["go"]
    wf.catch(BpmnEvent(MessageEventDefinition("go"), payload={"payload": {"id": 7}, "result_var": "msg"}))
    wf.do_engine_steps()
    assert ready(wf) == ["Z"]
    finish(wf)
    assert wf.data["msg"] == {"id": 7}


def test_serialization_round_trip_keeps_skipped_and_runs_on() -> None:
    m = Model(SUBPROCESS)
    wf, skipped = start_at(m.spec, m.subs, [transition("SA_SJ"), before("SB")], m.flows, data={"k": "v"})
    wf.do_engine_steps()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    text = json.dumps(serializer.to_dict(wf))
    restored = serializer.from_dict(json.loads(text))  # from_dict mutates its input: fresh json
    assert {str(t.id) for t in restored.get_tasks() if is_skipped(t)} == skipped
    assert ready(restored) == ["SB"] and len(restored.subprocesses) == 1
    finish(restored)
    assert restored.data["k"] == "v"
    assert completed(restored) == ["S", "SB", "SJ", "Z", "e", "se"]


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("model", "instruction", "element"),
    [
        (LINEAR, before("Nope"), "'Nope'"),
        (LINEAR, after("Nope"), "'Nope'"),
        (LINEAR, transition("Flow_nope"), "'Flow_nope'"),
        (LINEAR, after("e"), "'e'"),  # no outgoing flow
        (XOR, after("G"), "'G'"),  # two outgoing flows
        (BOUNDARY, before("T"), "'T'"),
        (CALL, before("QA"), "'QA'"),
        (CALL, transition("qs_QA"), "'qs_QA'.*call activity 'CA'"),
        (LINEAR, Instruction("startBeforeActivity"), "'activityId'"),
        (LINEAR, Instruction("jump", activity_id="A"), "'jump'"),
    ],
)
def test_invalid_instructions(model: str, instruction: Instruction, element: str) -> None:
    m = Model(model)
    with pytest.raises(PositioningError, match=element):
        validate(m.spec, m.subs, [instruction], m.flows)
    with pytest.raises(PositioningError, match=element):
        start_at(m.spec, m.subs, [instruction], m.flows)


def test_error_names_the_call_activity() -> None:
    m = Model(CALL)
    with pytest.raises(PositioningError, match="call activity 'CA'"):
        validate(m.spec, m.subs, [before("QA")], m.flows)


def test_start_at_needs_a_start_instruction() -> None:
    m = Model(LINEAR)
    with pytest.raises(PositioningError, match="empty"):
        start_at(m.spec, m.subs, [cancel("A")], m.flows)


def test_start_before_call_activity_runs_called_process() -> None:
    wf, _ = Model(CALL).start_at(before("CA"))
    assert ready(wf) == ["QA"]
    finish(wf)
    assert "e" in completed(wf)


# -------------------------------------------------------------------------------------------- modification


def test_modify_cancel_only_task_and_start_elsewhere() -> None:
    m = Model(LINEAR)
    wf = m.start()
    finish_one(wf, "A", {"x": 1})
    assert ready(wf) == ["B"]
    skipped = modify(wf, [cancel("B"), before("C")], m.flows)
    assert skipped == set()
    wf.do_engine_steps()
    assert ready(wf) == ["C"]
    assert wf.get_tasks(state=TaskState.READY)[0].data["x"] == 1  # the new token sees current variables
    assert [t.state for t in wf.get_tasks(spec_name="B")] == [TaskState.CANCELLED]
    finish(wf)
    assert completed(wf) == ["A", "C", "e", "s"]
    assert not is_cancelled(wf)


def test_modify_cancel_by_task_id() -> None:
    m = Model(LINEAR)
    wf = m.start()
    task_a = wf.get_tasks(state=TaskState.READY)[0]
    modify(wf, [cancel(task_id=str(task_a.id)), after("B")], m.flows)
    wf.do_engine_steps()
    assert ready(wf) == ["C"]
    finish(wf)
    assert completed(wf) == ["C", "e", "s"]


def test_modify_cancel_everything_ends_the_instance() -> None:
    m = Model(BOUNDARY)
    wf = m.start({"delay": "PT1H"})
    assert waiting(wf) == ["T"]
    modify(wf, [cancel("A")], m.flows)
    assert is_cancelled(wf) and wf.is_completed()
    assert wf.waiting_events() == []  # the boundary timer went with its activity
    assert not wf.get_tasks(state=TaskState.NOT_FINISHED_MASK)


def test_modify_cancel_last_task_in_subprocess_cancels_scope() -> None:
    m = Model(SUBPROCESS)
    wf, _ = m.start_at(before("SA"), before("Z"))
    modify(wf, [cancel("SA")], m.flows)
    assert [t.state for t in wf.get_tasks(spec_name="S")] == [TaskState.CANCELLED]
    assert ready(wf) == ["Z"] and not is_cancelled(wf)
    modify(wf, [cancel("Z")], m.flows)
    assert is_cancelled(wf)


def test_modify_adds_second_token() -> None:
    m = Model(LINEAR)
    wf = m.start()
    modify(wf, [before("C")], m.flows)
    wf.do_engine_steps()
    assert ready(wf) == ["A", "C"]
    finish(wf)
    assert completed(wf) == ["A", "B", "C", "C", "e", "e", "s"]


def test_modify_into_running_subprocess_reuses_it() -> None:
    m = Model(SUBPROCESS)
    wf, _ = m.start_at(before("SA"))
    modify(wf, [before("SB")], m.flows)
    wf.do_engine_steps()
    assert len(wf.subprocesses) == 1 and ready(wf) == ["SA", "SB"]
    finish(wf)
    assert completed(wf).count("SJ") == 1 and completed(wf).count("Z") == 1


def test_modify_with_explicit_variables() -> None:
    m = Model(LINEAR)
    wf = m.start({"x": 1})
    modify(wf, [cancel("A"), before("B")], m.flows, data={"x": 2, "y": 3})
    wf.do_engine_steps()
    (b,) = wf.get_tasks(state=TaskState.READY)
    assert b.data == {"x": 2, "y": 3}
    assert wf.task_tree.data == {"x": 1}  # the initial variables are left alone


def test_modify_unknown_task_id() -> None:
    m = Model(LINEAR)
    wf = m.start()
    with pytest.raises(PositioningError, match="00000000-0000-0000-0000-000000000000"):
        modify(wf, [cancel(task_id="00000000-0000-0000-0000-000000000000")], m.flows)


def finish_one(wf: BpmnWorkflow, aid: str, data: dict) -> None:
    (task,) = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == aid]
    task.data.update(data)
    task.run()
    wf.do_engine_steps()
