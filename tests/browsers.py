"""Chromium in the tests: drivers started with the gateway's own flags, and the processes this test run owns.

Every chromedriver/Chromium that this run starts (directly, or through a gateway, a Grid node or a
chromedriver) inherits RUN_MARKER in its environment; `browser_processes()` finds them by it even after
they were reparented, and leaves other people's browsers on the same machine alone.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers import wait_until
from tests.processes import still_alive
from wa_client import Settings
from wa_client.browser import procs
from wa_client.browser.chromium import chrome_options, find_chromedriver, find_chromium

logger = logging.getLogger(__name__)

RUN_MARKER = "WA_TEST_RUN"
os.environ.setdefault(RUN_MARKER, uuid.uuid4().hex)  # set once per run; every child process inherits it
QUIT_GRACE_S = 5.0  # Chromium may still be writing the profile when quit() returns

DESKTOP_USER_AGENT = Settings().user_agent
HEADLESS_USER_AGENT = DESKTOP_USER_AGENT.replace("Chrome/", "HeadlessChrome/")


def _has_marker(pid: int) -> bool:
    marker = f"{RUN_MARKER}={os.environ[RUN_MARKER]}".encode()
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def browser_processes() -> dict[int, int]:
    """Every live chromedriver/Chromium that this test run started, wherever it hangs now: {pid: start time}."""
    names = procs.BROWSER_NAMES + procs.DRIVER_NAMES
    return {p.pid: p.started for p in procs.all_procs()
            if p.state not in ("Z", "X") and p.name.startswith(names) and _has_marker(p.pid)}


def reap(pids: dict[int, int], grace: float = QUIT_GRACE_S) -> list[int]:
    """Wait up to `grace` for the processes to exit, SIGKILL the rest; those that lingered past the grace."""
    try:
        wait_until(lambda: not still_alive(pids), grace, what="browser processes to exit")
        return []
    except AssertionError:
        lingering = still_alive(pids)
    logger.warning("killing lingering browser processes %s", lingering)
    procs.signal_pids(lingering, signal.SIGKILL)
    try:
        wait_until(lambda: not still_alive(pids), 2.0, what="killed browser processes to go")
    except AssertionError:
        pass
    return lingering


def _process_tree(root: int) -> dict[int, int]:
    """`root` and all its live descendants, as {pid: start time}."""
    table = procs.all_procs()
    wanted = procs.descendants(root, table) | {root}
    return {p.pid: p.started for p in table if p.pid in wanted and p.state not in ("Z", "X")}


class ChromiumDrivers:
    """Starts headless Chromium drivers with the gateway's flags and quits them for good."""

    def __init__(self, default_profile: Path) -> None:
        self.default_profile = default_profile
        self.pids: dict[int, int] = {}  # every chromedriver/Chromium process we started: {pid: start time}
        self._open: dict[int, tuple[WebDriver, dict[int, int]]] = {}  # id(driver) -> (driver, its processes)

    def __call__(self, profile_dir: Path | str | None = None,
                 user_agent: str = DESKTOP_USER_AGENT, **overrides) -> WebDriver:
        """A Chromium on `profile_dir` (default: the test's chrome_profile) sending `user_agent`, with
        `overrides` of the gateway's settings (proxy_url=…)."""
        # CHROME_BINARY, CHROMEDRIVER as the gateway reads them
        settings = Settings.from_env(user_agent=user_agent, **overrides)
        options = chrome_options(settings, str(profile_dir or self.default_profile), find_chromium(settings))
        options.page_load_strategy = "normal"  # these tests read the page right after driver.get()
        service = Service(executable_path=find_chromedriver(settings))
        driver = webdriver.Chrome(service=service, options=options)
        # Record Chromium now: if chromedriver dies, its browser is reparented and no longer its child.
        owned = _process_tree(service.process.pid)
        self._open[id(driver)] = (driver, owned)
        self.pids.update(owned)
        logger.info("chromedriver pid %s started Chromium pids %s", service.process.pid, sorted(owned))
        return driver

    def quit(self, driver: WebDriver) -> None:
        """Quit `driver` and wait until its processes are gone (kill what lingers); never raises."""
        _, owned = self._open.pop(id(driver), (driver, {}))
        # Renderers started after launch are descendants of what we recorded (skip reused pids).
        for pid in still_alive(owned):
            fresh = {p: s for p, s in _process_tree(pid).items() if owned.get(p, s) == s}
            owned.update(fresh)
            self.pids.update(fresh)
        try:
            driver.quit()
        except Exception:  # a dead chromedriver cannot answer; its processes are handled below
            logger.warning("driver.quit() failed", exc_info=True)
        reap(owned)

    def quit_all(self) -> None:
        """Quit every driver still open, and make sure nothing we started survives."""
        for driver, _ in list(self._open.values()):
            self.quit(driver)
        reap(self.pids)
