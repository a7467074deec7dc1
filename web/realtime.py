"""Socket.IO, owned here: every app gets its own server, so events leave through the app that made them.

Flask-SocketIO's one module-level `SocketIO()` suits one app per process; re-bound by a second
`create_app()` it sent the first app's events (and answers) through the second app's server.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, Response, current_app
from flask_socketio import SocketIO, SocketIOTestClient

from wa_client import Settings
from web import events
from web.server import guards
from web.server.sessions import EngineIOGate
from web.server.shield import SocketIOShield

logger = logging.getLogger(__name__)

EXTENSION = "socketio"  # where Flask-SocketIO's init_app puts itself
TAKE_TURNS_EVERY = 8  # answers between two yields to the other connections (_take_turns)
_answers = 0


class AppSocketIO(SocketIO):
    """A SocketIO that serves one app only: a second binding is refused instead of stealing its events."""

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        """Bind to `app`; RuntimeError when this server is bound to an app already."""
        if self.server is not None:
            raise RuntimeError("this Socket.IO server belongs to another app; web.realtime.init_app makes one per app")
        super().init_app(app, **kwargs)


def init_app(app: Flask, settings: Settings) -> SocketIO:
    """`app`'s own Socket.IO server with the gateway's handlers, behind the shield and the Engine.IO gate."""
    socketio = AppSocketIO()
    events.register(socketio)
    socketio.init_app(
        app,
        async_mode=usable_async_mode(settings.async_mode),
        cors_allowed_origins=lambda origin, environ: guards.origin_allowed(origin, environ, settings),
        manage_session=False,
        max_http_buffer_size=guards.MAX_BODY_BYTES,
    )
    # outermost: before Engine.IO or Flask see a request
    app.wsgi_app = SocketIOShield(app.wsgi_app, EngineIOGate(socketio, settings))
    app.after_request(_take_turns)
    return socketio


def get_socketio(app: Flask | None = None) -> SocketIO:
    """The Socket.IO server of `app` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]


class Servers:
    """Each app's own Socket.IO server, reached through the app (what `app.socketio` is, for the tests)."""

    def test_client(self, app: Flask, **kwargs: Any) -> SocketIOTestClient:
        """Flask-SocketIO's test client, connected to `app`'s own server."""
        return get_socketio(app).test_client(app, **kwargs)


def usable_async_mode(wanted: str) -> str:
    """`wanted`, except that eventlet without monkey-patching (e.g. under pytest) falls back to threading."""
    if wanted != "eventlet":
        return wanted
    if "eventlet" in sys.modules:
        from eventlet.patcher import is_monkey_patched

        if is_monkey_patched("socket"):
            return "eventlet"
    logger.info("eventlet is not monkey-patched in this process; Socket.IO uses threading")
    return "threading"


def _take_turns(response: Response) -> Response:
    """Yield after every TAKE_TURNS_EVERY-th answer: eventlet would serve a keep-alive client's next request first
    (p99). Counted over all connections, so no connection is served more than that many times in a row; a yield
    per answer cost a third of /qr.png's rate (a trip through eventlet's hub each time)."""
    global _answers
    _answers += 1
    if _answers % TAKE_TURNS_EVERY == 0:
        get_socketio().sleep(0)
    return response
