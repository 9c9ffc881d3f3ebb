"""Steps that talk to other servers: ``Email`` (SMTP), ``RESTRequest``, ``OAuthRESTRequest`` (httpx).

Every call has the timeout ``KeyfactorSettings.http_timeout``; any failure raises a
:class:`.base.StepError` whose message names the step and the server (URLs are shown without
credentials and query string, which may carry secrets).
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.engine.keyfactor.base import StepContext, json_data
from app.engine.keyfactor.tokens import TOKEN, lookup, render, substitute

__all__ = ["MAX_ANSWER_BYTES", "display_url", "oauth_rest_request", "rest_request", "send_email"]

_EXCERPT = 200
#: Largest HTTP answer a step reads (it may end up in the data bucket, which is stored per instance).
MAX_ANSWER_BYTES = 10 * 2**20


def display_url(url: str) -> str:
    """``url`` for messages: scheme, host, port and path only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6 literal
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url[:_EXCERPT]
    if not parts.scheme:
        return url[:_EXCERPT]
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _size(nbytes: int) -> str:
    return f"{nbytes // 2**20} MB" if nbytes % 2**20 == 0 else f"{nbytes} bytes"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


# -- Email -----------------------------------------------------------------------------------


def _recipients(ctx: StepContext) -> list[str]:
    """Recipients after substitution; a token that is a list adds each element; ``,``/``;`` split."""
    addresses: list[str] = []
    for item in ctx.param("Recipients", []):
        values: list[Any] = [item]
        whole = TOKEN.fullmatch(item.strip())
        if whole:
            try:
                found = lookup(whole.group(1), ctx.bucket)
            except KeyError:
                found = None
            if isinstance(found, list):
                values = found
        for value in values:
            text = substitute(value if isinstance(value, str) else render(value), ctx.bucket)
            if "$(" in text:
                raise ctx.fail(f"the recipient {item!r} could not be resolved from the data bucket")
            addresses.extend(address for _, address in getaddresses([text.replace(";", ",")]) if address)
    for address in addresses:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ctx.fail(f"{address!r} is not an e-mail address")
    if not addresses:
        raise ctx.fail("there is no recipient")
    return addresses


def send_email(ctx: StepContext) -> None:
    settings = ctx.settings
    if not settings.smtp_host:
        raise ctx.fail("no SMTP server is configured (set BATON_SMTP_HOST)")
    recipients = _recipients(ctx)
    message = EmailMessage()
    # Header values must be one line: a token may bring line breaks into the subject.
    message["Subject"] = " ".join((ctx.text("Subject") or "").split())
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message.set_content(ctx.text("Message") or "", subtype="html")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.http_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ctx.fail(f"the SMTP server {where} refused every recipient: "
                       f"{', '.join(exc.recipients)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ctx.fail(f"could not send mail via {where}: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise ctx.fail(f"the SMTP server {where} refused the recipients {', '.join(refused)}")


# -- REST --------------------------------------------------------------------------------------


def _call(ctx: StepContext, http: httpx.Client, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """One HTTP exchange; the answer is read completely, but never more than MAX_ANSWER_BYTES."""
    shown = display_url(url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ctx.fail(f"{what} {shown!r} is not an http(s) URL")
    try:
        streamed = http.send(http.build_request(method, url, **kwargs), stream=True)
        try:
            body = bytearray()
            for chunk in streamed.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise ctx.fail(f"the answer of {method} {shown} is larger than {_size(MAX_ANSWER_BYTES)}")
        finally:
            streamed.close()
    except httpx.TimeoutException as exc:
        raise ctx.fail(f"timeout after {ctx.settings.http_timeout:g} s calling {method} {shown}") from exc
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise ctx.fail(f"could not call {method} {shown}: {type(exc).__name__}: {exc}") from exc
    # A complete, non-streaming Response over what was read (decodes text by its charset).
    return httpx.Response(streamed.status_code, headers=streamed.headers, content=bytes(body))


def _client(ctx: StepContext) -> httpx.Client:
    return httpx.Client(timeout=ctx.settings.http_timeout, follow_redirects=True)


def _request(ctx: StepContext, http: httpx.Client, bearer: str | None = None) -> None:
    verb = (ctx.param("Verb") or "GET").upper()
    url = ctx.text("URL") or ""
    headers = {str(k): str(v) for k, v in (ctx.deep("Headers") or {}).items()}
    content_type = ctx.param("ContentType")
    if content_type and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    if bearer is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {bearer}"
    body = ctx.text("RequestContent")
    response = _call(ctx, http, verb, url, "the URL", headers=headers,
                     content=body.encode("utf-8") if body else None)
    if not response.is_success:
        detail = _excerpt(response.text)
        raise ctx.fail(f"HTTP {response.status_code} from {display_url(url)}" + (f": {detail}" if detail else ""))
    target = ctx.param("DataBucketProperty")
    if isinstance(target, str) and target.strip():
        text = response.text
        try:
            ctx.bucket[target] = json_data(json.loads(text)) if text.strip() else ""
        except ValueError:  # not JSON (or NaN/Infinity, which JSON data cannot hold): keep the text
            ctx.bucket[target] = text


def rest_request(ctx: StepContext) -> None:
    with _client(ctx) as http:
        _request(ctx, http)


def oauth_rest_request(ctx: StepContext) -> None:
    """Client-credentials grant (client_secret_post) at ``TokenEndpoint``, then the REST call."""
    endpoint = ctx.param("TokenEndpoint") or ""
    form = {"grant_type": "client_credentials", "client_id": ctx.param("client_id") or "",
            "client_secret": ctx.param("client_secret") or ""}
    for optional in ("scope", "audience"):
        if ctx.param(optional):
            form[optional] = ctx.param(optional)
    with _client(ctx) as http:
        answer = _call(ctx, http, "POST", endpoint, "the TokenEndpoint", data=form,
                       headers={"Accept": "application/json"})
        if not answer.is_success:
            raise ctx.fail(f"the token request to {display_url(endpoint)} answered HTTP {answer.status_code}")
        try:
            token = answer.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ctx.fail(f"the token endpoint {display_url(endpoint)} answered without an access_token")
        _request(ctx, http, bearer=token)
