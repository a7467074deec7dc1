"""Which Chromium and chromedriver to start, with which flags (a desktop User-Agent, offline-friendly), and what
a failed start means in words."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from wa_client import proxy
from wa_client.config import Settings


class BrowserError(RuntimeError):
    """The browser could not be started or driven; the message is meant for people."""


SERVICE_START_S = 30.0  # chromedriver must listen within this (Selenium's own loop gives up after about 30 s)
SERVICE_LOOK_S = 0.005  # how often its port is tried while it starts


class ChromedriverService(Service):
    """Selenium's chromedriver Service, whose start tries the port every 5 ms until chromedriver listens.

    Selenium's own start looks, then sleeps 10 ms, then 60 ms: chromedriver listens after about 20 ms here, so
    every start waited some 50 ms more for nothing (docs/benchmark.md).
    """

    def start(self) -> None:
        self._start_process(self._path)
        deadline = time.monotonic() + SERVICE_START_S
        try:
            while not self.is_connectable():
                self.assert_process_still_running()  # "unexpectedly exited. Status code was: N"
                if time.monotonic() > deadline:
                    raise WebDriverException(f"chromedriver did not listen within {SERVICE_START_S:g} s (timed out)")
                time.sleep(SERVICE_LOOK_S)
        except BaseException:
            self.stop()
            raise


SYSTEM_DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
BROWSER_COMMANDS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

OFFLINE_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-quic",
)


def find_chromedriver(settings: Settings) -> str:
    """CHROMEDRIVER first, then the system's chromedriver, then webdriver-manager's download."""
    if settings.chromedriver:
        if not os.access(settings.chromedriver, os.X_OK):
            raise BrowserError(f"CHROMEDRIVER={settings.chromedriver} is not an executable file")
        return settings.chromedriver
    found = shutil.which("chromedriver") or next((p for p in SYSTEM_DRIVERS if os.access(p, os.X_OK)), None)
    if found:
        return found
    try:  # machines with internet and no system driver
        from webdriver_manager.chrome import ChromeDriverManager

        return ChromeDriverManager().install()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no driver"
        raise BrowserError(
            "chromedriver was not found: install Debian's chromium-driver or set CHROMEDRIVER"
        ) from exc


def find_chromium(settings: Settings) -> str | None:
    """CHROME_BINARY first, then Chromium or Chrome on the PATH (None: let chromedriver look)."""
    if settings.chrome_binary:
        if not os.access(settings.chrome_binary, os.X_OK):
            raise BrowserError(f"CHROME_BINARY={settings.chrome_binary} is not an executable file")
        return settings.chrome_binary
    return next((p for p in map(shutil.which, BROWSER_COMMANDS) if p), None)


def chrome_options(settings: Settings, profile_dir: str, binary: str | None) -> Options:
    """Chromium's flags: a normal desktop User-Agent, offline-friendly, root-friendly."""
    opts = Options()
    if binary:
        opts.binary_location = binary
    opts.page_load_strategy = "none"  # driver.get returns at once; the watcher reads the page
    if settings.headless:
        opts.add_argument("--headless=new")
    for flag in OFFLINE_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile_dir}")
    opts.add_argument(f"--user-agent={settings.user_agent}")
    opts.add_argument("--disable-blink-features=AutomationControlled")
    opts.add_argument("--disable-gpu")
    opts.add_argument("--disable-dev-shm-usage")
    opts.add_argument("--window-size=1280,900")
    for flag in proxy.chromium_flags(settings.proxy_url):
        opts.add_argument(flag)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    opts.add_experimental_option("excludeSwitches", ["enable-automation"])
    return opts


def explain_start_failure(exc: BaseException) -> str:
    """A failed start in words a receptionist can act on."""
    text = str(getattr(exc, "msg", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if "user data directory is already in use" in lowered:
        return "the WhatsApp profile is in use by another browser; click Force Reset"
    if "cannot find chrome binary" in lowered or "no chrome binary" in lowered:
        return "Chromium was not found: install Debian's chromium or set CHROME_BINARY"
    if "new session request timed out" in lowered or "no nodes support" in lowered:  # a Grid's queue
        return ("the browser could not be started: no Selenium Grid node that matches WA_REMOTE_CAPABILITIES "
                "had a free slot in time; check the node's stereotype and its sessions, then click Generate QR")
    if "session not created" in lowered:
        return f"Chromium could not be started ({text[:160]})"
    if "timed out" in lowered:
        return ("the browser could not be started: it did not answer in time (the computer may be overloaded); "
                "click Generate QR to try again")
    if "connection refused" in lowered or "max retries exceeded" in lowered or "failed to establish" in lowered:
        return ("the browser could not be started: its driver (chromedriver, or the Selenium server of "
                "WA_REMOTE_URL) cannot be reached; check that it runs, then click Generate QR")
    if isinstance(exc, OSError) and exc.strerror:
        return f"the browser could not be started: {exc.strerror.lower()} ({exc.filename or 'a file'})"
    return f"the browser could not be started ({text[:160]})"


@functools.cache
def quiet_wire_logs() -> None:
    """Once per process: Selenium's and urllib3's DEBUG logs carry whole responses, QR payload included."""
    for name in ("selenium", "urllib3"):
        wire = logging.getLogger(name)
        if wire.level < logging.INFO:  # NOTSET too: a later DEBUG root (LOG_LEVEL, a test) must not reach it
            wire.setLevel(max(logging.INFO, wire.getEffectiveLevel()))
    # "Connection pool is full" when a reset's quit overlaps a poll: harmless, and only noise
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # websocket-client (WebDriver BiDi) logs every close as an ERROR "goodbye"; wa_client.page.watch says what matters
    logging.getLogger("websocket").setLevel(logging.CRITICAL)
