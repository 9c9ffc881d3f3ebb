"""Registers both HTTP dialects and the one error handler that gives each its own shape."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from app.api.camunda import errors as camunda_errors
from app.errors import BatonError


def _is_keyfactor() -> bool:
    return request.path.startswith("/KeyfactorAPI")


def _keyfactor_errors():  # type: ignore[no-untyped-def]
    from app.api.keyfactor import errors  # the Keyfactor dialect may not be present yet

    return errors


def init_apis(app: Flask) -> None:
    from app.api.camunda import init_camunda

    init_camunda(app)
    try:
        from app.api.keyfactor import init_keyfactor
    except ImportError:
        init_keyfactor = None
    if init_keyfactor is not None:
        init_keyfactor(app)

    # Registered after the Api objects so these replace flask-smorest's default handler.
    @app.errorhandler(BatonError)
    def _baton(error: BatonError) -> Response:
        if _is_keyfactor():
            return _keyfactor_errors().from_baton(error)
        return camunda_errors.from_baton(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        if _is_keyfactor():
            return _keyfactor_errors().from_http(error)
        return camunda_errors.from_http(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return _http(error)
        if _is_keyfactor():
            return _keyfactor_errors().from_unexpected(error)
        return camunda_errors.from_unexpected(error)
