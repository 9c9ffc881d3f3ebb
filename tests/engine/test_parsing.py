"""Deploy-time parsing of uploaded BPMN (app/engine/parsing.py and friends)."""

from __future__ import annotations

import random
import time

import pytest
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, EventSubprocess, SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine import bpmn_parser
from app.engine.model import build_model_index, multi_instance_body_id
from app.engine.parsing import (
    BatonParser,
    BpmnParseError,
    BpmnProblem,
    ParsedDeployment,
    ProcessModel,
    is_bpmn_resource,
    load_process,
    parse_deployment,
)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def definitions(*processes: str, extra: str = "", tns: str = "http://baton.test") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN}" '
            f'xmlns:camunda="{CAMUNDA}" id="defs" targetNamespace="{tns}">\n'
            + "\n".join(processes) + extra + "\n</bpmn:definitions>").encode()


def process(body: str, pid: str = "p", attrs: str = 'isExecutable="true"') -> str:
    return f'<bpmn:process id="{pid}" {attrs}>\n{body}\n</bpmn:process>'


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition is not None else ""
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


LINEAR = process("\n".join([
    '<bpmn:startEvent id="start"/>',
    '<bpmn:userTask id="approve" name="Approve" camunda:assignee="demo" camunda:candidateGroups="a, b"/>',
    '<bpmn:endEvent id="end"/>',
    flow("f1", "start", "approve"),
    flow("f2", "approve", "end"),
]))


def parse_error(resources: dict[str, bytes]) -> BpmnParseError:
    with pytest.raises(BpmnParseError) as info:
        parse_deployment(resources)
    error = info.value
    assert error.problems and all(p.message for p in error.problems)
    return error


def run(resources: dict[str, bytes], key: str, data: dict) -> BpmnWorkflow:
    spec, subs = load_process(resources, key)
    workflow = BpmnWorkflow(spec, subs)
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def waiting_ids(workflow: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
            if t.task_spec.bpmn_id}


# ------------------------------------------------------------------------------- hostile XML

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="x">
  <process id="p" name="&x;"/></definitions>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY % x SYSTEM "http://127.0.0.1:9/evil.dtd"> %x;]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="x"/>"""

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                             .encode() for i in range(1, 10))
                  + b']><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</definitions>')

QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
             b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><documentation>'
             + b"&a;" * 50_000 + b"</documentation></definitions>")


@pytest.mark.parametrize("payload", [XXE_FILE, XXE_NETWORK, BILLION_LAUGHS, QUADRATIC,
                                     XXE_FILE.decode().encode("utf-16")],
                         ids=["xxe-file", "xxe-network", "billion-laughs", "quadratic-blowup", "xxe-utf16"])
def test_dtd_payloads_are_refused_quickly(payload: bytes) -> None:
    started = time.perf_counter()
    error = parse_error({"evil.bpmn": payload})
    assert time.perf_counter() - started < 1.0
    assert error.resource_name == "evil.bpmn"
    assert "DOCTYPE" in error.problems[0].message
    assert "root:" not in str(error)  # nothing from /etc/passwd


def test_deeply_nested_xml_is_refused() -> None:
    nested = b"<bpmn:documentation>" * 5000 + b"</bpmn:documentation>" * 5000
    error = parse_error({"deep.bpmn": definitions(process(nested.decode()))})
    assert "nested too deeply" in error.problems[0].message


def test_moderately_nested_xml_is_refused_by_our_own_limit() -> None:
    nested = "<bpmn:extensionElements>" * 210 + "</bpmn:extensionElements>" * 210
    error = parse_error({"deep.bpmn": definitions(process(nested))})
    assert "nested too deeply" in error.problems[0].message


@pytest.mark.parametrize(("data", "fragment"), [
    (b"this is not XML", "not well-formed"),
    (b"", "empty"),
    (b"<definitions", "not well-formed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not well-formed"),
    (b"<html><body/></html>", "not BPMN"),
    (b'<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd"/>', "not BPMN"),
])
def test_non_bpmn_content_is_a_clean_error(data: bytes, fragment: str) -> None:
    error = parse_error({"x.bpmn": data})
    assert fragment in error.problems[0].message


def test_syntax_errors_carry_line_and_column() -> None:
    error = parse_error({"x.bpmn": b'<?xml version="1.0"?>\n<a>\n  <b>\n</a>'})
    assert error.problems[0].line == 4 and error.problems[0].column > 0


def test_spiffworkflow_never_reads_raw_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("SpiffWorkflow's own XML parsing was used")

    monkeypatch.setattr(BatonParser, "add_bpmn_str", forbidden)
    monkeypatch.setattr(BatonParser, "add_bpmn_file", forbidden)
    monkeypatch.setattr(BatonParser, "add_bpmn_io", forbidden)
    assert parse_deployment({"a.bpmn": definitions(LINEAR)}).processes[0].key == "p"


# ------------------------------------------------------------------------------- resource detection


def test_is_bpmn_resource() -> None:
    bpmn = definitions(LINEAR)
    assert is_bpmn_resource("order.bpmn", b"anything")
    assert is_bpmn_resource("ORDER.BPMN20.XML", b"anything")
    assert is_bpmn_resource("resource-0", bpmn)  # pycamunda's raw upload
    assert not is_bpmn_resource("notes.txt", b"hello")
    assert not is_bpmn_resource("form.xml", b"<form/>")
    assert not is_bpmn_resource("picture.png", b"\x89PNG\r\n")
    # A hostile DTD in front of BPMN content is still treated as BPMN, so it is refused loudly.
    assert is_bpmn_resource("resource-1", XXE_FILE)


def test_non_bpmn_resources_are_ignored() -> None:
    parsed = parse_deployment({"readme.txt": b"hi", "order.bpmn": definitions(LINEAR), "img.png": b"\x89PNG"})
    assert list(parsed.resources) == ["order.bpmn"]


# ------------------------------------------------------------------------------- deployments


def test_process_model_fields() -> None:
    body = ('<bpmn:documentation>Orders &amp; more</bpmn:documentation>'
            '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + flow("f", "start", "end"))
    attrs = ('isExecutable="true" name="Order" camunda:versionTag="1.2" camunda:historyTimeToLive="P30D" '
             'camunda:isStartableInTasklist="false"')
    parsed = parse_deployment({"o.bpmn": definitions(process(body, "order", attrs), tns="http://acme")})
    assert isinstance(parsed, ParsedDeployment)
    assert parsed.processes == [ProcessModel(
        key="order", name="Order", description="Orders & more", category="http://acme", version_tag="1.2",
        history_ttl=30, startable=False, resource_name="o.bpmn", has_none_start_event=True)]


def test_defaults_and_message_start() -> None:
    body = ('<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>'
            '<bpmn:endEvent id="end"/>' + flow("f", "start", "end"))
    attrs = 'camunda:historyTimeToLive="180"'  # isExecutable missing: executable, as in Camunda
    model = parse_deployment({"a.bpmn": definitions(process(body, attrs=attrs),
                                                    extra='<bpmn:message id="m" name="go"/>')}).processes[0]
    assert (model.name, model.description, model.version_tag, model.history_ttl, model.startable,
            model.has_none_start_event) == (None, None, None, 180, True, False)


def test_bad_history_ttl_is_a_parse_error() -> None:
    error = parse_error({"a.bpmn": definitions(process("<bpmn:startEvent id='s'/>",
                                                       attrs='camunda:historyTimeToLive="soon"'))})
    assert error.problems[0].element_id == "p"


def test_non_executable_processes_are_skipped_even_if_broken() -> None:
    broken = process(flow("f", "nowhere", "neither"), "sketch", 'isExecutable="false"')
    parsed = parse_deployment({"a.bpmn": definitions(LINEAR, broken)})
    assert [m.key for m in parsed.processes] == ["p"]
    only_sketch = parse_deployment({"b.bpmn": definitions(broken)})
    assert only_sketch.resources == {"b.bpmn": []}


def test_broken_sequence_flow_reference_names_the_flow() -> None:
    body = '<bpmn:startEvent id="start"/><bpmn:task id="t"/>' + flow("f_bad", "start", "missing")
    error = parse_error({"a.bpmn": definitions(process(body))})
    problem = error.problems[0]
    assert problem.element_id == "f_bad"
    assert "'missing' does not exist" in problem.message
    assert problem.line > 0
    with pytest.raises(BpmnParseError):  # the stored-resource path checks it too
        load_process({"a.bpmn": definitions(process(body))}, "p")


def test_all_problems_of_a_resource_are_collected() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/>'
            '<bpmn:endEvent id="e2"/>' + flow("f0", "s", "g") + flow("f1", "g", "e1", "${a.b()}")
            + flow("f2", "g", "e2", "${x ? }"))
    error = parse_error({"a.bpmn": definitions(process(body))})
    assert [p.element_id for p in error.problems] == ["f1", "f2"]
    details = error.details()["a.bpmn"]
    assert details["warnings"] == []
    assert details["errors"][0]["mainElementId"] == "f1" and details["errors"][0]["elementIds"] == ["f1"]


def test_xsd_violations_are_reported_with_lines() -> None:
    bad = definitions(process('<bpmn:startEvent id="s" bogus="1"/><bpmn:notAnElement id="x"/>'))
    error = parse_error({"a.bpmn": bad})
    assert all(p.message.startswith("XML schema violation") for p in error.problems)
    assert all(p.line > 0 for p in error.problems)


def test_first_failing_resource_is_reported() -> None:
    good, bad = definitions(LINEAR), b"<nope"
    error = parse_error({"good.bpmn": good, "bad.bpmn": bad, "bad2.bpmn": bad})
    assert error.resource_name == "bad.bpmn"


def test_duplicate_process_ids_in_one_deployment() -> None:
    error = parse_error({"a.bpmn": definitions(LINEAR), "b.bpmn": definitions(LINEAR)})
    assert "Duplicate process ID" in error.problems[0].message


def test_untranslatable_juel_names_the_element() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/>'
            '<bpmn:endEvent id="e2"/>' + flow("f0", "s", "g")
            + flow("to_e1", "g", "e1", '${execution.getVariable("x") == 1}') + flow("to_e2", "g", "e2", "${!ok}"))
    error = parse_error({"a.bpmn": definitions(process(body))})
    assert error.problems[0].element_id == "to_e1"
    assert "execution" in error.problems[0].message


def test_juel_condition_model_runs() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="small"/>'
            '<bpmn:userTask id="big_task"/><bpmn:userTask id="small_task"/>'
            + flow("f0", "s", "g") + flow("big", "g", "big_task", "${amount &gt; 100 &amp;&amp; approved}")
            + flow("small", "g", "small_task"))
    resources = {"a.bpmn": definitions(process(body))}
    parse_deployment(resources)
    assert waiting_ids(run(resources, "p", {"amount": 150, "approved": True})) == {"big_task"}
    assert waiting_ids(run(resources, "p", {"amount": 150, "approved": False})) == {"small_task"}


def test_gateway_flow_without_condition_is_taken_as_true_in_document_order() -> None:
    # Camunda semantics: a non-default flow without condition is always true; first match wins.
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:userTask id="a"/>'
            '<bpmn:userTask id="b"/>' + flow("f0", "s", "g") + flow("fa", "g", "a", "${x == 1}") + flow("fb", "g", "b"))
    resources = {"a.bpmn": definitions(process(body))}
    assert waiting_ids(run(resources, "p", {"x": 1})) == {"a"}
    assert waiting_ids(run(resources, "p", {"x": 2})) == {"b"}


def test_implicit_parallel_split_from_a_task() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="t"/><bpmn:userTask id="a"/><bpmn:userTask id="b"/>'
            + flow("f0", "s", "t") + flow("fa", "t", "a") + flow("fb", "t", "b"))
    resources = {"a.bpmn": definitions(process(body))}
    workflow = run(resources, "p", {})
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.task_spec.bpmn_id == "t":
            task.run()
    workflow.do_engine_steps()
    assert waiting_ids(workflow) == {"a", "b"}


def test_conditional_flow_leaving_a_task_is_refused() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="t"/><bpmn:endEvent id="e"/>'
            + flow("f0", "s", "t") + flow("f1", "t", "e", "${ok}"))
    error = parse_error({"a.bpmn": definitions(process(body))})
    assert error.problems[0].element_id == "f1"


def test_bare_iso_timer_literal_parses_and_is_quoted() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="e"/>' + flow("f0", "s", "wait") + flow("f1", "wait", "e"))
    resources = {"a.bpmn": definitions(process(body))}
    parse_deployment(resources)
    spec, _ = load_process(resources, "p")
    assert spec.task_specs["wait"].event_definition.expression == "'PT1H'"
    workflow = run(resources, "p", {})
    assert waiting_ids(workflow) == {"wait"}  # evaluated fine, waiting for the hour to pass


@pytest.mark.parametrize(("timer", "fragment"), [
    ("", "no timeDate, timeDuration or timeCycle"),
    ("<bpmn:timeDuration/>", "empty"),
    ("<bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle>", "cron"),
    ("<bpmn:timeDuration>${f(x)}</bpmn:timeDuration>", "function calls"),
])
def test_bad_timers_name_the_event(timer: str, fragment: str) -> None:
    body = (f'<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            f'{timer}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>' + flow("f0", "s", "wait"))
    error = parse_error({"a.bpmn": definitions(process(body))})
    assert error.problems[0].element_id == "wait"
    assert fragment in error.problems[0].message


def test_multi_instance_juel() -> None:
    mi = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item">'
          '<bpmn:completionCondition>${nrDone &gt;= 2}</bpmn:completionCondition>'
          '</bpmn:multiInstanceLoopCharacteristics>')
    body = (f'<bpmn:startEvent id="s"/><bpmn:task id="each">{mi}</bpmn:task><bpmn:endEvent id="e"/>'
            + flow("f0", "s", "each") + flow("f1", "each", "e"))
    spec, _ = load_process({"a.bpmn": definitions(process(body))}, "p")
    assert spec.task_specs["each"].condition == "nrDone >= 2"
    assert spec.task_specs["each"].data_output.bpmn_id == "items"


def test_scripts_are_kept_as_python_and_not_executed() -> None:
    script = "raise SystemExit('must not run at parse time')"
    body = (f'<bpmn:startEvent id="s"/><bpmn:scriptTask id="sc" scriptFormat="python"><bpmn:script>{script}'
            '</bpmn:script></bpmn:scriptTask>' + flow("f0", "s", "sc"))
    spec, _ = load_process({"a.bpmn": definitions(process(body))}, "p")
    assert spec.task_specs["sc"].script == script


def test_non_python_script_format_is_refused() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="sc" scriptFormat="groovy"><bpmn:script>x = 1'
            '</bpmn:script></bpmn:scriptTask>' + flow("f0", "s", "sc"))
    assert parse_error({"a.bpmn": definitions(process(body))}).problems[0].element_id == "sc"


def test_missing_error_reference_gives_the_real_message() -> None:
    # SpiffWorkflow 3.2.0 turned this into "TypeError: ... unexpected keyword argument 'node'".
    body = ('<bpmn:startEvent id="s"/><bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="nope"/>'
            '</bpmn:endEvent>' + flow("f0", "s", "e"))
    problem = parse_error({"a.bpmn": definitions(process(body))}).problems[0]
    assert "TypeError" not in problem.message and "'nope'" in problem.message
    assert problem.element_id == "e"


def test_data_stores_are_ignored_as_in_camunda() -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:task id="t"><bpmn:dataOutputAssociation id="a1">'
            '<bpmn:targetRef>ref</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:task>'
            '<bpmn:dataStoreReference id="ref" dataStoreRef="store"/><bpmn:endEvent id="e"/>'
            + flow("f0", "s", "t") + flow("f1", "t", "e"))
    parsed = parse_deployment({"a.bpmn": definitions(process(body), extra='<bpmn:dataStore id="store" name="CRM"/>')})
    assert parsed.processes[0].key == "p"


def test_business_rule_tasks() -> None:
    plain = ('<bpmn:startEvent id="s"/><bpmn:businessRuleTask id="rule" camunda:type="external" '
             'camunda:topic="rules"/><bpmn:endEvent id="e"/>' + flow("f0", "s", "rule") + flow("f1", "rule", "e"))
    assert parse_deployment({"a.bpmn": definitions(process(plain))}).processes[0].key == "p"
    dmn = plain.replace('camunda:type="external"', 'camunda:decisionRef="approve"')
    problem = parse_error({"a.bpmn": definitions(process(dmn))}).problems[0]
    assert problem.element_id == "rule" and "DMN" in problem.message


def test_subprocess_spec_classes() -> None:
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:endEvent id="se"/>'
           f'{flow("sf", "ss", "se")}</bpmn:subProcess>'
           '<bpmn:subProcess id="evt" triggeredByEvent="true"><bpmn:startEvent id="es">'
           '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent><bpmn:endEvent id="ee"/>'
           f'{flow("ef", "es", "ee")}</bpmn:subProcess>')
    body = '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + sub + flow("f0", "s", "sub") + flow("f1", "sub", "e")
    spec, subs = load_process({"a.bpmn": definitions(process(body), extra='<bpmn:signal id="sig" name="go"/>')},
                              "p")
    assert type(spec.task_specs["sub"]).__mro__[1] is not CallActivity
    assert isinstance(spec.task_specs["sub"], SubWorkflowTask)
    assert not isinstance(spec.task_specs["sub"], CallActivity)
    assert isinstance(spec.task_specs["evt"], EventSubprocess)
    assert set(subs) == {"sub", "evt"}


# ------------------------------------------------------------------------------- call activities


def caller(target: str) -> bytes:
    body = (f'<bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="{target}"/>'
            '<bpmn:endEvent id="e"/>' + flow("f0", "s", "call") + flow("f1", "call", "e"))
    return definitions(process(body, "parent"))


def callee(attrs: str = 'isExecutable="true"') -> bytes:
    body = '<bpmn:startEvent id="cs"/><bpmn:endEvent id="ce"/>' + flow("cf", "cs", "ce")
    return definitions(process(body, "child", attrs))


def test_call_activity_across_resources_of_one_deployment() -> None:
    resources = {"parent.bpmn": caller("child"), "child.bpmn": callee()}
    parsed = parse_deployment(resources)
    assert {m.key: m.resource_name for m in parsed.processes} == {"parent": "parent.bpmn", "child": "child.bpmn"}
    spec, subs = load_process(resources, "parent")
    assert set(subs) == {"child"}
    workflow = BpmnWorkflow(spec, subs)
    workflow.do_engine_steps()
    assert workflow.is_completed()


def test_call_activity_to_a_process_outside_the_deployment_names_the_call_activity() -> None:
    error = parse_error({"parent.bpmn": caller("elsewhere")})
    assert error.resource_name == "parent.bpmn"
    assert error.problems[0].element_id == "call"
    assert "'elsewhere'" in error.problems[0].message


def test_call_activity_to_a_non_executable_process() -> None:
    error = parse_error({"parent.bpmn": caller("child"), "child.bpmn": callee('isExecutable="false"')})
    assert error.problems[0].element_id == "call" and "not executable" in error.problems[0].message


def test_dynamic_called_element_is_refused() -> None:
    error = parse_error({"parent.bpmn": caller("${which}")})
    assert error.problems[0].element_id == "call"


# ------------------------------------------------------------------------------- load_process


def test_load_process_is_deterministic_and_fast() -> None:
    resources = {"a.bpmn": definitions(LINEAR)}
    load_process(resources, "p")
    started = time.perf_counter()
    specs = [load_process(resources, "p") for _ in range(20)]
    assert (time.perf_counter() - started) / 20 < 0.05
    names = {tuple(sorted(spec.task_specs)) for spec, _ in specs}
    assert len(names) == 1


def test_load_process_unknown_key() -> None:
    with pytest.raises(BpmnParseError, match="not defined"):
        load_process({"a.bpmn": definitions(LINEAR)}, "nope")


def test_validator_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    original = bpmn_parser.BpmnValidator

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(bpmn_parser, "_validator", None)
    monkeypatch.setattr(bpmn_parser, "BpmnValidator", Counting)
    for _ in range(3):
        parse_deployment({"a.bpmn": definitions(LINEAR)})
        BatonParser()
    assert built == [1]


# ------------------------------------------------------------------------------- model index


def test_model_index_of_a_user_task_model() -> None:
    index = build_model_index({"a.bpmn": definitions(LINEAR)}, "p")
    assert index.none_start_event_id == "start"
    assert index.flows["f1"].source == "start" and index.flows["f1"].target == "approve"
    approve = index.activities["approve"]
    assert (approve.activity_type, approve.assignee, approve.candidate_groups, approve.incoming,
            approve.outgoing) == ("userTask", "demo", ["a", "b"], ["f1"], ["f2"])
    assert index.activities["end"].activity_type == "noneEndEvent"
    assert index.activity_for_spec("approve [child]") is approve
    assert index.activity_for_spec("Start") is None
    assert multi_instance_body_id("approve") == "approve#multiInstanceBody"


# ------------------------------------------------------------------------------- robustness


def test_mutated_models_only_ever_raise_bpmn_parse_error() -> None:
    base = definitions(LINEAR).decode()
    rng = random.Random(1234)
    for _ in range(300):
        text = list(base)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text))
            action = rng.choice(("delete", "dup", "swap"))
            if action == "delete":
                del text[pos]
            elif action == "dup":
                text.insert(pos, text[pos])
            else:
                other = rng.randrange(len(text))
                text[pos], text[other] = text[other], text[pos]
        data = "".join(text).encode()
        try:
            result = parse_deployment({"m.bpmn": data})
        except BpmnParseError as exc:
            assert exc.problems and all(isinstance(p, BpmnProblem) and p.message for p in exc.problems)
        else:
            assert isinstance(result, ParsedDeployment)
