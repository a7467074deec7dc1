"""A push channel from the page over Chrome DevTools, for a local chromedriver (docs/whatsapp-web.md, "Listening to
the page").

Asking chromedriver for WebDriver BiDi (`webSocketUrl`) costs about 0.2 s at every session's start, before the
first QR (docs/benchmark.md). A local Chromium already serves DevTools at `goog:chromeOptions.debuggerAddress`,
so the page's wakes come through there instead: `Runtime.addBinding` gives the page a function that sends a
`Runtime.bindingCalled` event, and `Page.addScriptToEvaluateOnNewDocument` installs the watcher in every document.
A Selenium Grid does not expose DevTools: there the session asks for BiDi (browser/driver.py).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.request import urlopen

import websocket

logger = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 5.0  # finding the page's target, opening its socket, each command's answer
BINDING = "__waGatewaySend"  # the page's function that sends a wake (one string argument)


class DevtoolsError(Exception):
    """The DevTools channel could not be opened (the caller falls back to waits that ask the page)."""


def debugger_address(capabilities: Any) -> str | None:
    """host:port of the browser's DevTools, from the session's capabilities (local chromedriver only)."""
    options = capabilities.get("goog:chromeOptions") if isinstance(capabilities, dict) else None
    address = options.get("debuggerAddress") if isinstance(options, dict) else None
    return address if isinstance(address, str) and address else None


def page_socket(address: str, target_id: str | None) -> str:
    """The DevTools socket of the page `target_id` (chromedriver's window handle), else of the only page."""
    with urlopen(f"http://{address}/json/list", timeout=OPEN_TIMEOUT_S) as answer:  # noqa: S310 - loopback
        targets = json.loads(answer.read().decode())
    pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
    chosen = [t for t in pages if t.get("id") == target_id] or (pages if len(pages) == 1 else [])
    if not chosen:
        raise DevtoolsError(f"no single page target at {address} ({len(pages)} pages)")
    return chosen[0]["webSocketDebuggerUrl"]


class PageChannel:
    """One page target's DevTools socket: the binding and the watcher installed, its calls handed to `on_call`.

    Its reader thread owns the socket: `close()` only shuts it down, the reader closes it (a descriptor closed
    under another thread's read could be reused meanwhile).
    """

    def __init__(self, url: str, on_call: Callable[[str], None]) -> None:
        self.on_call = on_call
        self._ids = itertools.count(1)
        self._answers: dict[int, threading.Event] = {}
        self._results: dict[int, dict] = {}
        self._closed = False
        try:
            self._ws = websocket.create_connection(url, timeout=OPEN_TIMEOUT_S, suppress_origin=True,
                                                   enable_multithread=True)
        except Exception as exc:  # noqa: BLE001 - the caller falls back
            raise DevtoolsError(f"cannot open {url}: {exc}") from exc
        self._ws.settimeout(None)  # the reader blocks until a message or close()
        self._reader = threading.Thread(target=self._read, name="devtools-reader", daemon=True)
        self._reader.start()

    def install(self, source: str) -> None:
        """Give the page the binding and run `source` (which calls it) in this document and every later one.

        Without Page and Runtime enabled, neither the script nor the binding reaches the next document.
        """
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Runtime.addBinding", name=BINDING)
        self.call("Page.addScriptToEvaluateOnNewDocument", source=source)
        self.call("Runtime.evaluate", expression=source, awaitPromise=False)

    def call(self, method: str, **params: Any) -> dict:
        """Send one DevTools command and wait for its answer (DevtoolsError on an error or no answer)."""
        ident = next(self._ids)
        answered = self._answers[ident] = threading.Event()
        try:
            self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            if not answered.wait(OPEN_TIMEOUT_S):
                raise DevtoolsError(f"{method}: no answer in {OPEN_TIMEOUT_S:g} s")
        except (OSError, websocket.WebSocketException) as exc:
            raise DevtoolsError(f"{method}: {exc}") from exc
        finally:
            self._answers.pop(ident, None)
        result = self._results.pop(ident, {})
        if "error" in result:
            raise DevtoolsError(f"{method}: {result['error'].get('message', result['error'])}")
        return result.get("result", {})

    def close(self) -> None:
        """Stop listening; never raises, never waits."""
        self._closed = True
        try:
            self._ws.sock and self._ws.sock.shutdown(2)  # the reader sees EOF and closes the socket
        except OSError:
            pass

    @property
    def open(self) -> bool:
        return not self._closed and self._reader.is_alive()

    def _read(self) -> None:
        try:
            while not self._closed:
                raw = self._ws.recv()
                if not raw:
                    break
                self._handle(json.loads(raw))
        except Exception as exc:  # noqa: BLE001 - the browser went away, or close()
            if not self._closed:
                logger.debug("DevTools socket ended: %s", exc)
        finally:
            self._closed = True
            for answered in list(self._answers.values()):
                answered.set()
            try:
                self._ws.close(timeout=0)
            except Exception:  # noqa: BLE001
                pass

    def _handle(self, message: dict) -> None:
        ident = message.get("id")
        if ident is not None:
            answered = self._answers.get(ident)
            if answered is not None:  # (an answer after its call gave up is dropped, not kept)
                self._results[ident] = message
                answered.set()
            return
        params = message.get("params") or {}
        if message.get("method") == "Runtime.bindingCalled" and params.get("name") == BINDING:
            self.on_call(str(params.get("payload", "")))
