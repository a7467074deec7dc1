"""What the messaging tests share: a webhook receiver on loopback that can be down first and come up later."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.gateway import free_port


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
