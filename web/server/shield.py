"""The outermost WSGI layer: what must be refused before Flask or Engine.IO see a request, in JSON words.

- URLs longer than MAX_URL_BYTES (414);
- bodies without a Content-Length (`Transfer-Encoding: chunked`): read here, at most MAX_BODY_BYTES + 1
  bytes, and handed on with a Content-Length, so that the body checks hold for every framing (413);
- Engine.IO long-polling POSTs that python-engineio would never answer (oversized, or packet types that
  clients never send): it closes the session with wait=True, and the POST would hold a socket for good;
- Engine.IO handshakes, through the session gate (`web/server/sessions.py`);
- Engine.IO's own refusals (a JSON string in text/plain) and anything that escapes the app, as
  `{"error": ...}`.
"""

from __future__ import annotations

import io
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from http import HTTPStatus

from web.errors import INTERNAL
from web.server.guards import MAX_BODY_BYTES
from web.server.serving import CLOSE_AFTER_ANSWER
from web.server.sessions import ADMISSION_KEY, EngineIOGate

logger = logging.getLogger(__name__)

SOCKETIO_PATH = "/socket.io"
#: What a client may POST over Engine.IO long-polling: close, pong, message, upgrade, and "b" (binary message).
ENGINEIO_CLIENT_PACKETS = frozenset("1345b")
MAX_URL_BYTES = 8 * 1024

URL_TOO_LONG = "the address is too long (more than 8 KiB); nothing was done"
BODY_TOO_LARGE = "the request body is too large (more than {kib} KiB); nothing was done"
BODY_TOO_SLOW = "the request body did not arrive in time; nothing was done"
BODY_BROKEN = "the request body was cut off or badly framed; nothing was done"

#: Engine.IO's refusals, in words.
ENGINEIO_WORDS = {
    "Not an accepted origin.": "this web page may not open a live connection; add it to WA_CORS_ORIGINS",
    "Invalid session": "this live connection has ended; the page reconnects by itself (or reload it)",
    "Unauthorized": "a valid API token is required for the live connection",
}
ENGINEIO_DEFAULT_WORDS = "the live connection was refused ({detail}); reload the page"


class SocketIOShield:
    """WSGI middleware in front of everything (Flask-SocketIO's middleware, Engine.IO, Flask)."""

    def __init__(self, wsgi_app: Callable, gate: EngineIOGate | None = None, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.wsgi_app = wsgi_app
        self.gate = gate
        self.max_bytes = max_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            return self._shield(environ, start_response)
        except Exception:  # noqa: BLE001 - a trace must never reach the client
            logger.exception("unhandled error in the WSGI layer")
            return json_error(start_response, "500 Internal Server Error", INTERNAL)

    def _shield(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if len(environ.get("RAW_PATH_INFO", path)) + len(environ.get("QUERY_STRING", "")) > MAX_URL_BYTES:
            environ.get(CLOSE_AFTER_ANSWER, lambda: None)()
            return json_error(start_response, "414 URI Too Long", URL_TOO_LONG)
        refusal = self._read_unframed_body(environ)
        if refusal:
            return json_error(start_response, *refusal)
        if not (path + "/").startswith(SOCKETIO_PATH + "/"):
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            refusal = self._engineio_post_refusal(environ)
            if refusal:
                return json_error(start_response, *refusal)
        elif self.gate and environ.get("REQUEST_METHOD") == "GET" and _is_handshake(environ):
            refusal = self.gate.admit(environ)
            if refusal:
                return json_error(start_response, *refusal)
        return self._engineio(environ, start_response)

    def _read_unframed_body(self, environ: dict) -> tuple[str, str] | None:
        """A body without Content-Length: read at most max+1 bytes and give it one (or refuse it).

        When a body is refused, the connection is closed after the answer: the rest is never read.
        """
        refusal = self._unframed_body_refusal(environ)
        if refusal:
            environ.get(CLOSE_AFTER_ANSWER, lambda: None)()
        return refusal

    def _unframed_body_refusal(self, environ: dict) -> tuple[str, str] | None:
        length = environ.get("CONTENT_LENGTH")
        if length:
            too_large = length.isdigit() and int(length) > self.max_bytes
            return ("413 Request Entity Too Large", BODY_TOO_LARGE.format(kib=self.max_bytes // 1024)) \
                if too_large else None
        if not environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        try:
            body = environ["wsgi.input"].read(self.max_bytes + 1)
        except TimeoutError:
            return "408 Request Timeout", BODY_TOO_SLOW
        except (OSError, ValueError):  # eventlet's ChunkReadError is a ValueError
            return "400 Bad Request", BODY_BROKEN
        if len(body) > self.max_bytes:
            return "413 Request Entity Too Large", BODY_TOO_LARGE.format(kib=self.max_bytes // 1024)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None

    def _engineio_post_refusal(self, environ: dict) -> tuple[str, str] | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= self.max_bytes:
            return "413 Request Entity Too Large", f"a Socket.IO message may not exceed {self.max_bytes // 1024} KiB"
        body = environ["wsgi.input"].read(length) if length else b""
        if not _engineio_payload_ok(body):
            return "400 Bad Request", "not an Engine.IO payload from a client"
        environ["wsgi.input"] = io.BytesIO(body)
        return None

    def _engineio(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Engine.IO's answer, its refusals rewritten as {"error": words}."""
        answer: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            answer.update(status=status, headers=headers, exc_info=exc_info)
            if status[:1] in ("4", "5"):
                return lambda _data: None  # written below, in words
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.wsgi_app(environ, capture)
        status = answer.get("status", "")
        if status[:1] not in ("4", "5"):
            return result
        admission = environ.get(ADMISSION_KEY)
        if self.gate and admission is not None:
            self.gate.release(admission)  # refused further in: no session was made
        detail = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        code = status.split(" ", 1)[0]
        extra = [(k, v) for k, v in answer["headers"] if k.lower().startswith("access-control-")]
        return json_error(start_response, f"{code} {_reason(code)}", _engineio_words(detail), extra)


def _is_handshake(environ: dict) -> bool:
    """A GET without a session id: Engine.IO makes a new session for it."""
    return "sid" not in urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))


def _engineio_payload_ok(body: bytes) -> bool:
    """Every packet of a long-polling payload (separated by 0x1e) starts with a client packet type."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not text or all(packet[:1] in ENGINEIO_CLIENT_PACKETS for packet in text.split("\x1e"))


def _engineio_words(detail: bytes) -> str:
    try:
        message = json.loads(detail)
    except ValueError:
        message = detail.decode("utf-8", "replace")
    message = str(message if isinstance(message, str) else message or "refused")[:120]
    for known, words in ENGINEIO_WORDS.items():
        if message.startswith(known):
            return words
    return ENGINEIO_DEFAULT_WORDS.format(detail=message.rstrip("."))


def _reason(code: str) -> str:
    try:
        return HTTPStatus(int(code)).phrase
    except ValueError:
        return "Error"


def json_error(start_response: Callable, status: str, message: str,
               extra_headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    """Answer `status` with {"error": message}, from below Flask."""
    body = json.dumps({"error": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]
    if status.startswith("503"):
        headers.append(("Retry-After", "5"))
    start_response(status, headers + list(extra_headers or []))
    return [body]
