"""JSON in and out: request bodies that must be objects, and errors that are never HTML."""
from __future__ import annotations

import json
import logging

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


def json_object(optional: bool = False) -> dict:
    """The request body as a JSON object; 400 when it is not one (an empty body is {} if optional)."""
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        abort(400, description="the request body must be a JSON object")
    if not isinstance(body, dict):
        abort(400, description="the request body must be a JSON object")
    return body


def string_field(body: dict, name: str) -> str:
    """`body[name]`, which must be a non-empty string (else 400)."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        abort(400, description=f"{name!r} must be a non-empty string")
    return value


def register_json_errors(app: Flask) -> None:
    """Every error, 404 and 405 included, as {"error": "..."} with its status code."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        response = jsonify(error=error.description or error.name)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, error.code or 500

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response, int]:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error=f"internal error: {error.__class__.__name__}"), 500
