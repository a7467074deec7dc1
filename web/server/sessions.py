"""Engine.IO sessions cost memory before anyone logs in: admit them by token, cap the others, expire them fast.

python-engineio creates a session (a queue, and a task that sleeps a ping interval) for every handshake,
and the token is only checked later, when the client connects to Socket.IO. So anyone could open tens of
thousands of sessions a minute. The gate decides at the handshake:

- a handshake that carries the token (`Authorization: Bearer`, `X-API-Key` or `?token=`) is admitted;
  a wrong one is refused (401);
- one without (clients that send the token only in Socket.IO's `auth`, as before, and every client of
  a gateway without a token) waits in a small room: at most WAITING_LIMIT of them, admitted within the
  last ping interval (25 s), may be not yet connected to Socket.IO; past that, 503;
- any session that has not connected to Socket.IO within UNCONNECTED_TTL_S is closed;
- at most SESSION_LIMIT sessions live at once.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_socketio import SocketIO

from wa_client import Settings
from web.server.guards import FOREIGN_HOST, header_token, host_allowed, origin_allowed, token_matches

logger = logging.getLogger(__name__)

WAITING_LIMIT = 300
SESSION_LIMIT = 400
UNCONNECTED_TTL_S = 10.0
SWEEP_EVERY_S = 1.0
ADMISSION_KEY = "wa_gateway.admission"

BAD_TOKEN = "the API token sent with the live connection is wrong"
FOREIGN_ORIGIN = "this web page ({origin}) may not open a live connection; add it to WA_CORS_ORIGINS"
TOO_MANY_WAITING = (
    "too many live connections are waiting to log in; try again in a few seconds "
    "(clients that send the API token in the Authorization header are not kept waiting)"
)
TOO_MANY_SESSIONS = "the gateway has too many live connections open; try again in a few seconds"


@dataclass(eq=False)
class Admission:
    """One admitted handshake: when, with the token or not, and whether it has connected to Socket.IO yet."""

    at: float
    with_token: bool
    connected: bool = False
    released: bool = False


def handshake_token(environ: Mapping[str, Any]) -> str | None:
    """The token of an Engine.IO handshake: a header, or `?token=` (what a browser's WebSocket can send)."""
    token = header_token(environ)
    if token:
        return token
    values = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", ""))).get("token")
    return values[0] if values else None


def note_connected(environ: Mapping[str, Any]) -> None:
    """The session of `environ` has connected to Socket.IO (its token was checked there): it waits no more."""
    admission = environ.get(ADMISSION_KEY)
    gate = environ.get(ADMISSION_KEY + ".gate")
    if isinstance(admission, Admission) and isinstance(gate, EngineIOGate):
        gate.connected(admission)


class EngineIOGate:
    """Admits Engine.IO handshakes and closes sessions that never connect to Socket.IO."""

    def __init__(self, socketio: SocketIO, config: Settings) -> None:
        self.socketio = socketio
        self.config = config
        self._lock = threading.Lock()
        self._waiting: deque[Admission] = deque()  # admitted without the token, oldest first
        self._unconnected = 0  # of those, the ones within the window that have not connected
        self._sweeper_started = False

    def admit(self, environ: dict) -> tuple[str, str] | None:
        """Admit a handshake (and mark its environ), or (HTTP status, words) to refuse it with."""
        if not host_allowed(environ.get("HTTP_HOST"), self.config):
            return "403 Forbidden", FOREIGN_HOST
        origin = environ.get("HTTP_ORIGIN")
        if not origin_allowed(origin, environ, self.config):
            return "403 Forbidden", FOREIGN_ORIGIN.format(origin=str(origin)[:100])
        token = handshake_token(environ)
        with_token = bool(self.config.api_token and token)
        if with_token and not token_matches(token, self.config.api_token):
            return "401 Unauthorized", BAD_TOKEN
        if self._live_sessions() >= SESSION_LIMIT:
            return "503 Service Unavailable", TOO_MANY_SESSIONS
        admission = Admission(at=time.monotonic(), with_token=with_token)
        with self._lock:
            self._prune(admission.at)
            if not with_token:
                if self._unconnected >= WAITING_LIMIT:
                    return "503 Service Unavailable", TOO_MANY_WAITING
                self._waiting.append(admission)
                self._unconnected += 1
        environ[ADMISSION_KEY] = admission
        environ[ADMISSION_KEY + ".gate"] = self
        self._start_sweeper()
        return None

    def release(self, admission: Admission) -> None:
        """The handshake was refused further in (no session was made): its place is free again."""
        self.connected(admission)

    def connected(self, admission: Admission) -> None:
        """`admission`'s session connected to Socket.IO (or never became one): it waits no more."""
        with self._lock:
            if not admission.connected:
                admission.connected = True
                if not admission.with_token and not admission.released:
                    self._unconnected -= 1

    def waiting(self) -> int:
        """Sessions admitted without the token that have not connected, within the window."""
        with self._lock:
            self._prune(time.monotonic())
            return self._unconnected

    def _window_s(self) -> float:
        """How long an admission counts: its session's first ping task sleeps a ping interval, even once closed."""
        return float(self.socketio.server.eio.ping_interval) + 1.0

    def _prune(self, now: float) -> None:
        window = self._window_s()
        while self._waiting and now - self._waiting[0].at > window:
            old = self._waiting.popleft()
            old.released = True
            if not old.connected:
                self._unconnected -= 1

    def _live_sessions(self) -> int:
        return sum(1 for s in list(self.socketio.server.eio.sockets.values()) if not s.closed)

    def _start_sweeper(self) -> None:
        with self._lock:
            if self._sweeper_started:
                return
            self._sweeper_started = True
        self.socketio.start_background_task(self._sweep_forever)

    def _sweep_forever(self) -> None:
        server = self.socketio.server
        while self.socketio.server is server:  # the app's own server (web/realtime.py): for the app's life
            self.socketio.sleep(SWEEP_EVERY_S)
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the sweeper must go on
                logger.exception("sweeping Engine.IO sessions failed")

    def sweep(self) -> int:
        """Close the sessions that did not connect to Socket.IO in time, forget closed ones; how many closed."""
        server = self.socketio.server
        now = time.monotonic()
        closed = 0
        for sid, session in list(server.eio.sockets.items()):
            if session.closed:
                server.eio.sockets.pop(sid, None)
                continue
            admission = (server.environ.get(sid) or {}).get(ADMISSION_KEY)
            if isinstance(admission, Admission) and not admission.connected and \
                    now - admission.at > UNCONNECTED_TTL_S:
                session.close(wait=False, abort=True)
                server.eio.sockets.pop(sid, None)
                closed += 1
        if closed:
            logger.info("closed %d live connection(s) that did not log in within %.0f s", closed, UNCONNECTED_TTL_S)
        with self._lock:
            self._prune(now)
        return closed
