"""``/engine-rest/openapi.json`` documents exactly what is served (issue 5, part 1).

- every route+method under ``/engine-rest`` is an operation of the document, and every
  operation is routed ("nothing undocumented is served");
- every operation documents its success response(s), its errors in Camunda's shape, and the
  global HTTP Basic security;
- query parameters and POST query bodies are the endpoint's ``QuerySpec``;
- every member of a documented request body is read by its view, and the view reads nothing
  undocumented;
- real responses of the endpoints whose bodies are assembled by hand validate against it;
- the Swagger UI is served with local assets.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_helpers import deref, flatten, response_schema, validate

from app.api.camunda.params import QuerySpec
from app.services.permissions import camunda_permission

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}  # added by Flask to every rule, never part of an API document
# Served under /engine-rest but documentation, not API: the document itself and its UI.
DOC_ROUTES = {"/engine-rest/openapi.json", "/engine-rest/swagger-ui"}


@pytest.fixture
def doc(client: Any) -> dict[str, Any]:
    response = client.raw.get("/engine-rest/openapi.json")  # public: no credentials needed
    assert response.status_code == 200
    return response.get_json()


def _operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in doc["paths"].items() for method in item
            if method != "parameters"}


def _routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/engine-rest" or rule.rule.startswith("/engine-rest/")) or rule.rule in DOC_ROUTES:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes |= {(path, method) for method in rule.methods - AUTOMATIC_METHODS}
    return routes


def test_every_route_is_documented_and_every_operation_is_routed(app: Any, doc: dict[str, Any]) -> None:
    routes, operations = _routes(app), _operations(doc)
    assert routes, "no /engine-rest routes found"
    assert sorted(routes - operations) == [], "served but not documented"
    assert sorted(operations - routes) == [], "documented but not served"


def test_document_header_security_and_error_shape(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.0")
    assert doc["security"] == [{"basicAuth": []}]
    assert doc["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
    error = doc["components"]["schemas"]["Exception"]
    assert set(error["properties"]) == {"type", "message", "code"}
    assert set(error["required"]) == {"type", "message", "code"}
    parse = doc["components"]["schemas"]["ParseException"]
    assert set(parse["properties"]) == {"type", "message", "code", "details"}
    assert "Error" not in doc["components"]["schemas"]  # flask-smorest's generic shape is not used


def test_every_operation_documents_success_and_camunda_errors(doc: dict[str, Any]) -> None:
    exception_ref = "#/components/schemas/Exception"
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert "default" not in responses, where
            assert any(code.startswith("2") for code in responses), f"{where}: no success response"
            expected = {"401", "414", "500"} | ({"404"} if "{" in path else set())
            if camunda_permission(method.upper(), path) is not None:
                expected.add("403")
            if operation.get("parameters") or "requestBody" in operation or method != "get":
                expected.add("400")
            assert expected <= set(responses), f"{where}: missing {expected - set(responses)}"
            for code, response in responses.items():
                if code.startswith(("4", "5")) and code != "414":  # 414: the HTTP server's own page
                    schema = deref(doc, response)["content"]["application/json"]["schema"]
                    assert schema["$ref"] in (exception_ref, "#/components/schemas/ParseException"), where
            body = operation.get("requestBody")
            if body is not None:
                for media in body["content"].values():
                    assert "$ref" in media["schema"], f"{where}: request body without a schema"


def _params(doc: dict[str, Any], path: str, method: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["paths"][path][method].get("parameters", []) if p["in"] == "query"}


def _query_specs() -> list[tuple[str, QuerySpec, str | None]]:
    """(collection path, spec, POST body component or None) of every list endpoint."""
    from app.api.camunda import (
        batches,
        deployments,
        history,
        incidents,
        jobs,
        process_definitions,
        process_instances,
        task_query,
    )

    return [
        ("/engine-rest/deployment", deployments.QUERY, None),
        ("/engine-rest/process-definition", process_definitions.QUERY, None),
        ("/engine-rest/process-instance", process_instances.QUERY, "ProcessInstanceQuery"),
        ("/engine-rest/task", task_query.QUERY, "TaskQuery"),
        ("/engine-rest/history/process-instance", history.PROCESS_INSTANCE_QUERY, "HistoricProcessInstanceQuery"),
        ("/engine-rest/history/activity-instance", history.ACTIVITY_INSTANCE_QUERY,
         "HistoricActivityInstanceQuery"),
        ("/engine-rest/history/variable-instance", history.VARIABLE_INSTANCE_QUERY,
         "HistoricVariableInstanceQuery"),
        ("/engine-rest/batch", batches.QUERY, None),
        ("/engine-rest/history/batch", batches.HISTORY_QUERY, None),
        ("/engine-rest/incident", incidents.QUERY, None),
        ("/engine-rest/job", jobs.JOB_QUERY, "JobQuery"),
        ("/engine-rest/job-definition", jobs.JOB_DEFINITION_QUERY, "JobDefinitionQuery"),
    ]


@pytest.mark.parametrize("path,spec,body", _query_specs(), ids=lambda value: value if isinstance(value, str) else "")
def test_query_parameters_and_bodies_are_the_query_spec(doc: dict[str, Any], path: str, spec: QuerySpec,
                                                        body: str | None) -> None:
    extra = {"dueDates", "createTimes"} if path == "/engine-rest/job" else set()  # jobs.py's own wire format
    listed = _params(doc, path, "get")
    paging = {"firstResult", "maxResults"}
    sorting = {"sortBy", "sortOrder"} if spec.sort_by else set()
    assert set(listed) == set(spec.filters) | extra | paging | sorting
    if sorting:
        assert set(listed["sortBy"]["schema"]["enum"]) == set(spec.sort_by)
    assert set(_params(doc, f"{path}/count", "get")) == set(spec.filters) | extra
    for name in spec.unsupported - {"orQueries"}:
        assert name in doc["paths"][path]["get"]["description"]
    if body is None:
        return
    assert set(_params(doc, path, "post")) == paging
    ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{body}"
    members = set(doc["components"]["schemas"][body]["properties"])
    expected = set(spec.filters) | extra | ({"sortBy", "sortOrder", "sorting"} if spec.sort_by else set())
    assert members == expected | ({"orQueries"} if spec.or_queries else set())


# --- request bodies: documented members == members the views read --------------------------------


class RecordingBody(dict):  # type: ignore[type-arg]
    """A JSON body that records which members a view looks at."""

    seen: set[str]

    def get(self, key: Any, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)


def _deploy(client: Any) -> str:
    """Deploy the shipped certificate approval; its definition id."""
    deployed = client.deploy_ok({"certificate-approval.bpmn": (PROCESSES / "certificate-approval.bpmn").read_bytes()})
    return next(iter(deployed["deployedProcessDefinitions"]))


def _start(client: Any) -> tuple[str, str]:
    """A new certificate approval waiting in its user task: (instance id, task id)."""
    started = client.start("certificate-approval", {"requester": {"value": "ann", "type": "String"}},
                           business_key="bk-1")
    task = client.get(f"/engine-rest/task?processInstanceId={started['id']}").get_json()[0]
    return started["id"], task["id"]


#: body schema → members its views never look at (documented as "accepted and ignored"; the
#: start views do not even check their type).
_IGNORED: dict[str, set[str]] = {
    "StartProcessInstance": {"skipCustomListeners", "skipIoMappings"},
}


def test_documented_body_members_are_exactly_the_members_views_read(
        client: Any, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    definition_id = _deploy(client)
    recorded: list[RecordingBody] = []

    from app.api.camunda.common import json_body

    def recording_json_body() -> RecordingBody:
        body = RecordingBody(json_body())
        body.seen = set()
        recorded.append(body)
        return body

    modules = ["process_definitions", "process_instances", "tasks", "restart", "batches", "jobs", "messages"]
    for name in modules:
        monkeypatch.setattr(importlib.import_module(f"app.api.camunda.{name}"), "json_body", recording_json_body)

    checked = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or "requestBody" not in operation:
                continue
            media = operation["requestBody"]["content"]
            if "application/json" not in media:
                continue  # multipart deployment: see test_deployment_form_parts_are_documented
            component = media["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            if component.endswith("Query"):
                continue  # query bodies are generated from the QuerySpec (tested above)
            if "tenant-id" in path:
                continue  # no tenant deployments here; the by-key variant covers the same view code
            instance_id, task_id = _start(client)  # fresh: an earlier probe may have completed or deleted
            ids = {"definition_id": definition_id, "key": "certificate-approval", "instance_id": instance_id,
                   "task_id": task_id, "name": "requester"}
            url = re.sub(r"\{([^}]+)\}", lambda m, ids=ids: ids.get(m.group(1), "unknown"), path)
            recorded.clear()
            # Views stop at the first bad member: probe with an empty body, with every member set,
            # and with only the required ones.
            properties = doc["components"]["schemas"][component]["properties"]
            full = {name: _sample(doc, prop) for name, prop in properties.items()}
            required = doc["components"]["schemas"][component].get("required", [])
            for probe in ({}, full, {name: full[name] for name in required}):
                getattr(client, method)(url, json=probe)
            assert recorded, f"{method.upper()} {path}: the view did not read its body through json_body()"
            seen = set().union(*(body.seen for body in recorded))
            documented = set(doc["components"]["schemas"][component]["properties"])
            where = f"{method.upper()} {path}"
            assert seen <= documented, f"{where}: reads undocumented members {seen - documented}"
            missing = documented - seen - _IGNORED.get(component, set())
            assert not missing, f"{where}: documents members it never reads: {missing}"
            checked += 1
    assert checked >= 15


def _sample(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A harmless value of the member's type."""
    schema = flatten(doc, schema)
    if "enum" in schema:
        return schema["enum"][0]
    return {"boolean": False, "string": "x", "integer": 1, "array": [], "object": {}}.get(schema.get("type"), None)


def test_deployment_form_parts_are_documented(doc: dict[str, Any]) -> None:
    from app.api.camunda.deployments import RESERVED_PARTS

    schema = doc["components"]["schemas"]["DeploymentCreate"]
    assert set(schema["properties"]) - {"data"} == RESERVED_PARTS


# --- hand-assembled responses validate against the document ----------------------------------------


def _check(doc: dict[str, Any], path: str, method: str, response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    schema = response_schema(doc, path, method, status)
    body = response.get_json()
    if schema is not None:
        assert validate(doc, schema, body) == [], f"{method.upper()} {path}"
    return body


def test_real_responses_validate(client: Any, doc: dict[str, Any]) -> None:
    deployed = client.deploy({"certificate-approval.bpmn": (PROCESSES / "certificate-approval.bpmn").read_bytes()})
    _check(doc, "/engine-rest/deployment/create", "post", deployed)
    definition_id = next(iter(deployed.get_json()["deployedProcessDefinitions"]))
    started = client.post(f"/engine-rest/process-definition/{definition_id}/start",
                          json={"variables": {"n": {"value": 5, "type": "Integer"}}, "withVariablesInReturn": True})
    body = _check(doc, "/engine-rest/process-definition/{definition_id}/start", "post", started)
    instance_id = body["id"]
    assert "variables" in body
    for path in ("/engine-rest/process-instance/{instance_id}/activity-instances",
                 "/engine-rest/process-instance/{instance_id}/variables",
                 "/engine-rest/process-instance/{instance_id}",
                 "/engine-rest/history/process-instance/{instance_id}"):
        _check(doc, path, "get", client.get(path.replace("{instance_id}", instance_id)))
    _check(doc, "/engine-rest/process-instance/{instance_id}/variables/{name}", "get",
           client.get(f"/engine-rest/process-instance/{instance_id}/variables/n"))
    for path in ("/engine-rest/task", "/engine-rest/history/activity-instance",
                 "/engine-rest/history/variable-instance", "/engine-rest/process-definition",
                 "/engine-rest/deployment", "/engine-rest/engine",
                 "/engine-rest/batch/statistics", "/engine-rest/job", "/engine-rest/job-definition"):
        _check(doc, path, "get", client.get(path))
    task_id = client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()[0]["id"]
    _check(doc, "/engine-rest/task/{task_id}/variables", "get", client.get(f"/engine-rest/task/{task_id}/variables"))
    completed = client.post(f"/engine-rest/task/{task_id}/complete",
                            json={"variables": {"approved": {"value": False}}, "withVariablesInReturn": True})
    _check(doc, "/engine-rest/task/{task_id}/complete", "post", completed)
    restart = {"processInstanceIds": [instance_id], "dryRun": True}
    _check(doc, "/engine-rest/process-definition/{definition_id}/restart", "post",
           client.post(f"/engine-rest/process-definition/{definition_id}/restart", json=restart))
    batch = client.post(f"/engine-rest/process-definition/{definition_id}/restart-async",
                        json={"processInstanceIds": [instance_id]})
    _check(doc, "/engine-rest/process-definition/{definition_id}/restart-async", "post", batch)
    _check(doc, "/engine-rest/batch/statistics", "get", client.get("/engine-rest/batch/statistics"))
    # Errors: the shape, with and without ParseException details.
    _check(doc, "/engine-rest/process-instance/{instance_id}", "get",
           client.get("/engine-rest/process-instance/nope"), status=404)
    broken = client.deploy({"broken.bpmn": "<definitions"})
    body = _check(doc, "/engine-rest/deployment/create", "post", broken, status=400)
    assert body["type"] == "ParseException" and body["details"]


def test_swagger_ui_is_served_with_local_assets(client: Any) -> None:
    pytest.importorskip("swagger_ui_bundle")  # without it the page falls back to the CDN
    page = client.raw.get("/engine-rest/swagger-ui")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn." not in html and "/swagger-ui-assets/swagger-ui-bundle.js" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        response = client.raw.get(f"/swagger-ui-assets/{asset}")  # no credentials: public
        assert response.status_code == 200, asset
        assert len(response.get_data()) > 1000
