"""Running compiled definitions with the Keyfactor script engine (no network)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest
from kfengine_support import PROCESS_KEY, RunSteps

from app.engine import runtime, serializer
from app.engine.keyfactor import ca
from app.engine.keyfactor.compiler import compile_definition
from app.engine.keyfactor.connectors import StepError, run_step
from app.engine.keyfactor.engine import make_keyfactor_script_engine
from app.engine.keyfactor.settings import KeyfactorSettings
from app.engine.parsing import load_process


def linked(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    for step, nxt in zip(steps, steps[1:], strict=False):
        step["Outputs"] = {"continue": nxt["UniqueName"]}
    return list(steps)


def noop(name: str, **extra: Any) -> dict[str, Any]:
    return {"UniqueName": name, "ExtensionName": "NOOPStep", **extra}


def metadata(name: str, field: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"UniqueName": name, "ExtensionName": "UpdateMetadata",
            "ConfigurationParameters": {"Name": field, "Value": value}, **extra}


def approval(name: str, **extra: Any) -> dict[str, Any]:
    return {"UniqueName": name, "ExtensionName": "RequireApproval",
            "Signals": [{"SignalName": "ApprovalStatus", "RoleIds": [1]}], **extra}


def script(name: str, content: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"ScriptContent": content}
    if parameters is not None:
        params["ScriptParameters"] = parameters
    return {"UniqueName": name, "ExtensionName": "PythonScript", "ConfigurationParameters": params}


def test_noop_chain_completes(run_steps: RunSteps) -> None:
    run = run_steps(linked(noop("StartNOOP"), noop("Middle"), noop("EndNOOP")), {"cn": "a"})
    assert run.failure is None
    assert runtime.is_finished(run.workflow) and runtime.end_state(run.workflow) == "COMPLETED"
    assert [i for i in run.ran() if i.startswith("Step_")] == ["Step_StartNOOP", "Step_Middle", "Step_EndNOOP"]
    assert run.data == {"cn": "a"}


def test_condition_decides_whether_a_step_runs(run_steps: RunSteps) -> None:
    steps = linked(noop("Start"), metadata("Tag", "Tagged", "yes-$(cn)",
                                           Conditions=[{"Value": "$(metadata:Wanted)"}]), noop("End"))
    skipped = run_steps(steps, {"cn": "a", "Metadata": {"Wanted": "False"}})
    assert skipped.failure is None and runtime.is_finished(skipped.workflow)
    assert "Step_Tag" not in skipped.ran() and skipped.data["Metadata"] == {"Wanted": "False"}
    ran = run_steps(steps, {"cn": "a", "metadata": {"wanted": " TRUE "}})
    assert "Step_Tag" in ran.ran()
    assert ran.data["metadata"] == {"wanted": " TRUE ", "Tagged": "yes-a"}


def test_every_condition_must_hold(run_steps: RunSteps) -> None:
    steps = [metadata("Tag", "T", "x", Conditions=[{"Value": "true"}, {"Value": "$(second)"}])]
    assert "Step_Tag" not in run_steps(steps, {"second": "no"}).ran()
    assert "Step_Tag" in run_steps(steps, {"second": True}).ran()


def test_disabled_step_is_skipped(run_steps: RunSteps) -> None:
    run = run_steps(linked(noop("Start"), metadata("Off", "T", "x", Enabled=False), noop("End")))
    assert run.failure is None and runtime.is_finished(run.workflow)
    assert "Step_Off" not in run.ran() and "Step_End" in run.ran()


def test_approval_waits_then_continues(run_steps: RunSteps) -> None:
    steps = linked(noop("Start"), approval("Approve"), metadata("After", "Done", "yes"))
    run = run_steps(steps, {"cn": "a"})
    assert run.failure is None and not runtime.is_finished(run.workflow)
    assert run.waiting() == ["Step_Approve"]
    run.answer(True)
    assert run.failure is None and runtime.is_finished(run.workflow)
    assert runtime.end_state(run.workflow) == "COMPLETED"
    assert run.data["Metadata"] == {"Done": "yes"}


def test_denial_ends_at_kf_rejected(run_steps: RunSteps) -> None:
    steps = linked(noop("Start"), approval("Approve"), metadata("After", "Done", "yes"))
    run = run_steps(steps).answer(False)
    assert run.failure is None and runtime.is_finished(run.workflow)
    assert runtime.end_state(run.workflow) == "INTERNALLY_TERMINATED"
    assert "kf_rejected" in run.ran() and "Step_After" not in run.ran() and "Complete" not in run.ran()
    assert "Metadata" not in run.data


def test_two_approvals_and_a_skipped_one(run_steps: RunSteps) -> None:
    steps = linked(approval("First"), approval("Skipped", Conditions=[{"Value": "$(ask)"}]), approval("Last"))
    run = run_steps(steps, {"ask": "false"})
    assert run.waiting() == ["Step_First"]
    run.answer(True)
    assert run.waiting() == ["Step_Last"]  # the conditional approval did not wait
    run.answer(True)
    assert runtime.is_finished(run.workflow) and runtime.end_state(run.workflow) == "COMPLETED"


def test_state_survives_serialization(run_steps: RunSteps, kf_settings: KeyfactorSettings) -> None:
    steps = linked(approval("Approve"), metadata("After", "Done", "$(cn)"))
    run = run_steps(steps, {"cn": "host a"})
    text = serializer.dumps(run.workflow)
    xml = compile_definition(PROCESS_KEY, "Test", "Expiration", steps)
    spec, subprocesses = load_process({"k.bpmn": xml}, PROCESS_KEY)
    workflow = serializer.loads(text, spec, subprocesses, make_keyfactor_script_engine(kf_settings))
    (task,) = runtime.ready_user_tasks(workflow)
    runtime.complete_user_task(workflow, task, {"kf_approved": True})
    assert runtime.run(workflow) is None and runtime.is_finished(workflow)
    assert runtime.process_variables(workflow)["Metadata"] == {"Done": "host a"}


def test_python_script_merges_assigned_names(run_steps: RunSteps) -> None:
    content = ("import json\n"
               "total = sum(values) * factor\n"
               "label = prefix + ' ' + cn.upper()\n"
               "values.append(99)\n"
               "report = json.dumps({'t': total})\n"
               "def helper():\n    return 1\n")
    step = script("Calc", content, {"factor": 2, "prefix": "$(metadata:Owner)"})
    run = run_steps([step], {"cn": "host", "values": [1, 2], "Metadata": {"Owner": "ops"}, "my key": "kept"})
    assert run.failure is None
    data = run.data
    assert data["total"] == 6 and data["label"] == "ops HOST" and data["values"] == [1, 2, 99]
    assert data["report"] == '{"t": 6}' and data["my key"] == "kept"
    assert "factor" not in data and "prefix" not in data and "helper" not in data  # parameters, functions


def test_python_script_cannot_import_os(run_steps: RunSteps) -> None:
    run = run_steps([script("Evil", "import os\nx = os.getcwd()")], {"cn": "a"})
    assert run.failure is not None
    assert run.failure.activity_id == "Step_Evil"
    assert run.failure.message.startswith("PythonScript 'Evil' failed: ")
    assert "import of 'os' is not allowed" in run.failure.message
    assert run.data.get("x") is None
    assert [t.task_spec.bpmn_id for t in runtime.error_tasks(run.workflow)] == ["Step_Evil"]


def test_python_script_error_names_the_line_and_merges_nothing(run_steps: RunSteps) -> None:
    run = run_steps([script("Broken", "a = 1\nb = 1 / 0\n")])
    assert run.failure is not None
    assert run.failure.message == "PythonScript 'Broken' failed: ZeroDivisionError: division by zero (line 2)"
    assert "a" not in run.data


def test_python_script_syntax_error(run_steps: RunSteps) -> None:
    run = run_steps([script("Bad", "x = (")])
    assert run.failure is not None and "PythonScript 'Bad' failed: " in run.failure.message


def test_update_metadata_creates_and_overwrites(run_steps: RunSteps) -> None:
    steps = linked(metadata("A", "owner", "$(cn)"), metadata("B", "New", "$(count)"))
    run = run_steps(steps, {"cn": "x", "count": 3, "Metadata": {"Owner": "old"}})
    assert run.data["Metadata"] == {"Owner": "x", "New": "3"}


def test_enroll_step_default_connector_records_the_request(run_steps: RunSteps) -> None:
    run = run_steps([noop("Start")], {"cn": "appsrvr12"}, workflow_type="Enrollment")
    assert run.failure is None and runtime.is_finished(run.workflow)
    assert "Step_EnrollStep" in run.ran()  # appended after the last step
    record = run.data["Enrollment"]
    assert record["data"] == {"cn": "appsrvr12"}
    assert record["requestedAt"].endswith("Z") and "T" in record["requestedAt"]


def test_revoke_step_default_connector(run_steps: RunSteps) -> None:
    steps = linked({"UniqueName": "Revoke", "ExtensionName": "RevokeStep"}, noop("After"))
    run = run_steps(steps, {"serial": "01"}, workflow_type="Revocation")
    assert run.ran().index("Step_Revoke") < run.ran().index("Step_After")
    assert run.data["Revocation"]["data"] == {"serial": "01"}


class FailingCA:
    def enroll(self, data: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"the CA refused CN={data.get('cn')}")

    def revoke(self, data: dict[str, Any], step: dict[str, Any]) -> None:
        return None


def test_ca_connector_from_entry_point(run_steps: RunSteps, monkeypatch: pytest.MonkeyPatch) -> None:
    point = importlib.metadata.EntryPoint(name="failing", value=f"{__name__}:FailingCA", group=ca.ENTRY_POINT_GROUP)
    monkeypatch.setattr(ca, "entry_points", lambda group: [point] if group == ca.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(ca, "_loaded", {})
    run = run_steps([noop("Start")], {"cn": "h"}, workflow_type="Enrollment",
                    settings=KeyfactorSettings(ca_connector="failing"))
    assert run.failure is not None
    assert run.failure.message == "EnrollStep 'EnrollStep' failed: the CA refused CN=h"
    assert run.failure.activity_id == "Step_EnrollStep"


def test_unknown_ca_connector_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ca, "_loaded", {})
    step = {"UniqueName": "E", "ExtensionName": "EnrollStep"}
    with pytest.raises(StepError, match="no certificate-authority connector named 'nope'"):
        run_step(None, step, {}, settings=KeyfactorSettings(ca_connector="nope"))


def test_email_without_smtp_server_fails(run_steps: RunSteps) -> None:
    step = {"UniqueName": "Mail", "ExtensionName": "Email",
            "ConfigurationParameters": {"Subject": "s", "Message": "m", "Recipients": ["a@example.com"]}}
    run = run_steps([step])
    assert run.failure is not None
    assert run.failure.message == "Email 'Mail' failed: no SMTP server is configured (set BATON_SMTP_HOST)"


def test_failed_step_can_be_retried(run_steps: RunSteps) -> None:
    run = run_steps(linked(script("Needs", "y = x * 2"), noop("End")), {})
    assert run.failure is not None and "NameError" in run.failure.message
    runtime.set_variables(run.workflow, {"x": 21})
    for task in runtime.error_tasks(run.workflow):
        task.data["x"] = 21
    assert runtime.retry_failed(run.workflow) == 1
    assert runtime.run(run.workflow) is None and runtime.is_finished(run.workflow)
    assert run.data["y"] == 42


def test_settings_from_env() -> None:
    settings = KeyfactorSettings.from_env({
        "BATON_SMTP_HOST": "mail.local", "BATON_SMTP_PORT": "2525", "BATON_SMTP_USER": "u",
        "BATON_SMTP_PASSWORD": " p ", "BATON_SMTP_FROM": "wf@example.com", "BATON_SMTP_STARTTLS": "yes",
        "BATON_HTTP_TIMEOUT": "2.5", "BATON_CA_CONNECTOR": "myca"})
    assert settings == KeyfactorSettings("mail.local", 2525, "u", " p ", "wf@example.com", True, 2.5, "myca")
    assert KeyfactorSettings.from_env({}) == KeyfactorSettings()
    for bad in ({"BATON_SMTP_PORT": "x"}, {"BATON_HTTP_TIMEOUT": "-1"}, {"BATON_SMTP_STARTTLS": "maybe"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            KeyfactorSettings.from_env(bad)
