"""What every request passes first: the API token, a sane body, CORS and safe headers."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response, abort, current_app, request

from wa_client import Settings

logger = logging.getLogger(__name__)

#: Endpoints anyone may reach: the health check, the page itself and its static files.
PUBLIC_ENDPOINTS = frozenset({"healthz", "index", "static"})
MAX_BODY_BYTES = 16 * 1024
SETTINGS_KEY = "WA_SETTINGS"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Authorization, X-API-Key, Content-Type, If-None-Match",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "ETag",
    "Access-Control-Max-Age": "600",
}


def settings() -> Settings:
    """The settings the current app was built with."""
    return current_app.config[SETTINGS_KEY]


def token_matches(given: str | None, expected: str | None) -> bool:
    """True when no token is required, or `given` equals it (compared in constant time)."""
    if not expected:
        return True
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def request_token(req: Request) -> str | None:
    """The token a request carries: `Authorization: Bearer …` or `X-API-Key: …`."""
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return req.headers.get("X-API-Key", "").strip() or None


def socket_token(auth: Any) -> str | None:
    """The token a Socket.IO client sent in its `auth` object ({"token": …})."""
    if isinstance(auth, Mapping) and isinstance(auth.get("token"), str):
        return auth["token"]
    return None


def origin_allowed(origin: str | None, environ: Mapping[str, Any], extra: list[str]) -> bool:
    """Same origin, or one of WA_CORS_ORIGINS (never a wildcard)."""
    if not origin:
        return True  # not a browser, or a same-origin navigation
    host = environ.get("HTTP_HOST", "")
    same = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
    return origin == same or (origin != "*" and origin in extra)


def _check_token() -> None:
    if request.method == "OPTIONS" or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if not token_matches(request_token(request), settings().api_token):
        abort(401, "a valid API token is required (Authorization: Bearer TOKEN or X-API-Key: TOKEN)")


def _check_body() -> None:
    """A body, when there is one, must be JSON: bad input is refused before it reaches the client."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        abort(400, "the request body must be valid JSON (or empty)")


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    origin = request.headers.get("Origin")
    if origin and origin in settings().cors_origin_list and origin != "*":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers.update(CORS_HEADERS)
    return response


def register(app: Flask) -> None:
    """Install the request guards on `app`."""
    app.before_request(_check_token)
    app.before_request(_check_body)
    app.after_request(_add_headers)
