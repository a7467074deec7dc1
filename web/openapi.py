"""GET /openapi.json (the API as OpenAPI 3.1) and GET /docs (a viewer served from static/, no CDN)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template

from . import api_spec
from .guards import settings

#: The vendored Swagger UI (npm swagger-ui-dist, Apache-2.0) under static/.
SWAGGER_UI_VERSION = "5.35.0"


def add_routes(app: Flask) -> None:
    """GET /openapi.json and GET /docs (both public, like the page: they hold no secret)."""

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        """The OpenAPI 3.1 document of this gateway."""
        return jsonify(api_spec.document(token_required=bool(settings().api_token)))

    @app.get("/docs")
    def docs() -> str:
        """The document in Swagger UI, served locally."""
        return render_template("docs.html", swagger_ui_version=SWAGGER_UI_VERSION)
