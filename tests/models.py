"""Small BPMN models for tests, written the way Camunda Modeler writes them."""

from __future__ import annotations

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'id="defs" targetNamespace="http://baton.example/tests">')


def process(key: str, body: str, name: str | None = None) -> str:
    label = f' name="{name}"' if name else ""
    return f'{HEAD}<bpmn:process id="{key}"{label} isExecutable="true">{body}</bpmn:process></bpmn:definitions>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>')


def user_task(task_id: str, name: str | None = None, attrs: str = "") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name or task_id}" {attrs}/>'


def script_task(task_id: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{task_id}" name="{task_id}" scriptFormat="python">'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


def linear(key: str = "linear") -> str:
    """start → A (user) → B (user) → end."""
    return process(key, '<bpmn:startEvent id="start" />' + user_task("A") + user_task("B")
                   + '<bpmn:endEvent id="end" />' + flow("f1", "start", "A") + flow("f2", "A", "B")
                   + flow("f3", "B", "end"), name="Linear")


def scripted(key: str = "scripted") -> str:
    """start → A (user) → bump (script: x = x + 1) → B (user) → end."""
    return process(key, '<bpmn:startEvent id="start" />' + user_task("A") + script_task("bump", "x = x + 1")
                   + user_task("B") + '<bpmn:endEvent id="end" />' + flow("f1", "start", "A")
                   + flow("f2", "A", "bump") + flow("f3", "bump", "B") + flow("f4", "B", "end"))


def xor(key: str = "xor") -> str:
    """start → gw: ${amount > 100} → big (user) | else → small (user) → join → end."""
    return process(key, '<bpmn:startEvent id="start" />'
                   '<bpmn:exclusiveGateway id="gw" default="f_small" />' + user_task("big") + user_task("small")
                   + '<bpmn:exclusiveGateway id="join" /><bpmn:endEvent id="end" />'
                   + flow("f1", "start", "gw") + flow("f_big", "gw", "big", "${amount > 100}")
                   + flow("f_small", "gw", "small") + flow("f2", "big", "join") + flow("f3", "small", "join")
                   + flow("f4", "join", "end"))


def parallel(key: str = "parallel") -> str:
    """start → split → L (user) / R (user) → join → after (user) → end."""
    return process(key, '<bpmn:startEvent id="start" /><bpmn:parallelGateway id="split" />'
                   + user_task("L") + user_task("R") + '<bpmn:parallelGateway id="join" />' + user_task("after")
                   + '<bpmn:endEvent id="end" />' + flow("f1", "start", "split") + flow("fl", "split", "L")
                   + flow("fr", "split", "R") + flow("fl2", "L", "join") + flow("fr2", "R", "join")
                   + flow("f5", "join", "after") + flow("f6", "after", "end"))


def subprocess(key: str = "sub") -> str:
    """start → S (embedded: s_start → S1 (user) → S2 (user) → s_end) → after (user) → end."""
    inner = ('<bpmn:subProcess id="S"><bpmn:startEvent id="s_start" />' + user_task("S1") + user_task("S2")
             + '<bpmn:endEvent id="s_end" />' + flow("s1", "s_start", "S1") + flow("s2", "S1", "S2")
             + flow("s3", "S2", "s_end") + '</bpmn:subProcess>')
    return process(key, '<bpmn:startEvent id="start" />' + inner + user_task("after") + '<bpmn:endEvent id="end" />'
                   + flow("f1", "start", "S") + flow("f2", "S", "after") + flow("f3", "after", "end"))


def boundary_timer(key: str = "timed") -> str:
    """start → T (user, with an interrupting PT1H boundary timer → late (user)) → end."""
    return process(key, '<bpmn:startEvent id="start" />' + user_task("T")
                   + '<bpmn:boundaryEvent id="timer" attachedToRef="T"><bpmn:timerEventDefinition>'
                   '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                   + user_task("late") + '<bpmn:endEvent id="end" /><bpmn:endEvent id="end_late" />'
                   + flow("f1", "start", "T") + flow("f2", "T", "end") + flow("f3", "timer", "late")
                   + flow("f4", "late", "end_late"))


def message_catch(key: str = "waiter") -> str:
    """start → wait (intermediate message catch 'go') → done (user) → end."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" '
            'targetNamespace="http://baton.example/tests"><bpmn:message id="msg_go" name="go" />'
            f'<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="start" />'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="msg_go" />'
            '</bpmn:intermediateCatchEvent>' + user_task("done") + '<bpmn:endEvent id="end" />'
            + flow("f1", "start", "wait") + flow("f2", "wait", "done") + flow("f3", "done", "end")
            + '</bpmn:process></bpmn:definitions>')


def loop(key: str = "loop") -> str:
    """start → work (user) → check: ${again} → back to work | else → end."""
    return process(key, '<bpmn:startEvent id="start" />' + user_task("work")
                   + '<bpmn:exclusiveGateway id="check" default="f_done" /><bpmn:endEvent id="end" />'
                   + flow("f1", "start", "work") + flow("f2", "work", "check")
                   + flow("f_again", "check", "work", "${again}") + flow("f_done", "check", "end"))


def multi_instance(key: str = "multi") -> str:
    """start → review (user, parallel multi-instance over 3) → end."""
    return process(key, '<bpmn:startEvent id="start" /><bpmn:userTask id="review" name="review">'
                   '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>'
                   '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:endEvent id="end" />'
                   + flow("f1", "start", "review") + flow("f2", "review", "end"))
