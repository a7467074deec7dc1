"""Who asked: where a command came from (HTTP, Socket.IO, the bundled page), for /history and the log.

Never the token itself: its short fingerprint (the first 8 hex digits of its SHA-256) at most.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import request

from web.server.guards import request_token, socket_token

PAGE_HEADER = "X-WA-Client"
PAGE = "page"
_SOCKET_KEY = "wa_gateway.origin"  # kept in the Socket.IO connection's WSGI environ, which every event reuses


def token_fingerprint(token: str | None) -> str | None:
    """A short, one-way fingerprint of a token (None without one)."""
    if not isinstance(token, str) or not token:
        return None
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def http_origin() -> dict:
    """The asking HTTP request: http (or page), the client's address, the token's fingerprint."""
    via = PAGE if request.headers.get(PAGE_HEADER, "").strip().lower() == PAGE else "http"
    return {"via": via, "address": request.remote_addr, "token": token_fingerprint(request_token(request))}


def remember_socket(auth: Any) -> None:
    """At connect: note who this Socket.IO connection is, for its later events."""
    client = auth.get("client") if isinstance(auth, dict) else None
    request.environ[_SOCKET_KEY] = {
        "via": PAGE if client == PAGE else "socketio",
        "address": request.environ.get("REMOTE_ADDR"),
        "token": token_fingerprint(socket_token(auth)),
    }


def socket_origin() -> dict:
    """The asking Socket.IO connection, as noted at connect."""
    noted = request.environ.get(_SOCKET_KEY)
    if noted is None:
        return {"via": "socketio", "address": request.environ.get("REMOTE_ADDR"), "token": None}
    return dict(noted)
