"""How the server holds connections, so that one client cannot lock everyone out.

- A connection must deliver a request's headers within HEADER_TIMEOUT_S of opening (or of its previous
  answer); after that, each read or write may take SOCKET_TIMEOUT_S (longer than Engine.IO's ping cycle,
  so that a quiet WebSocket stays open).
- At most `connection_limit()` connections at once, below the open-files limit. When the server is full,
  the connection that has waited longest without sending a complete request is closed to make room:
  half-open sockets cannot starve `/healthz`.
- Refusals that the HTTP server writes itself (a header too large, bad framing) are JSON too.
- `?token=` never reaches the access log.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import socket
import threading
from http import HTTPStatus
from typing import Any, TextIO

from werkzeug.serving import WSGIRequestHandler

logger = logging.getLogger(__name__)

#: In the environ of every request: call it to close the connection after the answer (see web/server/shield.py).
CLOSE_AFTER_ANSWER = "wa_gateway.close_after_answer"
MAX_CONNECTIONS = 1000
#: File descriptors kept for everything but clients: the listener, Chromium's pipes, chromedriver's HTTP
#: connections, the log, profile and pid files, webhooks.
RESERVED_FDS = 128
OPEN_FILES_TARGET = 65536
HEADER_TIMEOUT_S = 20.0
SOCKET_TIMEOUT_S = 75.0
#: How much of a refused request is read (and dropped) before closing, so that the client sees the answer.
DRAIN_BYTES = 256 * 1024

HEADERS_TOO_LARGE = "the request headers are too large (more than 8 KiB per line); nothing was done"
NOT_HTTP = "the request was not valid HTTP; nothing was done"
_TOKEN_IN_QUERY = re.compile(r"(?i)([?&]token=)[^&\s\"]*")


def raise_open_files_limit(target: int = OPEN_FILES_TARGET) -> int:
    """Raise the soft RLIMIT_NOFILE towards `target` as far as the hard limit allows; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(hard, target)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            logger.warning("could not raise the open-files limit from %d to %d", soft, wanted)
    return soft


def connection_limit() -> int:
    """How many client connections the server holds at once: MAX_CONNECTIONS, or fewer under a low file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - RESERVED_FDS))


def redact(text: str) -> str:
    """`text` with any `?token=` value hidden."""
    return _TOKEN_IN_QUERY.sub(r"\1[hidden]", text)


def refusal_bytes(code: int, message: str) -> bytes:
    """A complete HTTP answer `code` with {"error": message}, for refusals written below the WSGI app."""
    body = json.dumps({"error": message}).encode()
    head = (f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


def words_for(code: int) -> str:
    """What to say for a refusal of the HTTP server itself."""
    return {414: "the address is too long (more than 8 KiB); nothing was done",
            431: HEADERS_TOO_LARGE}.get(code, NOT_HTTP)


def linger_close(sock: socket.socket) -> None:
    """Stop sending, and drop what the client still sends (bounded), so that it reads the answer, not a reset."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1.0)
        left = DRAIN_BYTES
        while left > 0 and (chunk := sock.recv(min(left, 65536))):
            left -= len(chunk)
    except OSError:
        pass


class ConnectionBoard:
    """The open connections, and which of them wait for a request (those may be closed to make room)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0
        self._waiting: dict[object, Any] = {}  # connection -> its socket, longest waiting first
        self._shed: set[object] = set()

    def opened(self, conn: object) -> None:
        """A connection was accepted; past the limit, the longest-waiting one is closed."""
        with self._lock:
            self._open += 1
            over = self._open > self.limit
        if over:
            self.shed_oldest()

    def waiting(self, conn: object, sock: Any) -> None:
        """`conn` waits for (the rest of) a request: it may be closed to make room."""
        with self._lock:
            self._waiting.pop(conn, None)
            self._waiting[conn] = sock

    def busy(self, conn: object) -> bool:
        """`conn` delivered its headers; False when it was closed to make room meanwhile."""
        with self._lock:
            self._waiting.pop(conn, None)
            return conn not in self._shed

    def closed(self, conn: object) -> None:
        """`conn` is gone."""
        with self._lock:
            self._open -= 1
            self._waiting.pop(conn, None)
            self._shed.discard(conn)

    def shed_oldest(self) -> bool:
        """Close the connection that has waited longest for a request; False when none waits."""
        with self._lock:
            if not self._waiting:
                return False
            conn, sock = next(iter(self._waiting.items()))
            del self._waiting[conn]
            self._shed.add(conn)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # its reader sees the end of the stream and lets go
        except OSError:
            pass
        return True


class GatewayRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler (threading mode) with the header deadline, the cap, JSON refusals, no token in logs."""

    board = ConnectionBoard(MAX_CONNECTIONS)  # modes.server_options() gives each server its own

    def setup(self) -> None:
        super().setup()
        self.board.opened(self)

    def handle_one_request(self) -> None:
        self.connection.settimeout(HEADER_TIMEOUT_S)
        self.board.waiting(self, self.connection)
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not self.board.busy(self):
            self.close_connection = True
            return False
        self.connection.settimeout(SOCKET_TIMEOUT_S)
        return True

    def finish(self) -> None:
        self.board.closed(self)
        super().finish()

    def make_environ(self) -> dict:
        environ = super().make_environ()
        environ[CLOSE_AFTER_ANSWER] = self._close_after_answer  # a refused body is never read to its end
        return environ

    def _close_after_answer(self) -> None:
        self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        try:
            self.wfile.write(refusal_bytes(code, words_for(code)))
            self.wfile.flush()
        except OSError:
            pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, "%s", redact(message % args if args else message))


class RedactedLog:
    """A file for eventlet's access log that hides `?token=` values."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(redact(text))
        self.stream.flush()

