"""One Chromium driven through chromedriver: launched, watched and torn down by pid (which one, and its flags:
chromium.py)."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.webdriver import WebDriver as RemoteWebDriver  # now, not lazily at a start: 0.28 s

from wa_client.browser import procs, profile
from wa_client.browser.chromium import (
    BrowserError,
    ChromedriverService,
    chrome_options,
    explain_start_failure,
    find_chromedriver,
    find_chromium,
    quiet_wire_logs,
)
from wa_client.config import Settings

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 30.0  # page actions and launch
PROBE_TIMEOUT_S = 2.0  # one poll's probe: a frozen browser must not hold the session for long
BIDI_TIMEOUT_S = 5.0  # opening the WebDriver BiDi socket, and each BiDi command
QUIT_TIMEOUT_S = 5.0
FAST_QUIT_TIMEOUT_S = 2.0
FLUSH_GRACE_S = 5.0


#: WebDriver errors after which the session cannot go on (the browser or its driver is gone).
FATAL_WEBDRIVER_ERRORS = ("invalid session id", "chrome not reachable", "no such window", "session deleted",
                          "not connected to devtools", "connection refused", "max retries exceeded",
                          "target window already closed")


def is_fatal(exc: BaseException) -> bool:
    """True when a WebDriver error means the browser is gone, not merely busy navigating."""
    text = str(exc).lower()
    return any(mark in text for mark in FATAL_WEBDRIVER_ERRORS)


class BrowserCancelled(BrowserError):
    """A start was cancelled by a reset while it was under way."""


class Browser:
    """The Chromium tree that this gateway started, with the pids it recorded at launch."""

    def __init__(self, settings: Settings, profile_dir: str | os.PathLike,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.profile_dir = str(profile_dir)
        self.sleep = sleep
        self.driver: Any = None
        self.service: ChromedriverService | None = None
        self.driver_pid: int | None = None
        self.browser_pid: int | None = None
        self._pids: set[int] = set()
        self.tmp_dir: str | None = None  # TMPDIR of chromedriver and Chromium, removed at quit
        self._guard = threading.Lock()
        self._cancelled = False
        self._closed = False
        self.remote = bool(settings.remote_url)

    # -- launch -------------------------------------------------------------------------------
    def launch(self, url: str) -> None:
        """Start chromedriver and Chromium and open `url`; on any failure, leave nothing behind.

        Until quit(), the browser quits at interpreter exit too (profile kept), with or without Flask.
        """
        quiet_wire_logs()
        atexit.register(self._quit_at_exit)
        try:
            if self.remote:
                self._start_session(self.settings.remote_url, binary=None)
            else:
                self._start_service()
                self._start_session(self.service.service_url, find_chromium(self.settings))
            self.driver.get(url)
        except BaseException as exc:
            cancelled = self._cancelled
            self.quit(graceful=False)
            if cancelled:
                raise BrowserCancelled("the start was cancelled by a reset") from exc
            if isinstance(exc, BrowserError):
                raise
            raise BrowserError(explain_start_failure(exc)) from exc

    def _start_service(self) -> None:
        path = find_chromedriver(self.settings)
        # a TMPDIR of its own: a killed Chromium cannot clean its scoped dirs and sockets, so we do
        self.tmp_dir = tempfile.mkdtemp(prefix=profile.tmp_prefix(self.profile_dir))
        service = ChromedriverService(executable_path=path, log_output=subprocess.DEVNULL,
                                      env={**os.environ, "TMPDIR": self.tmp_dir}, popen_kw={"start_new_session": True})
        with self._guard:
            if self._cancelled:
                raise BrowserCancelled("the start was cancelled by a reset")
            self.service = service  # from here on, quit() in another thread stops it
        service.start()
        with self._guard:
            self.driver_pid = service.process.pid
            self._pids.add(self.driver_pid)
            cancelled = self._cancelled
        if cancelled:
            raise BrowserCancelled("the start was cancelled by a reset")

    def _start_session(self, server_url: str, binary: str | None) -> None:
        """Open a WebDriver session on our chromedriver (or on WA_REMOTE_URL's server)."""
        options = chrome_options(self.settings, self.profile_dir, binary)
        # The page's wakes are pushed (page/watch.py): over DevTools locally; BiDi (0.2 s at start) only on a Grid.
        options.enable_bidi = self.settings.listen and self.remote
        if self.remote:  # the node decides whether it runs as root; --no-sandbox is harmless there
            options.add_argument("--no-sandbox")
            for name, value in self.settings.remote_capability_map.items():  # WA_REMOTE_CAPABILITIES: pinning
                options.set_capability(name, value)
        config = ClientConfig(remote_server_addr=server_url, keep_alive=True, timeout=COMMAND_TIMEOUT_S,
                              websocket_timeout=BIDI_TIMEOUT_S)  # a BiDi socket that never opens: waits instead
        executor = ChromiumRemoteConnection(remote_server_addr=server_url, vendor_prefix="goog",
                                            browser_name="chrome", client_config=config)
        driver = RemoteWebDriver(command_executor=executor, options=options)
        with self._guard:
            self.driver = driver
            if not self.remote:
                self._record_browser()
            cancelled = self._cancelled
        if cancelled:
            raise BrowserCancelled("the start was cancelled by a reset")
        if self.remote:
            logger.info("remote browser started on %s", _without_credentials(server_url))
        else:
            logger.info("browser started: chromedriver pid %s, chromium pid %s", self.driver_pid, self.browser_pid)
        if self.settings.proxy_url:
            logger.info("the browser reaches WhatsApp through the proxy %s", self.settings.proxy_url)

    def _record_browser(self) -> None:
        """Record Chromium's pids now: once chromedriver dies they are no longer its children."""
        table = procs.all_procs()
        below = procs.descendants(self.driver_pid, table)
        self._pids |= below
        for proc in table:
            if proc.ppid == self.driver_pid and procs.is_browser_main(proc, procs.cmdline(proc.pid)):
                self.browser_pid = proc.pid
                break
        profile.record_pids(self.profile_dir, self._pids | {self.driver_pid}, self.tmp_dir)

    def set_command_timeout(self, seconds: float | None) -> None:
        """How long one WebDriver command may take (None: the long default for page actions)."""
        driver = self.driver
        if driver is not None:
            _set_timeout(driver, COMMAND_TIMEOUT_S if seconds is None else seconds)

    # -- watching -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once quit() was called: by a reset or a shutdown, or at interpreter exit."""
        return self._closed

    def crashed(self) -> str | None:
        """Which recorded process died ('chromedriver' or 'chromium'), or None while both live."""
        process = _process_of(self.service)
        if process is not None and process.poll() is not None:
            return "chromedriver"
        if self.driver_pid is not None and not procs.alive(self.driver_pid):
            return "chromedriver"
        if self.browser_pid is not None and not procs.alive(self.browser_pid):
            return "chromium"
        return None

    def owned_pids(self) -> set[int]:
        """Every live process of this browser's tree: recorded, descendants, and its process group."""
        with self._guard:
            pids = set(self._pids)
            root = self.driver_pid
        if root is not None:
            table = procs.all_procs()  # one scan of /proc for both
            pids |= procs.descendants(root, table) | procs.group_members(root, table) | {root}
        return {p for p in pids if procs.alive(p)}

    # -- teardown -----------------------------------------------------------------------------
    def quit(self, graceful: bool = True) -> None:
        """Quit the driver, let Chromium flush the profile, kill what is left; never raises.

        Also cancels a launch under way in another thread. Calling it again only kills whatever
        that launch started since, so the launching thread's own cleanup leaves nothing behind.
        """
        with self._guard:
            first = not self._closed
            self._closed = self._cancelled = True
            driver, service = self.driver, self.service
            self.driver = None
        atexit.unregister(self._quit_at_exit)
        pids = self.owned_pids()
        graceful = graceful and first
        try:
            if first and driver is not None and self.crashed() is None:
                _set_timeout(driver, QUIT_TIMEOUT_S if graceful else FAST_QUIT_TIMEOUT_S)
                _drop_bidi(driver)
                driver.quit()
        except Exception as exc:  # noqa: BLE001 - the browser may already be gone
            logger.debug("driver.quit failed: %s", exc)
        finally:
            if graceful:  # quit() returns before Chromium has written the profile to disk
                procs.wait_gone(pids - {self.driver_pid}, FLUSH_GRACE_S, self.sleep)
            self._stop_service(service)
            self._kill(pids | self.owned_pids(), grace=1.0 if graceful else 0)
            if self.tmp_dir:
                profile.remove_tree(self.tmp_dir, sleep=self.sleep)
            if not self.remote and os.path.isdir(self.profile_dir):
                profile.forget_pids(self.profile_dir)

    def _quit_at_exit(self) -> None:
        self.quit(graceful=True)

    def _stop_service(self, service: ChromedriverService | None) -> None:
        process = _process_of(service)
        if process is None:
            return
        try:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(2)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(2)
        except Exception as exc:  # noqa: BLE001
            logger.debug("stopping chromedriver failed: %s", exc)
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def _kill(self, pids: set[int], grace: float) -> None:
        root = self.driver_pid
        if root is not None and grace == 0:
            try:  # the group that chromedriver leads (start_new_session) holds all its Chromium
                os.killpg(root, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        left = procs.kill_tree(pids, grace, self.sleep)
        process = _process_of(self.service)
        if process is not None:
            try:
                process.poll()  # reap chromedriver so it does not linger as a zombie
            except Exception:  # noqa: BLE001
                pass
        if left:
            logger.error("browser processes would not die: %s", sorted(left))


def _drop_bidi(driver: Any) -> None:
    """Close the WebDriver BiDi socket without waiting: Selenium's own close waits seconds on a frozen driver."""
    connection, driver._websocket_connection = getattr(driver, "_websocket_connection", None), None
    app = getattr(connection, "_ws", None)
    sock = getattr(app, "sock", None)
    if sock is None:
        return
    app.keep_running = False
    reader = getattr(connection, "_ws_thread", None)
    try:
        if reader is not None and reader.is_alive():  # woken (EOF), its reader closes the socket: an fd closed
            sock.abort()  # under its select() could be reused meanwhile ("Second simultaneous read", a reset's rm)
        else:
            sock.shutdown()
    except Exception as exc:  # noqa: BLE001 - gone already
        logger.debug("closing the BiDi socket failed: %s", exc)


def _process_of(service: ChromedriverService | None) -> subprocess.Popen | None:
    """chromedriver's Popen, or None before Service.start() has made one."""
    return getattr(service, "process", None)


def _set_timeout(driver: Any, seconds: float) -> None:
    config = getattr(driver.command_executor, "_client_config", None)
    if config is not None:
        config.timeout = seconds


def _without_credentials(url: str) -> str:
    """The URL without user:password@, for logs."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.split("@", 1)[-1] if sep else url

