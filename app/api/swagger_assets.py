"""Swagger UI's JavaScript and CSS served by Baton itself (no CDN: Baton often runs offline).

The assets come from the ``swagger-ui-bundle`` package. Both dialects point their
``<PREFIX>_OPENAPI_SWAGGER_UI_URL`` at :data:`ASSETS_URL`; the route is outside both API
prefixes, so it needs no credentials and no dialect error shape.
"""

from __future__ import annotations

from flask import Blueprint, Flask

ASSETS_URL = "/swagger-ui-assets/"
#: Used when swagger-ui-bundle is not installed: the UI page then needs internet access.
CDN_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"


def init_swagger_assets(app: Flask) -> str:
    """Serve the bundled assets (once per app); returns the URL prefix for the UI page."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return CDN_URL
    if "swagger_ui_assets" not in app.blueprints:
        app.register_blueprint(Blueprint("swagger_ui_assets", __name__, static_folder=swagger_ui_path,
                                         static_url_path=ASSETS_URL.rstrip("/")))
    return ASSETS_URL
