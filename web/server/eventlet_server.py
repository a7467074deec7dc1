"""eventlet.wsgi.server's options: a header deadline, a pool that makes room, refusals in JSON.

eventlet's server holds up to 1,024 connections and, by default, waits forever for a request's headers:
1,100 half-open sockets made /healthz wait for as long as they stayed. Here a connection has
HEADER_TIMEOUT_S for its request line and headers, and when the pool is full the connection that has
waited longest for a request is closed to make room for the new one.
"""

from __future__ import annotations

from typing import Any, TextIO

import eventlet
import eventlet.wsgi

from web.server.serving import (
    CLOSE_AFTER_ANSWER,
    HEADER_TIMEOUT_S,
    SOCKET_TIMEOUT_S,
    ConnectionBoard,
    linger_close,
    refusal_bytes,
    words_for,
)

#: eventlet refuses longer request lines itself; the shield refuses past 8 KiB, in JSON, after reading them.
URL_LENGTH_LIMIT = 64 * 1024


class HeaderDeadline(TimeoutError):
    """The request line and headers did not arrive within HEADER_TIMEOUT_S."""


class MakeRoomPool(eventlet.GreenPool):
    """A GreenPool that, when full, closes the connection waiting longest for a request before spawning."""

    def __init__(self, board: ConnectionBoard) -> None:
        super().__init__(board.limit)
        self.board = board

    def spawn(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        if self.free() < 1:
            self.board.shed_oldest()
        return super().spawn(function, *args, **kwargs)


class GatewayHttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's protocol with a deadline for the headers and JSON refusals."""

    board: ConnectionBoard  # set per server by options()
    _deadline: eventlet.Timeout | None = None
    #: An answer up to this size leaves in one send: with eventlet's 16 KiB, a 31 KiB list went out in two and
    #: Nagle held the second for the client's delayed ACK (~40 ms each time).
    wbufsize = 64 << 10

    def setup(self) -> None:
        super().setup()
        self.board.opened(self)  # the pool holds at most board.limit: this only counts

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            self._cancel_deadline()
            self.board.closed(self)

    def _read_request_line(self) -> str | bytes:
        self.board.waiting(self, self.connection)
        self._cancel_deadline()
        self._deadline = eventlet.Timeout(HEADER_TIMEOUT_S, HeaderDeadline())
        try:
            line = super()._read_request_line()
        except HeaderDeadline:
            self._cancel_deadline()
            return ""
        if len(line) >= self.server.url_length_limit:
            self._cancel_deadline()
            self._refuse(414)
            return ""
        return line

    def parse_request(self) -> bool:
        try:
            parsed = super().parse_request()
        except HeaderDeadline:
            parsed = False
        except (eventlet.wsgi.HeaderLineTooLong, eventlet.wsgi.HeadersTooLarge):
            self._refuse(431)
            parsed = False
        finally:
            self._cancel_deadline()
        if not parsed or not self.board.busy(self):
            self.close_connection = 1
            return False
        if not _framing_ok(self.headers):
            self._refuse(400)
            return False
        return True

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ[CLOSE_AFTER_ANSWER] = self._close_after_answer  # a refused body is never read to its end
        return environ

    def _close_after_answer(self) -> None:
        self.close_connection = 1

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self._refuse(int(code))

    def _refuse(self, code: int) -> None:
        self.close_connection = 1
        try:
            self.wfile.write(refusal_bytes(code, words_for(code)))
            self.wfile.flush()
        except OSError:
            return
        linger_close(self.connection)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def _framing_ok(headers: Any) -> bool:
    """A Content-Length that is a number >= 0, and not together with Transfer-Encoding (request smuggling)."""
    length = headers.get("content-length")
    if length is None:
        return True
    try:
        return int(length) >= 0 and headers.get("transfer-encoding") is None
    except ValueError:
        return False


def options(limit: int, log: TextIO) -> dict[str, Any]:
    """The keyword arguments for eventlet.wsgi.server, through socketio.run."""
    board = ConnectionBoard(limit)
    protocol = type("GatewayHttpProtocol", (GatewayHttpProtocol,), {"board": board})
    return {
        "custom_pool": MakeRoomPool(board),
        "protocol": protocol,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "url_length_limit": URL_LENGTH_LIMIT,
        "debug": False,  # never a traceback to the client
        "log": log,
    }
