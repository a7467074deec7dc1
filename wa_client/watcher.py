"""The watcher: polls the page about every 200 ms and drives the session's state machine."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .browser import is_fatal
from .page import Page, Snapshot, WhatsAppPage, classify, format_pairing_code
from .states import Reason, State

if TYPE_CHECKING:
    from .browser import Browser
    from .client import WhatsAppClient

logger = logging.getLogger(__name__)

RELOAD_CLICK_INTERVAL_S = 1.0
STARTING_POLL_S = 0.05
TAKEOVER_CLICK_INTERVAL_S = 2.0
MAX_PROBE_FAILURES_S = 10.0

UNSUPPORTED_ERROR = (
    "WhatsApp says this browser is not supported. The gateway must send a normal desktop Chrome "
    "User-Agent (check WA_USER_AGENT), then click Force Reset and Generate QR."
)
CRASH_ERROR = "The browser stopped unexpectedly ({what} died). Click Generate QR to start again."
UNRESPONSIVE_ERROR = "The browser stopped answering. Click Generate QR to start again."


class Watcher:
    """Reads the page of one browser, for one session generation, until that session ends."""

    def __init__(self, client: WhatsAppClient, browser: Browser, generation: int) -> None:
        self.client = client
        self.browser = browser
        self.generation = generation
        self.page = WhatsAppPage(browser.driver)
        self.settings = client.settings
        self.was_connected = False
        self.authenticated = False
        self.last_reload_click = 0.0
        self.last_takeover_click = 0.0
        self.failing_since: float | None = None
        self.lock = threading.Lock()  # one browser conversation at a time: the poll or an action

    def run(self) -> None:
        """Poll until the session is over or a reset takes it away."""
        interval = self.settings.poll_interval_s
        while self.client.is_current(self.generation):
            if not self.poll_once():
                return
            # while WhatsApp loads, look more often: the first QR is what the front desk waits for
            starting = self.client.state is State.STARTING
            self.client.sleep(min(interval, STARTING_POLL_S) if starting else interval)

    def poll_once(self) -> bool:
        """One poll: check the processes, read the page, act; False when the session has ended."""
        crashed = self.browser.crashed()
        if crashed:
            return not self._end(State.FAILED, Reason.BROWSER_CRASHED, CRASH_ERROR.format(what=crashed))
        with self.lock:
            try:
                snap = self.page.read()
            except Exception as exc:  # noqa: BLE001 - WebDriver errors while the page navigates
                return self._probe_failed(exc)
            self.failing_since = None
            return self.handle(snap)

    def act(self, action: Callable[[Any], Any]) -> Any:
        """Run `action(driver)` between two polls (the CRM's pairing code, logout, takeover)."""
        with self.lock:
            return action(self.browser.driver)

    def _probe_failed(self, exc: Exception) -> bool:
        if not self.client.is_current(self.generation):
            return False
        crashed = self.browser.crashed()
        if crashed:
            return not self._end(State.FAILED, Reason.BROWSER_CRASHED, CRASH_ERROR.format(what=crashed))
        if is_fatal(exc):
            return not self._end(State.FAILED, Reason.BROWSER_CRASHED, CRASH_ERROR.format(what="the browser session"))
        now = time.monotonic()
        self.failing_since = self.failing_since or now
        logger.debug("page probe failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if now - self.failing_since > MAX_PROBE_FAILURES_S:
            return not self._end(State.FAILED, Reason.BROWSER_CRASHED, UNRESPONSIVE_ERROR)
        return True

    def handle(self, snap: Snapshot) -> bool:
        """Drive the state machine from one snapshot; False when the session has ended."""
        page = classify(snap)
        state = self.client.state
        if page is Page.LOGGED_OUT or (self.was_connected and page in (Page.QR, Page.QR_EXPIRED, Page.LANDING,
                                                                         Page.PAIRING_CODE)):
            reason = self.client.logout_reason(self.generation)
            return not self._end(State.DISCONNECTED, reason, None, delete_profile=True)
        if page is Page.BROWSER_ERROR:
            return not self._end(State.FAILED, Reason.UNREACHABLE,
                                 f"WhatsApp Web cannot be reached at {self.settings.wa_url}. "
                                 "Check the internet connection, then click Generate QR.")
        if page is Page.UNSUPPORTED:
            return not self._end(State.FAILED, Reason.UNSUPPORTED_BROWSER, UNSUPPORTED_ERROR)
        if page is Page.CONFLICT:
            self._update(State.CONFLICT)
            if self.settings.takeover_on_conflict:
                self._take_over()
            return True
        if page is Page.CHATS:
            if self._update(State.CONNECTED) and not self.was_connected:
                self.was_connected = True
                self._authenticated()
                self.client.emit("ready", {})
            return True
        if page is Page.LOADING or (page is Page.STARTUP and snap.linked and state is not State.QR):
            if self._update(State.AUTHENTICATING):
                self._authenticated()
            return True
        if page is Page.QR:
            return self._in_qr(snap.qr_ref)
        if page is Page.QR_EXPIRED:
            return self._qr_expired()
        if page is Page.PAIRING_CODE:
            self._update(State.QR, clear_qr=True, pairing_code=format_pairing_code(snap.pairing_code))
            return self._check_qr_timeout()
        if state is State.STARTING and self._elapsed() > self.settings.start_timeout_s:
            return not self._end(State.FAILED, Reason.START_TIMEOUT,
                                 f"WhatsApp Web did not load within {self.settings.start_timeout_s:g} s. "
                                 "Check the internet connection, then click Generate QR.")
        return True

    # -- QR -----------------------------------------------------------------------------------
    def _in_qr(self, ref: str | None) -> bool:
        self._update(State.QR, qr_payload=ref)
        return self._check_qr_timeout()

    def _qr_expired(self) -> bool:
        """Never serve the faded QR; ask WhatsApp for fresh codes until our own QR timeout."""
        self._update(State.QR, clear_qr=True)
        if not self._check_qr_timeout():
            return False
        now = time.monotonic()
        if now - self.last_reload_click >= RELOAD_CLICK_INTERVAL_S:
            self.last_reload_click = now
            try:
                clicked = self.page.click_reload()
                if clicked:
                    self.client.new_qr_cycle(self.generation)
                logger.info("QR expired; clicked reload (%s)", "ok" if clicked else "button gone")
            except Exception as exc:  # noqa: BLE001
                logger.warning("could not click the QR reload button: %s", exc)
        return True

    def _check_qr_timeout(self) -> bool:
        if self._elapsed() <= self.settings.qr_timeout_s:
            return True
        logger.info("no scan within WA_QR_TIMEOUT_S=%g s; closing the browser", self.settings.qr_timeout_s)
        return not self._end(State.IDLE, Reason.QR_TIMEOUT, None)

    # -- helpers ------------------------------------------------------------------------------
    def _take_over(self) -> None:
        now = time.monotonic()
        if now - self.last_takeover_click < TAKEOVER_CLICK_INTERVAL_S:
            return
        self.last_takeover_click = now
        try:
            if self.page.click_use_here():
                logger.info("WhatsApp was open elsewhere; clicked 'Use here'")
        except Exception as exc:  # noqa: BLE001
            logger.warning("could not click 'Use here': %s", exc)

    def _authenticated(self) -> None:
        if not self.authenticated:
            self.authenticated = True
            self.client.emit("authenticated", {})

    def _elapsed(self) -> float:
        return time.monotonic() - self.client.started_at()

    def _update(self, state: State, **kwargs) -> bool:
        if not self.client.update(self.generation, state, **kwargs):
            return False
        return self.client.state is state

    def _end(self, state: State, reason: Reason, error: str | None, delete_profile: bool = False) -> bool:
        """End the session; True when this watcher is done (ended it, or was superseded)."""
        self.client.end(self.generation, state, reason, error, delete_profile=delete_profile)
        return True
