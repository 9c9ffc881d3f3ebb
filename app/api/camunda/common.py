"""Request helpers for the Camunda dialect: JSON bodies, links, ids in paths."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from app.errors import InvalidRequest


def json_body() -> dict[str, Any]:
    """The JSON object body; an empty body counts as ``{}`` (camunda-client posts none)."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"Malformed JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest("Malformed JSON: the document is nested too deeply") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return body


def member(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """A body member of the given JSON type; ``null`` counts as absent."""
    value = body.get(name)
    if value is None:
        return default
    if kind is bool and not isinstance(value, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidRequest(f"Cannot deserialize member '{name}': expected a boolean")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {str: "a string", int: "an integer", list: "an array", dict: "an object", bool: "a boolean"}
        label = expected.get(kind, "a value of another type") if isinstance(kind, type) else "another type"
        raise InvalidRequest(f"Cannot deserialize member '{name}': expected {label}")
    return value


def string_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = member(body, name, list)
    if value is None:
        return None
    for item in value:
        if item is not None and not isinstance(item, str):
            raise InvalidRequest(f"Cannot deserialize member '{name}': expected an array of strings")
    return value


def base_url() -> str:
    return request.host_url.rstrip("/") + "/engine-rest"


def self_link(path: str) -> list[dict[str, str]]:
    return [{"method": "GET", "href": f"{base_url()}{path}", "rel": "self"}]
