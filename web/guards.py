"""What every request passes first: the API token, a sane body, CORS and safe headers."""

from __future__ import annotations

import hmac
import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, Request, Response, abort, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from wa_client import Settings

from .lifecycle import is_loopback

logger = logging.getLogger(__name__)

#: Endpoints anyone may reach: the health check, the page itself and its static files, the API's description.
PUBLIC_ENDPOINTS = frozenset({"healthz", "index", "static", "openapi_json", "docs"})
MAX_BODY_BYTES = 16 * 1024
SETTINGS_KEY = "WA_SETTINGS"

UNAUTHORIZED = "a valid API token is required (Authorization: Bearer TOKEN or X-API-Key: TOKEN)"
SOCKET_UNAUTHORIZED = "unauthorized: connect with auth={token: TOKEN}"
FOREIGN_HOST = (
    "this gateway has no WA_API_TOKEN, so it answers only requests addressed to localhost or 127.0.0.1 "
    "(a web page on another host name must not reach the clinic's QR); set WA_API_TOKEN to serve other names"
)
BODY_NOT_AN_OBJECT = "the request body must be a JSON object (or empty)"

SOCKETIO_PATH = "/socket.io"
#: What a client may POST over Engine.IO long-polling: close, pong, message, upgrade, and "b" (binary message).
ENGINEIO_CLIENT_PACKETS = frozenset("1345b")

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
    """True when no token is required, or `given` equals it (compared in constant time); never raises."""
    if not expected:
        return True
    if not isinstance(given, str) or not given:
        return False
    # surrogatepass: a lone surrogate ("\ud800" in a Socket.IO auth object) must not raise, because an
    # exception in the connect handler would let the connection in
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def host_allowed(host_header: str | None, config: Settings) -> bool:
    """Without a token, only loopback host names: a DNS-rebinding page must not pass as same-origin."""
    if config.api_token or config.allow_insecure_remote or not host_header:
        return True
    name = host_header.strip().lower()
    if name.startswith("["):  # [::1]:3001
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:  # 127.0.0.1:3001, localhost:3001
        name = name.split(":", 1)[0]
    name = name.rstrip(".")
    return is_loopback(name) or name == config.host.strip().lower()


def connection_refusal(auth: Any, environ: Mapping[str, Any], config: Settings) -> str | None:
    """Why a Socket.IO connection must be refused (a foreign host name, no token), or None to let it in."""
    try:
        if not host_allowed(environ.get("HTTP_HOST"), config):
            return FOREIGN_HOST
        if not token_matches(socket_token(auth), config.api_token):
            return SOCKET_UNAUTHORIZED
    except Exception:  # noqa: BLE001 - fail closed: an error here must refuse, never admit
        logger.exception("checking a Socket.IO connection failed; refusing it")
        return SOCKET_UNAUTHORIZED
    return None


def command_payload_problem(event: str, args: tuple) -> str | None:
    """Why a Socket.IO command's data is refused: commands take nothing, or one JSON object."""
    if not args or (len(args) == 1 and (args[0] is None or isinstance(args[0], Mapping))):
        return None
    return f"{str(event)[:64]!r} takes no data or one JSON object; nothing was done"


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


def _check_host() -> None:
    if not host_allowed(request.headers.get("Host"), settings()):
        abort(403, FOREIGN_HOST)


def _check_token() -> None:
    if request.method == "OPTIONS" or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if isinstance(request.routing_exception, MethodNotAllowed):
        return  # a 405 (with Allow) tells no more than the public /openapi.json
    if not token_matches(request_token(request), settings().api_token):
        abort(401, UNAUTHORIZED)


def _check_body() -> None:
    """A body, when there is one, must be a JSON object: bad input is refused before it reaches the client."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" nested thousands deep
        abort(400, "the request body must be valid JSON (or empty)")
    if not isinstance(body, dict):
        abort(400, BODY_NOT_AN_OBJECT)


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    origin = request.headers.get("Origin")
    if origin and origin in settings().cors_origin_list and origin != "*":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers.update(CORS_HEADERS)
    return response


class SocketIOShield:
    """WSGI middleware in front of Engine.IO: refuse long-polling POSTs that would never be answered.

    python-engineio answers an oversized body, or a packet type that clients never send, by closing
    the session with wait=True: the POST then blocks until a poll that never comes. Anyone can open an
    Engine.IO session (the token is checked later, at the Socket.IO connect), so each such request
    would hold a socket and a green thread for good, and under eventlet SIGTERM could not stop the
    server. Such requests are answered here, at once, with a JSON error.
    """

    def __init__(self, wsgi_app: Callable, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not (path + "/").startswith(SOCKETIO_PATH + "/"):
            return self.wsgi_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= self.max_bytes:
            return _plain_json_error(start_response, "413 Request Entity Too Large",
                                     f"a Socket.IO message may not exceed {self.max_bytes // 1024} KiB")
        body = environ["wsgi.input"].read(length) if length else b""
        if not _engineio_payload_ok(body):
            return _plain_json_error(start_response, "400 Bad Request", "not an Engine.IO payload from a client")
        environ["wsgi.input"] = io.BytesIO(body)
        return self.wsgi_app(environ, start_response)


def _engineio_payload_ok(body: bytes) -> bool:
    """Every packet of a long-polling payload (separated by 0x1e) starts with a client packet type."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not text or all(packet[:1] in ENGINEIO_CLIENT_PACKETS for packet in text.split("\x1e"))


def _plain_json_error(start_response: Callable, status: str, message: str) -> list[bytes]:
    body = json.dumps({"error": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                             ("X-Content-Type-Options", "nosniff")])
    return [body]


def register(app: Flask) -> None:
    """Install the request guards on `app`."""
    app.before_request(_check_host)
    app.before_request(_check_token)
    app.before_request(_check_body)
    app.after_request(_add_headers)
