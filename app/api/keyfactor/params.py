"""Request parameters and bodies of the Keyfactor dialect (contract 3.2 and 4.1).

* List parameters (``QueryString``, ``PageReturned``, ``ReturnLimit``, ``SortField``,
  ``SortAscending``) are matched case-insensitively and may carry one ``<word>.`` prefix
  (``pq.queryString``, ``instanceQuery.queryString``, ``query.queryString``); an unprefixed
  spelling wins over a prefixed one.
* Other query parameters (``definitionVersion``, ``exportable``, ``version``) are matched
  case-insensitively.
* JSON members are bound case-insensitively (``DisplayName`` = ``displayName`` = ``displayname``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, request
from werkzeug.datastructures import MultiDict

from app.errors import InvalidRequest
from app.services.keyfactor_paging import ListRequest

LIST_PARAMETERS = {"querystring": "QueryString", "pagereturned": "PageReturned", "returnlimit": "ReturnLimit",
                   "sortfield": "SortField", "sortascending": "SortAscending"}

#: OpenAPI description of the list parameters (flask-smorest ``blp.doc``).
LIST_PARAMETER_DOCS = [
    {"name": "QueryString", "in": "query", "schema": {"type": "string"},
     "description": "Filter in Keyfactor's query language, e.g. Status -eq \"Failed\""},
    {"name": "PageReturned", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "ReturnLimit", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 50}},
    {"name": "SortField", "in": "query", "schema": {"type": "string"}},
    {"name": "SortAscending", "in": "query", "schema": {"type": "integer", "enum": [0, 1], "default": 0},
     "description": "0 = ascending, 1 = descending"},
]


def list_request(args: MultiDict | None = None) -> ListRequest:
    args = request.args if args is None else args
    found: dict[str, tuple[bool, str]] = {}
    for raw_key, value in args.items(multi=True):
        key, prefixed = raw_key, False
        head, dot, rest = raw_key.partition(".")
        if dot and head and rest and "." not in rest:
            key, prefixed = rest, True
        name = key.lower()
        if name not in LIST_PARAMETERS:
            continue
        if name in found and (prefixed or not found[name][0]):
            continue  # the first unprefixed spelling wins; a prefixed one never replaces it
        found[name] = (prefixed, value)

    def value(name: str) -> str | None:
        return found[name][1] if name in found else None

    return ListRequest(
        query=value("querystring"),
        page=_positive(value("pagereturned"), "PageReturned", 1),
        limit=_positive(value("returnlimit"), "ReturnLimit", 50),
        sort_field=(value("sortfield") or "").strip() or None,
        descending=_sort_order(value("sortascending")),
    )


def _positive(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        number = int(raw.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer of at least 1, not '{raw}'") from None
    if number < 1:
        raise InvalidRequest(f"{name} must be an integer of at least 1, not '{raw}'")
    return number


def _sort_order(raw: str | None) -> bool:
    """SortAscending follows the SDKs' SortOrder enum: 0 = ascending, 1 = descending."""
    if raw is None or raw.strip() == "":
        return False
    if raw.strip() not in ("0", "1"):
        raise InvalidRequest(f"SortAscending must be 0 (ascending) or 1 (descending), not '{raw}'")
    return raw.strip() == "1"


def arg(name: str) -> str | None:
    """A query parameter, name matched case-insensitively."""
    wanted = name.lower()
    return next((value for key, value in request.args.items(multi=True) if key.lower() == wanted), None)


def int_arg(name: str) -> int | None:
    raw = arg(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, not '{raw}'") from None


def bool_arg(name: str, default: bool = False) -> bool:
    raw = arg(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise InvalidRequest(f"{name} must be true or false, not '{raw}'")


# --------------------------------------------------------------------------------------------
# Bodies


_EMPTY = object()


def raw_json(*, empty: Any = _EMPTY) -> Any:
    """The parsed JSON body (any JSON value); ``empty`` is returned for a missing body if given."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        if empty is _EMPTY:
            raise InvalidRequest("A JSON request body is required")
        return empty
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None


def json_object(*, required: bool = True) -> dict[str, Any]:
    body = raw_json(empty=None if not required else _EMPTY)
    if body is None:
        if required:
            raise InvalidRequest("A JSON object is required as the request body")
        return {}
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return body


def bind(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Members of ``body`` under their canonical names, matched case-insensitively; unknown ones dropped."""
    canonical = {name.casefold(): name for name in names}
    result: dict[str, Any] = {}
    for key, value in body.items():
        name = canonical.get(str(key).casefold())
        if name is not None and name not in result:
            result[name] = value
    return result


def form_or_json(names: Iterable[str]) -> dict[str, Any]:
    """``PUT /Workflow/Definitions/{id}`` also takes application/x-www-form-urlencoded (the v1 SDK)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return bind(request.form.to_dict(flat=True), names)
    return bind(json_object(), names)


#: The documented query parameters of every list endpoint.
LIST_DOC = {"parameters": LIST_PARAMETER_DOCS}


def no_content() -> Response:
    """``204`` without a body (Keyfactor's answer to commands)."""
    return Response(status=204)
