"""The Camunda 7 engine-rest dialect under ``/engine-rest``."""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

PREFIX = "/engine-rest"


def init_camunda(app: Flask) -> Api:
    from app.api.auth import authenticate_request
    from app.api.camunda import blueprints

    app.config.setdefault("CAMUNDA_API_TITLE", "Baton engine-rest (Camunda 7 subset)")
    app.config.setdefault("CAMUNDA_API_VERSION", "7.24-baton")
    app.config.setdefault("CAMUNDA_OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("CAMUNDA_OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("CAMUNDA_OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("CAMUNDA_OPENAPI_SWAGGER_UI_PATH", "swagger-ui")
    app.config.setdefault("CAMUNDA_OPENAPI_SWAGGER_UI_URL", "https://cdn.jsdelivr.net/npm/swagger-ui-dist/")
    api = Api(app, config_prefix="CAMUNDA", spec_kwargs={"servers": [{"url": "/"}]})
    for blueprint in blueprints():
        api.register_blueprint(blueprint)

    public = {f"{PREFIX}/openapi.json", f"{PREFIX}/swagger-ui"}

    @app.before_request
    def _authenticate() -> None:
        path = request.path
        if (path == PREFIX or path.startswith(PREFIX + "/")) and path not in public:
            authenticate_request()

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
