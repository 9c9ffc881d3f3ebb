"""HTTP Basic authentication, shared by both dialects (each turns failures into its own error shape)."""

from __future__ import annotations

from flask import current_app, g, request

from app.errors import Unauthorized
from app.services import identity
from app.services.context import Actor, Context


def context() -> Context:
    """The service context for this request, carrying the authenticated actor."""
    base: Context = current_app.extensions["baton"]
    return base.as_actor(getattr(g, "actor", None))


def authenticate_request() -> Actor | None:
    base: Context = current_app.extensions["baton"]
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.username is None:
        if not base.settings.auth_required:
            g.actor = None
            return None
        raise Unauthorized("Unauthorized: HTTP Basic credentials are required")
    g.actor = identity.authenticate(base, auth.username, auth.password or "")
    return g.actor
