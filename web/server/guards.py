"""What every request passes first: host name, origin of a change, API token, a sane body, CORS, safe headers."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Request, Response, abort, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from wa_client import ConfigError, Settings
from web.server.lifecycle import is_loopback

logger = logging.getLogger(__name__)

#: Endpoints anyone may reach: the health check, the page itself and its static files, the API's description.
PUBLIC_ENDPOINTS = frozenset({"api.healthz", "api.index", "static", "api.openapi_json", "api.docs"})
MAX_BODY_BYTES = 16 * 1024
SETTINGS_KEY = "WA_SETTINGS"

UNAUTHORIZED = "a valid API token is required (Authorization: Bearer TOKEN or X-API-Key: TOKEN)"
SOCKET_UNAUTHORIZED = "unauthorized: connect with auth={token: TOKEN}"
FOREIGN_HOST = (
    "this gateway has no WA_API_TOKEN, so it answers only requests addressed to localhost or 127.0.0.1 "
    "(a web page on another host name must not reach the clinic's QR); set WA_API_TOKEN to serve other names"
)
BODY_NOT_AN_OBJECT = "the request body must be a JSON object (or empty)"
FOREIGN_ORIGIN = (
    "this request came from another web page ({origin}); only the gateway's own page and the origins listed in "
    "WA_CORS_ORIGINS may change the session"
)
BODY_NOT_JSON = "send the request body as JSON (Content-Type: application/json), or send no body"

#: Methods that change nothing: a page on another site may send them (it cannot read the answer).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_MIMETYPE = "application/json"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
_SECURITY_HEADER_ROWS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())
CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Authorization, X-API-Key, Content-Type, If-None-Match, Idempotency-Key",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "ETag, Location, Idempotent-Replayed",
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
    return _loopback_name(name) or name == config.host.strip().lower()


@functools.lru_cache(maxsize=256)
def _loopback_name(name: str) -> bool:
    """is_loopback, remembered: every request names its host, and parsing an address each time costs."""
    return is_loopback(name)


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
    return header_token(req.environ)


def header_token(environ: Mapping[str, Any]) -> str | None:
    """The token in a WSGI request's headers: `Authorization: Bearer …` or `X-API-Key: …`."""
    scheme, _, value = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return str(environ.get("HTTP_X_API_KEY", "")).strip() or None


def socket_token(auth: Any) -> str | None:
    """The token a Socket.IO client sent in its `auth` object ({"token": …})."""
    if isinstance(auth, Mapping) and isinstance(auth.get("token"), str):
        return auth["token"]
    return None


def origin_allowed(origin: str | None, environ: Mapping[str, Any], config: Settings) -> bool:
    """No origin (not a browser), the page's own origin, or one of WA_CORS_ORIGINS (never `*` or `null`)."""
    if not origin:
        return True
    if origin in ("*", "null"):
        return False
    return origin.lower() == own_origin(environ, config) or origin in config.cors_origin_list


def own_origin(environ: Mapping[str, Any], config: Settings) -> str:
    """The origin the page was served from: `scheme://host`, the scheme as a trusted proxy tells it."""
    scheme = environ.get("wsgi.url_scheme", "http")
    if _from_trusted_proxy(environ, config):
        forwarded = str(environ.get("HTTP_X_FORWARDED_PROTO", "")).split(",")[0].strip().lower()
        scheme = forwarded if forwarded in ("http", "https") else scheme
    return f"{scheme}://{environ.get('HTTP_HOST', '')}".lower()


def trusted_proxies(config: Settings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """WA_TRUSTED_PROXIES as networks; ConfigError for an entry that is not an address or a network."""
    return _networks(config.trusted_proxies)


@functools.lru_cache(maxsize=8)
def _networks(listed: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in (e.strip() for e in listed.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(f"WA_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
    return tuple(networks)


def _from_trusted_proxy(environ: Mapping[str, Any], config: Settings) -> bool:
    networks = trusted_proxies(config)
    if not networks:
        return False
    try:
        peer = ipaddress.ip_address(str(environ.get("REMOTE_ADDR", "")))
    except ValueError:
        return False
    return any(peer in network for network in networks)


def _origin_of(url: str) -> str:
    """`scheme://host[:port]` of a Referer; "null" when it has none."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return "null"
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def _check_host() -> None:
    if not host_allowed(request.headers.get("Host"), settings()):
        abort(403, FOREIGN_HOST)


def _check_origin() -> None:
    """A request that changes something must come from the page's own origin or a listed one.

    A page on any site may send a "simple" POST (no preflight) to 127.0.0.1; its Origin (or, without
    one, its Referer) tells. Requests with neither (curl, a CRM's backend) are not from a web page.
    """
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Referer"):
        origin = _origin_of(request.headers["Referer"])
    if origin is not None and not origin_allowed(origin, request.environ, settings()):
        abort(403, FOREIGN_ORIGIN.format(origin=origin[:100] or "no origin"))


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
    if not _is_json_type(request.mimetype):
        abort(415, BODY_NOT_JSON)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" nested thousands deep
        abort(400, "the request body must be valid JSON (or empty)")
    if not isinstance(body, dict):
        abort(400, BODY_NOT_AN_OBJECT)


def _is_json_type(mimetype: str) -> bool:
    return mimetype == JSON_MIMETYPE or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _add_headers(response: Response) -> Response:
    headers = response.headers
    present = {key.lower() for key in headers.keys()}  # (setdefault raises and catches a KeyError per header)
    for lower, name, value in _SECURITY_HEADER_ROWS:
        if lower not in present:
            headers.add(name, value)
    origin = request.headers.get("Origin")
    if origin and origin in settings().cors_origin_list and origin != "*":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers.update(CORS_HEADERS)
    return response


def register(blueprint: Blueprint) -> None:
    """Install the request guards for every request of the app that registers `blueprint`."""
    blueprint.before_app_request(_check_host)
    blueprint.before_app_request(_check_origin)
    blueprint.before_app_request(_check_token)
    blueprint.before_app_request(_check_body)
    blueprint.after_app_request(_add_headers)
