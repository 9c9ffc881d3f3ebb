"""The Camunda 7 engine-rest dialect under ``/engine-rest``.

The OpenAPI document is served at ``/engine-rest/openapi.json`` and browsable at
``/engine-rest/swagger-ui``; see :mod:`app.api.camunda.openapi` for how it is built.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from app.api.camunda.openapi import CamundaDocPlugin, ExceptionSchema, register_components

PREFIX = "/engine-rest"


class CamundaApi(Api):
    """flask-smorest's Api with Camunda's error shape instead of its generic one."""

    # Errors are documented per operation by CamundaDocPlugin, never as a catch-all default.
    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = ExceptionSchema


def init_camunda(app: Flask) -> Api:
    from app.api.auth import authenticate_request
    from app.api.camunda.schemas import ActivityInstanceIncidentSchema, Link, VariableValueSchema
    from app.api.swagger_assets import init_swagger_assets
    from app.services.identity import require_claim
    from app.services.permissions import camunda_permission

    app.config.setdefault("CAMUNDA_API_TITLE", "Baton engine-rest (Camunda 7 subset)")
    app.config.setdefault("CAMUNDA_API_VERSION", "7.24-baton")
    app.config.setdefault("CAMUNDA_OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("CAMUNDA_OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("CAMUNDA_OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("CAMUNDA_OPENAPI_SWAGGER_UI_PATH", "swagger-ui")
    app.config.setdefault("CAMUNDA_OPENAPI_SWAGGER_UI_URL", init_swagger_assets(app))
    api = CamundaApi(app, config_prefix="CAMUNDA", spec_kwargs={
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}],
        "extra_plugins": [CamundaDocPlugin()],
    })
    register_components(api.spec)
    # Schemas referenced by name from hand-written parts of the document (maps, computed lists).
    api.spec.components.schema("Link", schema=Link)
    api.spec.components.schema("VariableValue", schema=VariableValueSchema)
    api.spec.components.schema("ActivityInstanceIncident", schema=ActivityInstanceIncidentSchema)
    for blueprint in blueprints():
        api.register_blueprint(blueprint)
    # flask-smorest registers this for its pagination header, which Baton does not use.
    api.spec.components.schemas.pop("PaginationMetadata", None)

    public = {f"{PREFIX}/openapi.json", f"{PREFIX}/swagger-ui"}

    @app.before_request
    def _authenticate() -> None:
        path = request.path
        if (path == PREFIX or path.startswith(PREFIX + "/")) and path not in public:
            actor = authenticate_request()
            # The same claims as the Keyfactor dialect, by resource and method (app/services/permissions.py).
            claim = camunda_permission(request.method, path)
            if claim is not None:
                require_claim(actor, claim)

    return api


def blueprints() -> list:
    from app.api.camunda import (
        deployments,
        engine,
        process_definitions,
        process_instances,
        tasks,
    )

    modules = [engine, deployments, process_definitions, process_instances, tasks]
    # Resource families added by later modules register themselves here when present.
    for optional in ("history", "messages", "incidents", "jobs", "batches", "restart", "external_tasks"):
        try:
            module = __import__(f"app.api.camunda.{optional}", fromlist=["blp"])
        except ModuleNotFoundError as exc:
            if exc.name != f"app.api.camunda.{optional}":
                raise
            continue
        modules.append(module)
    return [module.blp for module in modules]
