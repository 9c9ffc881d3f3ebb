"""Hostile input through the HTTP API: every case ends in a clear 4xx (or an incident), never a 500,
and leaves everything else as it was.

Uploaded BPMN: external entities (file, network, parameter, external DTD, UTF-16), entity
expansion bombs, deep nesting, non-XML bytes, XML that is not BPMN, uploads over the limit.
Request bodies: malformed JSON and wrong JSON types on start, complete and the variable
endpoints; unsupported variable types; unknown ids; over-long and NUL-carrying strings.
Scripts: imports, file access, ``__import__``, the ``__subclasses__`` escape, endless loops and
memory bombs become incidents on a kept instance. A 500, when one happens, has no stack trace.

The app here is built from the usual settings with a small upload limit and script time limit.
"""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import models
import pytest
from e2e_helpers import ER, GENERIC_500, assert_camunda_error, assert_parse_error, free_port

from app.config import Settings

UPLOAD_LIMIT = 256 * 1024
SCRIPT_TIME_LIMIT = 0.5
PASSWD_MARKER = "root:"  # what /etc/passwd would leak


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings (same database), with a small upload limit and a short script budget."""
    return dataclasses.replace(settings, max_upload_bytes=UPLOAD_LIMIT, script_time_limit=SCRIPT_TIME_LIMIT)


def counts(client: Any) -> dict[str, int]:
    def count(path: str) -> int:
        response = client.get(f"{ER}{path}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["count"]
    return {"deployments": count("/deployment/count"), "definitions": count("/process-definition/count"),
            "instances": count("/history/process-instance/count"), "tasks": count("/task/count"),
            "incidents": count("/incident/count")}


@pytest.fixture
def baseline(client: Any) -> dict[str, Any]:
    """One deployed model with one running instance waiting at task A, so 'unchanged' means something."""
    client.deploy_ok({"linear.bpmn": models.linear()}, name="baseline")
    instance = client.start("linear", {"x": {"value": 1, "type": "Integer"}}, business_key="base-1")
    [task] = client.get(f"{ER}/task?processInstanceId={instance['id']}").get_json()
    return {"instance": instance["id"], "task": task["id"], "definition": instance["definitionId"],
            "counts": counts(client),
            "variables": client.get(f"{ER}/process-instance/{instance['id']}/variables").get_json()}


def assert_unchanged(client: Any, baseline: dict[str, Any]) -> None:
    assert counts(client) == baseline["counts"]
    instance_id = baseline["instance"]
    assert client.get(f"{ER}/process-instance/{instance_id}/variables").get_json() == baseline["variables"]
    assert [t["id"] for t in client.get(f"{ER}/task?processInstanceId={instance_id}").get_json()] == \
        [baseline["task"]]


def assert_still_serving(client: Any) -> None:
    """A normal start and completion still work."""
    started = client.start("linear", business_key="after-hostile")
    for _ in range(2):
        [task] = client.get(f"{ER}/task?processInstanceId={started['id']}").get_json()
        assert client.post(f"{ER}/task/{task['id']}/complete", json={}).status_code == 204
    assert client.get(f"{ER}/history/process-instance/{started['id']}").get_json()["state"] == "COMPLETED"


# ------------------------------------------------------------------------------------------
# Hostile XML


def bpmn_with(prolog: str, start_name: str = "Start") -> str:
    """A valid model with ``prolog`` (a DOCTYPE) in front and ``start_name`` as the start event's name."""
    xml = models.process("hostile", f'<bpmn:startEvent id="start" name="{start_name}" />'
                         + models.user_task("A") + '<bpmn:endEvent id="end" />'
                         + models.flow("f1", "start", "A") + models.flow("f2", "A", "end"))
    head, body = xml.split("\n", 1)
    return f"{head}\n{prolog}\n{body}"


def billion_laughs() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return bpmn_with(f"<!DOCTYPE bpmn:definitions [{entities}]>", "&lol9;")


def quadratic_blowup() -> str:
    return bpmn_with(f'<!DOCTYPE bpmn:definitions [<!ENTITY a "{"A" * 50_000}">]>', "&a;" * 10_000)


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        body = b'<!ENTITY leak "network-entity-was-fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_http() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request (an XXE fetch would show up here)."""
    handler = type("Recorder", (_Recorder,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


HOSTILE_XML = {
    "xxe-file": (lambda base: bpmn_with('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
                 "hostile.bpmn", "DOCTYPE or ENTITY"),
    "xxe-file-in-xml-resource": (lambda base: bpmn_with(
        '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"), "model.xml", "DOCTYPE or ENTITY"),
    "xxe-network": (lambda base: bpmn_with(f'<!DOCTYPE d [<!ENTITY x SYSTEM "{base}/entity">]>', "&x;"),
                    "hostile.bpmn", "DOCTYPE or ENTITY"),
    "xxe-parameter-entity": (lambda base: bpmn_with(
        f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{base}/param.dtd"> %p;]>', "&leak;"), "hostile.bpmn",
        "DOCTYPE or ENTITY"),
    "external-dtd": (lambda base: bpmn_with(f'<!DOCTYPE bpmn:definitions SYSTEM "{base}/bpmn.dtd">'),
                     "hostile.bpmn", "DOCTYPE or ENTITY"),
    "xxe-utf16": (lambda base: bpmn_with('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")
                  .replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), "hostile.bpmn",
                  "DOCTYPE or ENTITY"),
    "billion-laughs": (lambda base: billion_laughs(), "hostile.bpmn", "DOCTYPE or ENTITY"),
    "quadratic-blowup": (lambda base: quadratic_blowup(), "hostile.bpmn", "DOCTYPE or ENTITY"),
    "deeply-nested-bpmn": (lambda base: models.process(
        "deep", '<bpmn:startEvent id="start"><bpmn:extensionElements>' + '<x:a xmlns:x="urn:x">' * 5000
        + "</x:a>" * 5000 + "</bpmn:extensionElements></bpmn:startEvent>"), "hostile.bpmn", "nested too deeply"),
    "deeply-nested-xml": (lambda base: "<a>" * 20_000 + "</a>" * 20_000, "hostile.bpmn", "nested too deeply"),
    "long-chain-of-tasks": (lambda base: models.process(
        "chain", '<bpmn:startEvent id="start" />' + "".join(f'<bpmn:task id="t{i}" />' for i in range(1500))
        + '<bpmn:endEvent id="end" />' + models.flow("f_s", "start", "t0")
        + "".join(models.flow(f"f{i}", f"t{i}", f"t{i + 1}") for i in range(1499))
        + models.flow("f_e", "t1499", "end")), "hostile.bpmn", "too deeply nested or has too long a chain"),
    "binary-bytes": (lambda base: bytes(range(256)) * 8, "hostile.bpmn", "not well-formed XML"),
    "empty-file": (lambda base: b"", "hostile.bpmn", "empty"),
    "html-named-bpmn": (lambda base: "<html/>", "page.bpmn", "not BPMN 2.0"),
    "unclosed-bpmn": (lambda base: models.linear("broken")[:-40], "hostile.bpmn", "not well-formed XML"),
}


@pytest.mark.parametrize("case", HOSTILE_XML)
def test_hostile_xml_is_refused_without_side_effects(client: Any, baseline: dict, loopback_http: Any,
                                                     case: str) -> None:
    base_url, hits = loopback_http
    build, filename, reason = HOSTILE_XML[case]
    payload = build(base_url)
    started = time.monotonic()
    response = client.deploy({filename: payload}, name=f"hostile-{case}")
    assert time.monotonic() - started < 5, "a hostile upload must be refused quickly"
    body = response.get_json()
    assert response.status_code == 400, body
    first = assert_parse_error(body, [filename], contains=reason)
    if first["mainElementId"] is not None:  # a named element really is in the upload
        assert f'id="{first["mainElementId"]}"' in (payload if isinstance(payload, str) else payload.decode("latin-1"))
    assert PASSWD_MARKER not in response.get_data(as_text=True)
    assert "network-entity-was-fetched" not in response.get_data(as_text=True)
    assert hits == [], "the server fetched a URL named in the upload"
    assert_unchanged(client, baseline)


def test_a_hostile_resource_spoils_the_whole_deployment(client: Any, baseline: dict) -> None:
    response = client.deploy({"good.bpmn": models.linear("good"),
                              "evil.bpmn": bpmn_with('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                                                     "&x;")})
    assert_parse_error(response.get_json(), ["evil.bpmn"], contains="DOCTYPE or ENTITY")
    assert client.get(f"{ER}/process-definition/key/good").status_code == 404
    assert_unchanged(client, baseline)


def test_upload_over_the_limit_gets_413(client: Any, baseline: dict) -> None:
    def padded(size: int) -> str:
        xml = models.linear("padded")
        return xml.replace("</bpmn:definitions>", f"<!-- {'x' * (size - len(xml) - 30)} --></bpmn:definitions>")

    too_big = client.deploy({"big.bpmn": padded(UPLOAD_LIMIT + 1)})
    assert too_big.status_code == 413
    assert_camunda_error(too_big.get_json(), 413, "InvalidRequestException",
                         "The request body is larger than the allowed maximum")
    assert_unchanged(client, baseline)
    # The limit is the configured one, not some other ceiling: just below it deploys.
    fits = client.deploy({"big.bpmn": padded(UPLOAD_LIMIT - 4096)})
    assert fits.status_code == 200, fits.get_json()
    assert client.get(f"{ER}/process-definition/key/padded").status_code == 200


def test_json_body_over_the_limit_gets_413(client: Any, baseline: dict) -> None:
    body = '{"businessKey": "' + "k" * UPLOAD_LIMIT + '"}'
    response = client.post(f"{ER}/process-definition/key/linear/start", data=body, content_type="application/json")
    assert response.status_code == 413
    assert_camunda_error(response.get_json(), 413, "InvalidRequestException")
    assert_unchanged(client, baseline)


# ------------------------------------------------------------------------------------------
# Malformed request bodies

MALFORMED = "Malformed JSON"

#: (method, path template, body, expected type, expected message fragment). Templates use the
#: baseline's {instance}, {task} and {definition}. ``str`` bodies are sent raw as application/json.
BAD_BODIES = [
    ("post", "/process-definition/key/linear/start", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/process-definition/{definition}/start", '{"variables": {', "InvalidRequestException", MALFORMED),
    ("post", "/process-definition/key/linear/start", "[1, 2]", "InvalidRequestException", "must be a JSON object"),
    ("post", "/process-definition/key/linear/start", '"text"', "InvalidRequestException", "must be a JSON object"),
    ("post", "/process-definition/key/linear/start", {"variables": []}, "InvalidRequestException",
     "'variables': expected a JSON object"),
    ("post", "/process-definition/key/linear/start", {"variables": {"a": 5}}, "InvalidRequestException",
     "variable 'a': expected a JSON object"),
    ("post", "/process-definition/key/linear/start", {"businessKey": 5}, "InvalidRequestException",
     "'businessKey': expected a string"),
    ("post", "/process-definition/key/linear/start", {"startInstructions": {}}, "InvalidRequestException",
     "'startInstructions': expected an array"),
    ("post", "/process-definition/key/linear/start", {"withVariablesInReturn": "maybe"}, "InvalidRequestException",
     "'withVariablesInReturn': expected a boolean"),
    ("post", "/process-definition/key/linear/start", {"variables": {"n": {"value": "abc", "type": "Integer"}}},
     "InvalidRequestException", "Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer"),
    ("post", "/process-definition/key/linear/start", {"variables": {"d": {"value": "NaN", "type": "Double"}}},
     "InvalidRequestException", "to java type java.lang.Double"),
    ("post", "/process-definition/key/linear/start", '{"variables": {"d": {"value": NaN, "type": "Double"}}}',
     "InvalidRequestException", "to java type java.lang.Double"),
    ("post", "/process-definition/key/linear/start", {"variables": {"j": {"value": "{not json", "type": "Json"}}},
     "InvalidRequestException", "Cannot parse value of variable 'j' as Json"),
    ("post", "/process-definition/key/linear/start",
     {"variables": {"j": {"value": "[" * 5000 + "]" * 5000, "type": "Json"}}}, "InvalidRequestException",
     "Cannot parse value of variable 'j' as Json"),
    ("post", "/process-definition/key/linear/start", {"variables": {"d": {"value": 5, "type": "Date"}}},
     "InvalidRequestException", "to java type java.util.Date"),
    ("post", "/process-definition/key/linear/start", b"\xff\xfe\x00", "InvalidRequestException", MALFORMED),
    ("post", "/task/{task}/complete", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/task/{task}/complete", "[]", "InvalidRequestException", "must be a JSON object"),
    ("post", "/task/{task}/complete", {"variables": 3}, "InvalidRequestException",
     "'variables': expected a JSON object"),
    ("post", "/task/{task}/complete", {"variables": {"x": {"value": 1, "valueInfo": 3}}}, "InvalidRequestException",
     "Invalid valueInfo of variable 'x'"),
    ("post", "/task/{task}/complete", {"variables": {"x": {"value": "1.5", "type": "Long"}}},
     "InvalidRequestException", "java.lang.Long"),
    ("post", "/task/{task}/complete", {"withVariablesInReturn": 1}, "InvalidRequestException",
     "'withVariablesInReturn': expected a boolean"),
    ("post", "/task/{task}/submit-form", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/process-instance/{instance}/variables", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/process-instance/{instance}/variables", {"modifications": []}, "InvalidRequestException",
     "'modifications': expected a JSON object"),
    ("post", "/process-instance/{instance}/variables", {"deletions": "x"}, "InvalidRequestException",
     "'deletions': expected an array"),
    ("post", "/process-instance/{instance}/variables", {"deletions": [1]}, "InvalidRequestException",
     "'deletions': expected an array of strings"),
    ("post", "/process-instance/{instance}/variables",
     {"modifications": {"x": {"value": "x", "type": "Boolean"}}, "deletions": ["x"]}, "InvalidRequestException",
     "java.lang.Boolean"),
    ("put", "/process-instance/{instance}/variables/x", "{bad", "InvalidRequestException", MALFORMED),
    ("put", "/process-instance/{instance}/variables/x", "[1]", "InvalidRequestException", "must be a JSON object"),
    ("put", "/process-instance/{instance}/variables/x", {"value": "abc", "type": "Integer"},
     "InvalidRequestException", "Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer"),
    ("put", "/process-instance/{instance}/variables/x", {"value": 1, "type": 7}, "RestException",
     "Unsupported value type '7'"),
    ("post", "/task/{task}/variables", {"modifications": 1}, "InvalidRequestException",
     "'modifications': expected a JSON object"),
    ("put", "/task/{task}/variables/x", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/message", "{bad", "InvalidRequestException", MALFORMED),
    ("post", "/message", {"messageName": 5}, "InvalidRequestException", "'messageName': expected a string"),
    ("post", "/message", {"messageName": "go", "processVariables": []}, "InvalidRequestException",
     "'processVariables': expected a JSON object"),
    ("post", "/process-instance", '{"processInstanceIds": "x"', "InvalidRequestException", MALFORMED),
    ("post", "/task", "[]", "InvalidRequestException", "must be a JSON object"),
]


def _send(client: Any, method: str, path: str, body: Any) -> Any:
    if isinstance(body, str | bytes):
        return getattr(client, method)(f"{ER}{path}", data=body, content_type="application/json")
    return getattr(client, method)(f"{ER}{path}", json=body)


@pytest.mark.parametrize(("method", "template", "body", "type_", "fragment"), BAD_BODIES,
                         ids=[f"{m}-{t}-{i}" for i, (m, t, *_rest) in enumerate(BAD_BODIES)])
def test_bad_json_bodies_get_400_and_change_nothing(client: Any, baseline: dict, method: str, template: str,
                                                    body: Any, type_: str, fragment: str) -> None:
    path = template.format(**baseline)
    response = _send(client, method, path, body)
    assert response.status_code == 400, response.get_json()
    assert_camunda_error(response.get_json(), 400, type_, contains=fragment)
    assert_unchanged(client, baseline)


def test_deeply_nested_json_body_gets_400(client: Any, baseline: dict) -> None:
    response = _send(client, "post", "/process-definition/key/linear/start", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400, response.get_json()
    assert_camunda_error(response.get_json(), 400, "InvalidRequestException", contains=MALFORMED)
    assert_unchanged(client, baseline)


@pytest.mark.parametrize("type_name", ["Object", "Bytes", "File", "Xml", "Short", "STRING", "java.lang.String"])
def test_unsupported_variable_types_get_the_exact_400(client: Any, baseline: dict, type_name: str) -> None:
    value = {"value": "1", "type": type_name}
    expected = f"Unsupported value type '{type_name}'"
    put = client.put(f"{ER}/process-instance/{baseline['instance']}/variables/y", json=value)
    assert_camunda_error(put.get_json(), 400, "RestException", expected)
    modify = client.post(f"{ER}/process-instance/{baseline['instance']}/variables",
                         json={"modifications": {"y": value}})
    assert_camunda_error(modify.get_json(), 400, "RestException", expected)
    start = client.post(f"{ER}/process-definition/key/linear/start", json={"variables": {"y": value}})
    assert_camunda_error(start.get_json(), 400, "RestException",
                         f"Cannot instantiate process definition {baseline['definition']}: {expected}")
    complete = client.post(f"{ER}/task/{baseline['task']}/complete", json={"variables": {"y": value}})
    assert_camunda_error(complete.get_json(), 400, "RestException",
                         f"Cannot complete task {baseline['task']}: {expected}")
    assert_unchanged(client, baseline)


# ------------------------------------------------------------------------------------------
# Unknown ids and paths

UNKNOWN = "00000000-0000-0000-0000-00000000dead"
NOT_FOUND = [
    ("/deployment/{id}", "InvalidRequestException", "Deployment with id '{id}' does not exist"),
    ("/deployment/{id}/resources", "InvalidRequestException", "Deployment with id '{id}' does not exist"),
    ("/process-definition/{id}", "InvalidRequestException", None),
    ("/process-definition/{id}/xml", "InvalidRequestException", None),
    ("/process-definition/key/{id}", "RestException", None),
    ("/process-definition/key/{id}/xml", "RestException", None),
    ("/process-instance/{id}", "InvalidRequestException", "Process instance with id {id} does not exist"),
    ("/process-instance/{id}/activity-instances", "InvalidRequestException", None),
    ("/process-instance/{id}/variables/x", "InvalidRequestException", None),
    ("/task/{id}", "InvalidRequestException", None),
    ("/task/{id}/variables", "InvalidRequestException", None),
    ("/history/process-instance/{id}", "InvalidRequestException", None),
    ("/history/activity-instance/{id}", "InvalidRequestException", None),
    ("/history/variable-instance/{id}", "InvalidRequestException", None),
    ("/incident/{id}", "InvalidRequestException", None),
    ("/job/{id}", "InvalidRequestException", None),
    ("/job-definition/{id}", "InvalidRequestException", None),
    ("/batch/{id}", "InvalidRequestException", None),
]


@pytest.mark.parametrize(("template", "type_", "message"), NOT_FOUND, ids=[t for t, *_ in NOT_FOUND])
def test_unknown_ids_get_404_in_camundas_shape(client: Any, baseline: dict, template: str, type_: str,
                                               message: str | None) -> None:
    response = client.get(f"{ER}{template.format(id=UNKNOWN)}")
    assert response.status_code == 404, response.get_json()
    body = response.get_json()
    assert_camunda_error(body, 404, type_, message.format(id=UNKNOWN) if message else None, contains=UNKNOWN)
    assert_unchanged(client, baseline)


def test_unknown_ids_on_writes_and_unknown_paths(client: Any, baseline: dict) -> None:
    for method, path, status in [("delete", f"/deployment/{UNKNOWN}", 404),
                                 ("delete", f"/process-instance/{UNKNOWN}", 404),
                                 ("get", "/no-such-resource", 404),
                                 ("get", "/process-definition/key/linear/no-such-action", 404),
                                 ("delete", "/engine", 405)]:
        response = getattr(client, method)(f"{ER}{path}", json={} if method == "post" else None)
        assert response.status_code == status, (path, response.get_json())
        assert_camunda_error(response.get_json(), status, response.get_json()["type"])
    # Camunda answers 500 for these unknown ids, and so does Baton (contract 8.5, 9.4) - without a trace.
    variables = client.get(f"{ER}/process-instance/{UNKNOWN}/variables")
    assert variables.status_code == 500
    assert_camunda_error(variables.get_json(), 500, "InvalidRequestException", contains=UNKNOWN)
    complete = client.post(f"{ER}/task/{UNKNOWN}/complete", json={})
    assert complete.status_code == 500
    assert_camunda_error(complete.get_json(), 500, "RestException",
                         f"Cannot complete task {UNKNOWN}: Cannot find task with id {UNKNOWN}: task is null")
    assert_unchanged(client, baseline)


# ------------------------------------------------------------------------------------------
# Strings the database cannot take as they are: refused or kept intact, never a 500



@pytest.fixture
def pg_bug() -> None:
    """Formerly an expected failure on PostgreSQL; the store now answers DataError with a 400."""


def _accepted_or_refused(response: Any) -> bool:
    """True when accepted (2xx); a refusal must be a clean 400."""
    if response.status_code == 400:
        assert_camunda_error(response.get_json(), 400, response.get_json()["type"])
        return False
    assert response.status_code in (200, 204), (response.status_code, response.get_json())
    return True


def test_over_long_strings_are_refused_or_kept_intact(client: Any, baseline: dict, pg_bug: None) -> None:
    long_key = "k" * 1000
    started = client.post(f"{ER}/process-definition/key/linear/start", json={"businessKey": long_key})
    if _accepted_or_refused(started):
        instance = client.get(f"{ER}/process-instance/{started.get_json()['id']}").get_json()
        assert instance["businessKey"] == long_key

    long_name = "v" * 300
    put = client.put(f"{ER}/process-instance/{baseline['instance']}/variables/{long_name}",
                     json={"value": 1, "type": "Integer"})
    if _accepted_or_refused(put):
        variables = client.get(f"{ER}/process-instance/{baseline['instance']}/variables").get_json()
        assert variables[long_name] == {"value": 1, "type": "Integer", "valueInfo": {}}

    deployment_name = "n" * 1000
    named = client.deploy({"named.bpmn": models.linear("named")}, name=deployment_name)
    if _accepted_or_refused(named):
        assert client.get(f"{ER}/deployment/{named.get_json()['id']}").get_json()["name"] == deployment_name

    process_key = "p" * 300
    keyed = client.deploy({"keyed.bpmn": models.linear(process_key)})
    if _accepted_or_refused(keyed):
        assert client.get(f"{ER}/process-definition/key/{process_key}").status_code == 200

    resource_name = "r" * 1100 + ".bpmn"
    resourced = client.deploy({resource_name: models.linear("resourced")})
    if _accepted_or_refused(resourced):
        [definition] = resourced.get_json()["deployedProcessDefinitions"].values()
        assert definition["resource"] == resource_name


def test_nul_characters_are_refused_or_kept_intact(client: Any, baseline: dict, pg_bug: None) -> None:
    started = client.post(f"{ER}/process-definition/key/linear/start", json={
        "businessKey": "nul\u0000key", "variables": {"s": {"value": "nul\u0000value", "type": "String"}}})
    if _accepted_or_refused(started):
        instance_id = started.get_json()["id"]
        assert client.get(f"{ER}/process-instance/{instance_id}").get_json()["businessKey"] == "nul\u0000key"
        variables = client.get(f"{ER}/process-instance/{instance_id}/variables").get_json()
        assert variables["s"]["value"] == "nul\u0000value"
    lookup = client.get(f"{ER}/process-instance?businessKey=nul%00key")
    assert lookup.status_code in (200, 400), lookup.get_json()
    by_id = client.get(f"{ER}/process-instance/abc%00def")
    assert by_id.status_code in (400, 404), by_id.get_json()


# ------------------------------------------------------------------------------------------
# Hostile scripts: the instance is kept with an incident that names the problem


def script_model(key: str, script: str) -> str:
    return models.process(key, '<bpmn:startEvent id="start" />' + models.script_task("evil", escape(script))
                          + models.user_task("after") + '<bpmn:endEvent id="end" />'
                          + models.flow("f1", "start", "evil") + models.flow("f2", "evil", "after")
                          + models.flow("f3", "after", "end"))


HOSTILE_SCRIPTS = {
    "import-os": ("import os\nresult = os.listdir('/')", "import of 'os' is not allowed"),
    "import-subprocess": ("import subprocess\nresult = subprocess.run(['id'])", "import of 'subprocess'"),
    "open-passwd": ("result = open('/etc/passwd').read()", "open() is not allowed"),
    "dunder-import": ("result = __import__('os').getcwd()", "__import__"),
    "subclasses-escape": ("result = ().__class__.__base__.__subclasses__()", "__subclasses__"),
    "getattr-escape": ("result = getattr((), '__class__')", "'__class__' is not allowed"),
    "format-escape": ("result = '{0.__class__}'.format(1)", "format"),
    "endless-loop": ("while True:\n    pass", "time budget"),
    "endless-counting": ("result = 0\nwhile True:\n    result += 1", "time budget"),
    "memory-bomb": ("result = 'a' * (10 ** 10)", "MB; the budget is"),
}


@pytest.mark.parametrize("case", HOSTILE_SCRIPTS)
def test_hostile_scripts_become_incidents(client: Any, baseline: dict, case: str) -> None:
    script, problem = HOSTILE_SCRIPTS[case]
    key = f"evil-{case}"
    client.deploy_ok({f"{key}.bpmn": script_model(key, script)}, name=key)
    before = counts(client)

    began = time.monotonic()
    response = client.post(f"{ER}/process-definition/key/{key}/start", json={})
    assert time.monotonic() - began < SCRIPT_TIME_LIMIT + 5, "the script budget did not stop the script"
    assert response.status_code == 200, response.get_json()
    instance_id = response.get_json()["id"]
    assert response.get_json()["ended"] is False

    [incident] = client.get(f"{ER}/incident?processInstanceId={instance_id}").get_json()
    assert incident["activityId"] == "evil" and incident["incidentType"] == "failedJob"
    assert problem in incident["incidentMessage"], incident["incidentMessage"]
    assert PASSWD_MARKER not in incident["incidentMessage"]
    # The instance is kept, stuck before the task that follows the script, with nothing written.
    assert client.get(f"{ER}/process-instance/{instance_id}").status_code == 200
    assert client.get(f"{ER}/task?processInstanceId={instance_id}").get_json() == []
    assert "result" not in client.get(f"{ER}/process-instance/{instance_id}/variables").get_json()
    assert counts(client) == {**before, "instances": before["instances"] + 1,
                              "incidents": before["incidents"] + 1}
    listed = client.get(f"{ER}/process-instance?withIncident=true").get_json()
    assert [p["id"] for p in listed] == [instance_id]
    # Nothing else was touched, and the server keeps serving.
    baseline_vars = client.get(f"{ER}/process-instance/{baseline['instance']}/variables").get_json()
    assert baseline_vars == baseline["variables"]
    assert_still_serving(client)


def test_scripts_cannot_write_files(client: Any, baseline: dict, tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    client.deploy_ok({"writer.bpmn": script_model("writer", f"open({str(target)!r}, 'w').write('x')")})
    response = client.post(f"{ER}/process-definition/key/writer/start", json={})
    assert response.status_code == 200
    [incident] = client.get(f"{ER}/incident?processInstanceId={response.get_json()['id']}").get_json()
    assert "open() is not allowed" in incident["incidentMessage"]
    assert not target.exists()


# ------------------------------------------------------------------------------------------
# 500s carry no stack trace


def test_an_unexpected_error_answers_500_without_a_trace(client: Any, baseline: dict,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services import deployments

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals at /srv/baton/app/services/deployments.py line 42")

    monkeypatch.setattr(deployments, "list_deployments", explode)
    response = client.get(f"{ER}/deployment")
    assert response.status_code == 500
    assert response.get_json() == {"type": "ProcessEngineException", "message": GENERIC_500, "code": 0}
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "secret" not in text and "RuntimeError" not in text


def test_a_failure_while_saving_answers_500_and_rolls_back(client: Any, baseline: dict,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine import serializer

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("serializer exploded with secret state")

    monkeypatch.setattr(serializer, "dumps", explode)
    response = client.post(f"{ER}/process-definition/key/linear/start", json={"businessKey": "doomed"})
    assert response.status_code == 500
    assert response.get_json() == {"type": "ProcessEngineException", "message": GENERIC_500, "code": 0}
    assert "secret" not in response.get_data(as_text=True)
    monkeypatch.undo()
    assert_unchanged(client, baseline)
    assert client.get(f"{ER}/history/process-instance?processInstanceBusinessKey=doomed").get_json() == []
