"""Baton's exception hierarchy.

Services raise these; each API dialect maps them to its own error shape once
(see app/api/camunda/errors.py and app/api/keyfactor/errors.py). Nothing below
the API layer knows about HTTP bodies, only about the kind of failure.
"""

from __future__ import annotations

from typing import Any


class BatonError(Exception):
    """Base class. ``status`` is the HTTP status a dialect uses unless it overrides it."""

    status = 500
    #: Camunda exception type name (the ``type`` member of Camunda's error JSON).
    camunda_type = "ProcessEngineException"

    def __init__(self, message: str, *, camunda_type: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if camunda_type is not None:
            self.camunda_type = camunda_type
        if status is not None:
            self.status = status
        self.details = details


class InvalidRequest(BatonError):
    """The request is malformed or breaks a business rule (400)."""

    status = 400
    camunda_type = "InvalidRequestException"


class NotFound(BatonError):
    """An id in the request names nothing (404)."""

    status = 404
    camunda_type = "InvalidRequestException"


class Conflict(BatonError):
    """The target changed under the request and retrying did not help (409)."""

    status = 409
    camunda_type = "OptimisticLockingException"


class Unauthorized(BatonError):
    """No or wrong credentials (401)."""

    status = 401
    camunda_type = "AuthenticationException"


class Forbidden(BatonError):
    """Authenticated, but the caller lacks a permission (403)."""

    status = 403
    camunda_type = "AuthorizationException"


class PayloadTooLarge(BatonError):
    """An upload is larger than the configured limit (413)."""

    status = 413
    camunda_type = "InvalidRequestException"


class BpmnParseFailed(InvalidRequest):
    """An uploaded model cannot be deployed. ``details`` follows Camunda's ParseException shape."""

    camunda_type = "ParseException"


class ProcessFailure(BatonError):
    """A process failed while running inside a request; the request's transaction was rolled back."""

    status = 500
    camunda_type = "ProcessEngineException"
