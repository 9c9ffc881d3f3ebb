"""Email, RESTRequest and OAuthRESTRequest against real servers on 127.0.0.1."""

from __future__ import annotations

import email
import json
from dataclasses import replace
from email.policy import default as default_policy
from typing import Any

import pytest
from kfengine_support import HttpServer, RunSteps, SmtpServer, free_port

from app.engine import runtime
from app.engine.keyfactor import network
from app.engine.keyfactor.settings import KeyfactorSettings


def rest(name: str, url: str, verb: str = "GET", **params: Any) -> dict[str, Any]:
    return {"UniqueName": name, "ExtensionName": "RESTRequest",
            "ConfigurationParameters": {"Verb": verb, "URL": url, **params}}


# -- Email -----------------------------------------------------------------------------------------


def test_email_is_sent_with_tokens_substituted(run_steps: RunSteps, smtp_server: SmtpServer,
                                                kf_settings: KeyfactorSettings) -> None:
    settings = replace(kf_settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_from="wf@baton.test")
    step = {"UniqueName": "Notify", "ExtensionName": "Email", "ConfigurationParameters": {
        "Subject": "Certificate for $(cn) requested by $(metadata:Requester)",
        "Message": "<p>Hello, <b>$(cn)</b> needs approval ($(unknown token)).</p>",
        "Recipients": ["$(metadata:OwnerEmail)", "fixed@example.com; second@example.com", "$(approvers)"]}}
    data = {"cn": "appsrvr12.keyexample.com", "approvers": ["a1@example.com", "a2@example.com"],
            "Metadata": {"Requester": "KEYEXAMPLE\\jsmith", "OwnerEmail": "owner@example.com"}}
    run = run_steps([step], data, settings=settings)
    assert run.failure is None and runtime.is_finished(run.workflow)
    (envelope,) = smtp_server.messages
    expected = ["owner@example.com", "fixed@example.com", "second@example.com", "a1@example.com", "a2@example.com"]
    assert envelope.rcpt_tos == expected
    assert envelope.mail_from == "wf@baton.test"
    message = email.message_from_bytes(envelope.content, policy=default_policy)
    # strip(): CPython folds a subject with a backslash right after "Subject:" (RFC-valid, unfolds to " ...")
    assert message["Subject"].strip() == "Certificate for appsrvr12.keyexample.com requested by KEYEXAMPLE\\jsmith"
    assert message["From"] == "wf@baton.test"
    assert message.get_content_type() == "text/html"
    body = message.get_content()
    assert "<b>appsrvr12.keyexample.com</b>" in body and "$(unknown token)" in body


def test_email_with_unresolved_recipient_fails(run_steps: RunSteps, smtp_server: SmtpServer,
                                               kf_settings: KeyfactorSettings) -> None:
    settings = replace(kf_settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    step = {"UniqueName": "Notify", "ExtensionName": "Email", "ConfigurationParameters": {
        "Subject": "s", "Message": "m", "Recipients": ["$(ownerroleemail)"]}}
    run = run_steps([step], {}, settings=settings)
    assert run.failure is not None
    assert run.failure.message == ("Email 'Notify' failed: the recipient '$(ownerroleemail)' could not be "
                                   "resolved from the data bucket")
    assert smtp_server.messages == []


def test_email_to_a_closed_port_fails(run_steps: RunSteps, kf_settings: KeyfactorSettings) -> None:
    port = free_port()
    settings = replace(kf_settings, smtp_host="127.0.0.1", smtp_port=port)
    step = {"UniqueName": "Notify", "ExtensionName": "Email", "ConfigurationParameters": {
        "Subject": "s", "Message": "m", "Recipients": ["a@example.com"]}}
    run = run_steps([step], settings=settings)
    assert run.failure is not None
    assert run.failure.message.startswith(f"Email 'Notify' failed: could not send mail via 127.0.0.1:{port}: ")


# -- RESTRequest -------------------------------------------------------------------------------------


def test_rest_request_stores_json_answer(run_steps: RunSteps, http_server: HttpServer) -> None:
    step = rest("CallCA", f"{http_server.base}/json?cn=$(cn)", "post", ContentType="application/json",
                RequestContent='{"cn": "$(cn)", "owner": "$(metadata:Owner)"}',
                Headers={"X-Requested-For": "$(cn)", "X-Fixed": "1"}, DataBucketProperty="CA answer")
    run = run_steps([step], {"cn": "host1", "Metadata": {"Owner": "ops"}})
    assert run.failure is None
    assert run.data["CA answer"] == {"method": "POST", "body": '{"cn": "host1", "owner": "ops"}', "ok": True}
    (request,) = http_server.requests
    assert request["path"] == "/json?cn=host1"
    assert request["headers"]["X-Requested-For"] == "host1" and request["headers"]["X-Fixed"] == "1"
    assert request["headers"]["Content-Type"] == "application/json"


def test_rest_request_stores_text_answer(run_steps: RunSteps, http_server: HttpServer) -> None:
    run = run_steps([rest("Get", f"{http_server.base}/text", DataBucketProperty="answer")])
    assert run.failure is None and run.data["answer"] == "plain answer"


def test_rest_request_without_bucket_property_stores_nothing(run_steps: RunSteps, http_server: HttpServer) -> None:
    run = run_steps([rest("Put", f"{http_server.base}/json", "PUT")], {"a": 1})
    assert run.failure is None and run.data == {"a": 1}
    assert http_server.requests[0]["method"] == "PUT"


def test_rest_request_http_500_fails(run_steps: RunSteps, http_server: HttpServer) -> None:
    run = run_steps([rest("CallCA", f"{http_server.base}/fail?token=secret", DataBucketProperty="x")])
    assert run.failure is not None
    assert run.failure.activity_id == "Step_CallCA"
    assert run.failure.message == (f"RESTRequest 'CallCA' failed: HTTP 500 from {http_server.base}/fail: "
                                   "database on fire")
    assert "x" not in run.data


def test_rest_request_connection_refused_fails(run_steps: RunSteps) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    run = run_steps([rest("CallCA", url)])
    assert run.failure is not None
    assert run.failure.message.startswith(f"RESTRequest 'CallCA' failed: could not call GET {url}: ConnectError")


def test_rest_request_timeout_fails(run_steps: RunSteps, http_server: HttpServer,
                                    kf_settings: KeyfactorSettings) -> None:
    settings = replace(kf_settings, http_timeout=0.3)
    run = run_steps([rest("Slow", f"{http_server.base}/slow")], settings=settings)
    assert run.failure is not None
    assert run.failure.message == f"RESTRequest 'Slow' failed: timeout after 0.3 s calling GET {http_server.base}/slow"


def test_rest_request_answer_size_is_capped(run_steps: RunSteps, http_server: HttpServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_ANSWER_BYTES", 1000)
    run = run_steps([rest("Big", f"{http_server.base}/big", DataBucketProperty="x")])
    assert run.failure is not None
    assert run.failure.message == (f"RESTRequest 'Big' failed: the answer of GET {http_server.base}/big is larger "
                                   "than 1000 bytes")
    assert "x" not in run.data


def test_rest_request_refuses_other_schemes(run_steps: RunSteps) -> None:
    run = run_steps([rest("File", "file:///etc/passwd")])
    assert run.failure is not None
    assert run.failure.message == "RESTRequest 'File' failed: the URL 'file:///etc/passwd' is not an http(s) URL"


# -- OAuthRESTRequest ----------------------------------------------------------------------------------


def oauth(name: str, server: HttpServer, secret: str = "s3cret") -> dict[str, Any]:
    return {"UniqueName": name, "ExtensionName": "OAuthRESTRequest", "ConfigurationParameters": {
        "Verb": "GET", "URL": f"{server.base}/protected", "DataBucketProperty": "Protected",
        "Headers": {"Authorization": "Basic overridden"},
        "TokenEndpoint": f"{server.base}/token", "client_id": "baton", "client_secret": secret,
        "scope": "ca.read", "audience": "https://ca.example"}}


def test_oauth_rest_request_uses_a_client_credentials_token(run_steps: RunSteps, http_server: HttpServer) -> None:
    run = run_steps([oauth("Protected", http_server)])
    assert run.failure is None
    assert run.data["Protected"] == {"secret": "data"}
    token_request, api_request = http_server.requests
    assert token_request["method"] == "POST" and token_request["path"] == "/token"
    form = dict(pair.split("=", 1) for pair in token_request["body"].split("&"))
    assert form == {"grant_type": "client_credentials", "client_id": "baton", "client_secret": "s3cret",
                    "scope": "ca.read", "audience": "https%3A%2F%2Fca.example"}
    assert api_request["headers"]["Authorization"] == "Bearer tok-123"


def test_oauth_token_refused_fails(run_steps: RunSteps, http_server: HttpServer) -> None:
    run = run_steps([oauth("Protected", http_server, secret="wrong")])
    assert run.failure is not None
    assert run.failure.message == (f"OAuthRESTRequest 'Protected' failed: the token request to "
                                   f"{http_server.base}/token answered HTTP 401")
    assert [r["path"] for r in http_server.requests] == ["/token"]
    assert json.dumps(run.data) == "{}"
