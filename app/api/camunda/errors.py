"""Camunda's error shape: ``{"type", "message", "code"}`` (+ ``details`` for parse errors)."""

from __future__ import annotations

import logging

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import BatonError, Unauthorized

log = logging.getLogger("baton.api")


def error_response(status: int, type_: str, message: str, details: dict | None = None) -> Response:
    body: dict = {"type": type_, "message": message, "code": None if status < 500 else 0}
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="baton"'
    return response


def from_baton(error: BatonError) -> Response:
    if isinstance(error, Unauthorized):
        return error_response(401, "AuthenticationException", error.message)
    return error_response(error.status, error.camunda_type, error.message, error.details)


def from_http(error: HTTPException) -> Response:
    if isinstance(error, RequestEntityTooLarge):
        return error_response(413, "InvalidRequestException", "The request body is larger than the allowed maximum")
    status = error.code or 500
    type_ = "RestException" if status != 400 else "InvalidRequestException"
    message = error.description or error.name
    if status == 404:
        message = "The requested resource does not exist"
    elif status == 405:
        message = "The method is not allowed for the requested resource"
    return error_response(status, type_, message)


def from_unexpected(error: Exception) -> Response:
    log.exception("Unexpected error", exc_info=error)
    return error_response(500, "ProcessEngineException", "An unexpected error occurred; see the server log")
