"""Listen, don't poll: a watcher in the page says when something that matters changed (docs/whatsapp-web.md,
"Listening to the page").

The watcher keeps a cheap signature of the page (chat list, QR canvas and its data-ref, dialogs, progress,
startup screen, link code, title, the app's outline) that a throttled MutationObserver recomputes, and it
listens to WhatsApp's own module events. A change calls `window.__waGateway.wake(reason)`, which reaches the
worker by the fastest way the session has: pushed over Chrome DevTools (a local browser, browser/devtools.py)
or WebDriver BiDi (a Selenium Grid); else it waits in `window.__waGateway.woken` for the worker's next wait,
an `execute_async_script` that returns on the first wake or after a short bound. Anyone in the page may call
`wake` (WAKE_JS does it safely before the watcher exists); the worker's own side calls `Listener.nudge`."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from wa_client.browser.driver import Browser

from wa_client.browser.devtools import BINDING, PageChannel, debugger_address, page_socket
from wa_client.page.watch_scripts import CHANNEL, MAX_REASONS, WAIT_SCRIPT, push_function, watcher_settings

logger = logging.getLogger(__name__)

FAILED_WAIT_PAUSE_S = 0.05  # after a wait that failed (the page navigated), before the probe looks
EXTRA_WAIT_S = 2.0  # a wait's WebDriver timeout beyond its own bound: a frozen page fails the wait, not the worker

def heard_logout(reasons: tuple[str, ...], signs: dict) -> bool:
    """Whether the wakes name one of WhatsApp's logout events (the ones the probe's hooks record as logout_seen)."""
    events = set(signs.get("CMD_LOGOUT_EVENTS", ())) | set(signs.get("BUS_LOGOUT_EVENTS", ()))
    return any(reason in events for reason in reasons)


def wake_reasons(raw: object) -> tuple[str, ...]:
    """The reasons a wait returned, as short strings (anything else: none)."""
    if not isinstance(raw, list):
        return ()
    return tuple(str(r)[:40] for r in raw if isinstance(r, str | int | float))


class Listener:
    """Waits for the page's wakes: pushed (DevTools locally, WebDriver BiDi on a Grid), else a short async wait.

    The gateway's own side (a command) ends the current or next wait at once through `nudge`.
    """

    def __init__(self, browser: Browser, signs: dict, sleep: Callable[[float], None] = time.sleep) -> None:
        self.browser = browser
        self.sleep = sleep
        self.signs = signs
        self.settings = watcher_settings()
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._reasons: deque[str] = deque(maxlen=MAX_REASONS)
        self.pushed = False
        self.channel: PageChannel | None = None  # the DevTools channel, when that is how the page pushes
        self.failures = 0

    def context(self) -> str | None:
        """The page's window (worker thread) when the session can push: WebDriver BiDi, or a local browser's
        DevTools; else None (the waits ask the page)."""
        driver = self.browser.driver
        caps = getattr(driver, "caps", None)
        if not isinstance(caps, dict) or not (caps.get("webSocketUrl") or debugger_address(caps)):
            return None
        if self.browser.remote and caps.get("webSocketUrl"):  # the Grid serves the socket where it serves WebDriver
            caps["webSocketUrl"] = through(caps["webSocketUrl"], self.browser.settings.remote_url)
        try:
            return driver.current_window_handle
        except Exception:  # noqa: BLE001 - the next probe finds out what is wrong
            return None

    def start(self, context: str | None) -> bool:
        """Open the push channel in `context`: DevTools on a local browser, BiDi `script.message` on a Grid;
        False: the waits ask the page instead. Runs beside the worker, never on the driver's classic commands."""
        driver = self.browser.driver
        if context is None or driver is None:
            return False
        script = push_function(self.signs, self.settings)
        address = None if self.browser.remote else debugger_address(driver.caps)
        try:
            if address:
                self._open_devtools(address, context, script)
            else:
                self._open_bidi(driver, context, script)
        except Exception as exc:  # noqa: BLE001 - no push channel after all: the async wait still works
            logger.info("the page's wakes come through short waits (no push channel: %s)", _first_line(exc))
            return False
        self.pushed = True
        logger.info("listening to the page through %s", "Chrome DevTools" if address else "WebDriver BiDi")
        return True

    def close(self) -> None:
        """The worker is done with this page: stop listening (never raises, never waits)."""
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()

    def _open_devtools(self, address: str, context: str, script: str) -> None:
        channel = PageChannel(page_socket(address, context), lambda value: self._push(_reasons_of(value)))
        try:
            channel.install(f"({script})((value) => window.{BINDING}(String(value)))")
        except BaseException:
            channel.close()
            raise
        self.channel = channel
        if self.browser.closed:  # a reset while it opened
            self.close()

    def _open_bidi(self, driver: Any, context: str, script: str) -> None:
        channel = {"type": "channel", "value": {"channel": CHANNEL}}
        driver.script.add_event_handler("message", self._on_message)
        driver.script.add_preload_script(script, arguments=[channel])  # every document from now on
        driver.script.call_function(script, await_promise=False, arguments=[channel],
                                    target={"context": context})  # and this one

    def nudge(self) -> None:
        """Something for the worker outside the page (a command): the current or next wait returns at once."""
        self._push(("command",))

    def wait(self, seconds: float) -> tuple[str, ...]:
        """Until the page wakes us or `seconds` pass: the reasons (empty: nothing happened)."""
        if self._woken.is_set():
            return self._take()
        if self.pushed and self.channel is not None and not self.channel.open:  # DevTools went away: ask the page
            logger.info("the DevTools channel closed; the page's wakes come through short waits")
            self.pushed, self.channel = False, None
        if self.pushed:
            self._woken.wait(seconds)
            return self._take()
        driver = self.browser.driver
        if driver is None or self.browser.closed:
            return ("closed",)
        self.browser.set_command_timeout(seconds + EXTRA_WAIT_S)
        try:
            raw = driver.execute_async_script(WAIT_SCRIPT, self.signs, max(1, int(seconds * 1000)), self.settings)
        except Exception as exc:  # noqa: BLE001 - the page navigated (or froze): the probe looks at once
            self.failures += 1
            logger.debug("page wait ended: %s", _first_line(exc))
            self.sleep(min(seconds, FAILED_WAIT_PAUSE_S))  # a page between two documents: no busy loop
            return ("navigation", *self._take())
        finally:
            self.browser.set_command_timeout(None)
        return wake_reasons(raw) + self._take()

    def _on_message(self, message: Any) -> None:
        """A BiDi `script.message` (Selenium's websocket thread): the watcher's reasons, comma-separated."""
        if getattr(message, "channel", None) != CHANNEL:
            return
        data = getattr(message, "data", None)
        value = data.get("value") if isinstance(data, dict) else None
        self._push(_reasons_of(value))

    def _push(self, reasons: tuple[str, ...]) -> None:
        with self._lock:
            self._reasons.extend(reasons)
            self._woken.set()

    def _take(self) -> tuple[str, ...]:
        with self._lock:
            reasons = tuple(self._reasons)
            self._reasons.clear()
            self._woken.clear()
        return reasons


def through(socket_url: str, remote_url: str | None) -> str:
    """The BiDi socket's address at the host and port of WA_REMOTE_URL (a Grid may advertise one it cannot serve)."""
    if not remote_url:
        return socket_url
    socket, remote = urlsplit(socket_url), urlsplit(remote_url)
    scheme = "wss" if remote.scheme == "https" else "ws"
    return urlunsplit((scheme, remote.netloc, socket.path, socket.query, ""))


def _reasons_of(value: object) -> tuple[str, ...]:
    """The watcher's reasons, sent comma-separated."""
    return wake_reasons(str(value).split(",")) or ("page",)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class WakeBudget:
    """A few woken looks at once, then one per `interval`: a flood of wakes never reads more than polling did."""

    def __init__(self, interval: float, burst: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def delay(self) -> float:
        """Take one look from the budget: the seconds to wait before it (0 when it may look at once)."""
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) / self.interval) - 1.0
        self.stamp = now
        return -self.tokens * self.interval if self.tokens < 0 else 0.0
