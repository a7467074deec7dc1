"""Every error is JSON `{"error": "..."}` with a fitting code, never an HTML trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

MESSAGES = {
    400: "bad request",
    401: "a valid API token is required",
    404: "no such page or endpoint",
    405: "this method is not allowed here",
    403: "this request is not allowed here",
    413: "the request body is too large",
    415: "send the request body as JSON (Content-Type: application/json), or send no body",
}
INTERNAL = (
    "something went wrong inside the gateway; try again, and restart it if this keeps happening (its log says why)"
)


def _http_error(exc: HTTPException) -> Response:
    """An HTTP error as JSON, keeping its code and headers (e.g. Allow on 405)."""
    response = exc.get_response()
    default = type(exc).description
    message = exc.description if exc.description and exc.description != default else None
    body = jsonify(error=message or MESSAGES.get(exc.code or 500, (exc.name or "error").lower()))
    response.set_data(body.get_data())
    response.content_type = "application/json"
    if exc.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="wa-gateway"'
    return response


def _unexpected(exc: Exception) -> tuple[Response, int]:
    """Anything else: log the trace here, answer a plain 500."""
    if isinstance(exc, HTTPException):
        return _http_error(exc), exc.code or 500
    logger.exception("unhandled error")
    return jsonify(error=INTERNAL), 500


def register(app: Flask) -> None:
    """Install the JSON error handlers on `app`."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
