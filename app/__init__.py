"""Baton: a BPMN process engine service with Camunda 7 and Keyfactor Workflow APIs."""

from __future__ import annotations

import logging

from flask import Flask

from app.config import Settings


def create_app(settings: Settings | None = None, *, start_jobs: bool | None = None) -> Flask:
    """The application factory. The database must already be migrated (``baton migrate``)."""
    from app.api import init_apis
    from app.services.bootstrap import build_context
    from app.services.identity import ensure_admin

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # keep members in Camunda's documented order
    ctx = build_context(settings)
    app.extensions["baton"] = ctx
    try:
        ensure_admin(ctx, settings.admin_user, settings.admin_password)
    except Exception:  # noqa: BLE001 - several workers boot at once; a worker failing here must still boot
        logging.getLogger("baton").warning("Could not create the configured admin user", exc_info=True)
    init_apis(app)
    if start_jobs if start_jobs is not None else settings.job_executor == "thread":
        from app.jobs.executor import start_background_executor

        app.extensions["baton_executor"] = start_background_executor(ctx)
    logging.getLogger("baton").setLevel(logging.INFO)
    return app
