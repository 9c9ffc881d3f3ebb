"""The Keyfactor Command "Workflow" dialect under ``/KeyfactorAPI`` (contract keyfactor-workflow.md).

* Routing is case-insensitive and ignores a trailing slash (1.1): a WSGI middleware rewrites the
  fixed segments of ``/keyfactorapi/workflow/instances/my/`` to their canonical spelling before
  Flask matches the URL (a ``before_request`` would be too late for routing).
* Every request under ``/KeyfactorAPI`` except the OpenAPI document needs a non-empty
  ``X-Keyfactor-Requested-With`` header (400 before authentication), an
  ``x-keyfactor-api-version`` of ``1``/``1.0`` when given (400), then HTTP Basic credentials.
* ``BATON_KEYFACTOR_STATUS`` must be ``name`` or ``int`` (9.3): anything else fails start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from flask_smorest import Api

from app.api.keyfactor.schemas import KeyfactorErrorSchema
from app.errors import InvalidRequest

PREFIX = "/KeyfactorAPI"
SPEC_PREFIX = f"{PREFIX}/swagger"
PUBLIC = {f"{SPEC_PREFIX}/openapi.json", f"{SPEC_PREFIX}/ui"}
API_VERSIONS = ("1", "1.0")

_SEGMENTS = ("KeyfactorAPI", "Workflow", "Definitions", "Instances", "Steps", "Types", "Publish", "My",
             "AssignedToMe", "Stop", "Restart", "Signals", "swagger", "openapi.json", "ui")
_CANONICAL = {segment.lower(): segment for segment in _SEGMENTS}

log = logging.getLogger("baton.api.keyfactor")


class KeyfactorApi(Api):
    """flask-smorest's Api documenting Keyfactor's error body instead of its generic one."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # errors are documented per operation (schemas.error_docs)
    ERROR_SCHEMA = KeyfactorErrorSchema


def canonical_path(path: str) -> str:
    """``/keyfactorapi/workflow/Instances/MY/`` → ``/KeyfactorAPI/Workflow/Instances/My``."""
    parts = path.split("/")
    while len(parts) > 2 and parts[-1] == "":
        parts.pop()
    return "/".join(_CANONICAL.get(part.lower(), part) for part in parts)


class CaseInsensitivePaths:
    """WSGI middleware: canonical spelling of the Keyfactor routes' fixed segments."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        head = path[:len(PREFIX) + 1].lower()
        if head == PREFIX.lower() or head == PREFIX.lower() + "/":
            environ["PATH_INFO"] = canonical_path(path)
        return self.wsgi_app(environ, start_response)


def _check_headers() -> None:
    if not (request.headers.get("X-Keyfactor-Requested-With") or "").strip():
        raise InvalidRequest("The X-Keyfactor-Requested-With header is required (e.g. 'APIClient')")
    version = request.headers.get("x-keyfactor-api-version")
    if version is not None and version.strip() not in API_VERSIONS:
        raise InvalidRequest(f"Unsupported x-keyfactor-api-version '{version}'; this API has version 1")


def init_keyfactor(app: Flask) -> Api:
    from app.api.auth import authenticate_request
    from app.api.keyfactor import definitions, instances
    from app.api.swagger_assets import init_swagger_assets
    from app.services.keyfactor_definitions import ensure_builtin_definitions

    ctx = app.extensions["baton"]
    if ctx.settings.keyfactor_status not in ("name", "int"):
        raise ValueError(f"BATON_KEYFACTOR_STATUS must be 'name' or 'int', not {ctx.settings.keyfactor_status!r}")

    app.config.setdefault("KEYFACTOR_API_TITLE", "Baton Keyfactor Workflow API")
    app.config.setdefault("KEYFACTOR_API_VERSION", "1")
    app.config.setdefault("KEYFACTOR_OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("KEYFACTOR_OPENAPI_URL_PREFIX", SPEC_PREFIX)
    app.config.setdefault("KEYFACTOR_OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("KEYFACTOR_OPENAPI_SWAGGER_UI_PATH", "ui")
    app.config.setdefault("KEYFACTOR_OPENAPI_SWAGGER_UI_URL", init_swagger_assets(app))
    api = KeyfactorApi(app, config_prefix="KEYFACTOR", spec_kwargs={
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
    })
    api.register_blueprint(definitions.blp)
    api.register_blueprint(instances.blp)
    api.spec.components.schemas.pop("PaginationMetadata", None)  # flask-smorest's; lists here are bare arrays
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def _keyfactor_guard() -> None:
        path = request.path
        if (path == PREFIX or path.startswith(PREFIX + "/")) and path not in PUBLIC:
            _check_headers()
            authenticate_request()

    try:
        ensure_builtin_definitions(ctx.as_actor(None))
    except Exception:  # noqa: BLE001 - e.g. a database not migrated yet; `baton serve` migrates first
        log.warning("Could not create the built-in Keyfactor workflow definitions", exc_info=True)
    return api
