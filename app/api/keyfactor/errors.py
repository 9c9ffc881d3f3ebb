"""Keyfactor's error shape: ``{"ErrorCode": "0x…", "Message": "…"}`` (contract 3.3).

Keyfactor's own code values are not public; these are Baton's, stable per kind of failure.
Clients rely on the two property names and the HTTP status only.
"""

from __future__ import annotations

import logging

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import BatonError

log = logging.getLogger("baton.api.keyfactor")

#: HTTP status → Baton's ErrorCode.
CODES = {
    400: "0xA0010001",
    401: "0xA0010002",
    403: "0xA0010003",
    404: "0xA0010004",
    405: "0xA0010005",
    409: "0xA0010009",
    413: "0xA0010013",
    415: "0xA0010015",
    500: "0xA00100FF",
}


def error_response(status: int, message: str) -> Response:
    response = jsonify({"ErrorCode": CODES.get(status, CODES[500] if status >= 500 else CODES[400]),
                        "Message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="KeyfactorAPI"'
    return response


def from_baton(error: BatonError) -> Response:
    if error.status >= 500:
        log.error("Request failed: %s", error.message)
    return error_response(error.status, error.message)


def _validation_message(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, dict):
        parts = []
        for location in messages.values():
            if isinstance(location, dict):
                parts.extend(f"{name}: {'; '.join(map(str, text)) if isinstance(text, list) else text}"
                             for name, text in location.items())
        if parts:
            return "Invalid request: " + ", ".join(parts)
    return error.description or "Invalid request"


def from_http(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, RequestEntityTooLarge):
        return error_response(413, "The request body is larger than the allowed maximum")
    if status == 422:  # webargs' validation failures are plain bad requests in this dialect
        return error_response(400, _validation_message(error))
    if status == 404:
        return error_response(404, "The requested resource was not found")
    if status == 405:
        return error_response(405, "The method is not allowed for the requested resource")
    if status >= 500:
        log.error("HTTP error %s: %s", status, error.description)
        return error_response(status, "An unexpected error occurred; see the server log")
    return error_response(status, error.description or error.name)


def from_unexpected(error: Exception) -> Response:
    log.exception("Unexpected error", exc_info=error)
    return error_response(500, "An unexpected error occurred; see the server log")
