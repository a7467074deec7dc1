"""Real receivers on loopback for notification and webhook tests: an SMTP server (aiosmtpd) and HTTP servers."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.gateway import free_port


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps every message it receives (as text)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """aiosmtpd hook: keep the message."""
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"

    def url(self) -> str:
        """An Apprise mailto:// URL that delivers here."""
        return f"mailto://127.0.0.1:{self.port}?from=gateway@clinic.test&to=it@clinic.test"

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class JsonReceiver:
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it; `hold` makes it wait first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrived = threading.Event()  # a POST reached the server (maybe held)
        self.release = threading.Event()
        self.release.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                receiver.arrived.set()
                receiver.release.wait(30)
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def url(self) -> str:
        """An Apprise json:// URL that delivers here."""
        return f"json://127.0.0.1:{self.server.server_address[1]}/notify"

    def hold(self) -> None:
        """Keep the next POSTs waiting until `release` is set."""
        self.release.clear()

    def __enter__(self) -> JsonReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="json-receiver").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A real HTTP server on loopback that records webhook calls and answers scripted codes."""

    def __init__(self, codes: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.calls: list[dict] = []
        self.codes = list(codes or [])
        self.delay_s = delay_s
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_s)  # a slow receiver, on purpose
                receiver.calls.append({"body": body, "headers": dict(self.headers)})
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(c["body"]) for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Hook:
    """A webhook receiver on loopback at a fixed port: it can be down first and come up later."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.calls: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    def up(self) -> Hook:
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                calls.append({"body": body, "headers": dict(self.headers)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def events(self, name: str) -> list[dict]:
        return [body["data"] for body in (json.loads(c["body"]) for c in list(self.calls)) if body["event"] == name]

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
