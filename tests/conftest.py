"""Shared fixtures. Each group below belongs to one part of the suite; add new groups, keep them apart."""
from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.client_kit import nothing_left, wait_until
from tests.sim import Simulator
from wa_client import Settings, WhatsAppClient

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------------
# Hypothesis: the same examples on every CI run; locally random, with the seed printed to reproduce a failure.
# ---------------------------------------------------------------------------------------------------------

hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Outside CI, draw one seed for the run (unless --hypothesis-seed gives one) so that a failure can be replayed."""
    if not os.environ.get("CI") and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def pytest_report_header(config: pytest.Config) -> str:
    """The Hypothesis profile and seed, at the top of every run."""
    return f"hypothesis: profile {hypothesis_settings.get_current_profile_name()!r}, {_hypothesis_seed(config)}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After a failure, the seed again: `pytest --hypothesis-seed=N` replays the same examples."""
    if exitstatus != 0:
        terminalreporter.write_line(f"hypothesis: {_hypothesis_seed(config)}")


def _hypothesis_seed(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        return "derandomized (CI is set): every run draws the same examples"
    return f"seed {seed} (replay with --hypothesis-seed={seed})"


# ---------------------------------------------------------------------------------------------------------
# The WhatsApp Web simulator (tests/fake_whatsapp), run as a subprocess with fast timings.
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def simulator_server() -> Iterator[Simulator]:
    """One simulator for the whole run, with the --fast knobs."""
    sim = Simulator.start(fast=True)
    yield sim
    sim.stop()


@pytest.fixture
def simulator(request: pytest.FixtureRequest, simulator_server: Simulator) -> Iterator[Simulator]:
    """The simulator, reset: no devices, no pages, no events, the --fast knobs again.

    At teardown the test fails if anything clicked a trap (a control that logs the account out or
    drops the session), unless it is marked @pytest.mark.clicks_traps.
    """
    if simulator_server.proc.poll() is not None:
        pytest.fail(f"the simulator exited with code {simulator_server.proc.returncode}")
    simulator_server.reset()
    yield simulator_server
    if request.node.get_closest_marker("clicks_traps") or simulator_server.proc.poll() is not None:
        return
    traps = simulator_server.traps()
    if traps:
        pytest.fail(f"traps were clicked (controls that log out or drop the session): {traps}")


# ---------------------------------------------------------------------------------------------------------
# Headless Chromium through Selenium, for tests that look at the simulator's page themselves.
# ---------------------------------------------------------------------------------------------------------

CHROMIUM_BINARY = os.environ.get("CHROME_BINARY", "/usr/bin/chromium")
CHROMEDRIVER_BINARY = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
DESKTOP_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/156.0.0.0 Safari/537.36")
HEADLESS_USER_AGENT = DESKTOP_USER_AGENT.replace("Chrome/", "HeadlessChrome/")
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-blink-features=AutomationControlled", "--window-size=1280,900",
)
QUIT_GRACE_S = 5.0  # Chromium may still be writing the profile when quit() returns


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state letter, start time) of a process, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def _process_tree(*roots: int) -> dict[int, int]:
    """The `roots` and all their descendants, as {pid: start time}."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))):
            children.setdefault(stat[0], []).append(int(entry))
            starts[int(entry)] = stat[2]
    tree, todo = {}, list(roots)
    while todo:
        pid = todo.pop()
        if pid in starts and pid not in tree:
            tree[pid] = starts[pid]
            todo += children.get(pid, [])
    return tree


def _alive(pids: dict[int, int]) -> list[int]:
    """The recorded processes that still run (same pid, same start time, not a zombie)."""
    return [pid for pid, start in pids.items()
            if (stat := _proc_stat(pid)) and stat[2] == start and stat[1] != "Z"]


def _wait_gone(pids: dict[int, int], timeout: float) -> list[int]:
    """Wait up to `timeout` for the recorded processes to exit; those still alive."""
    deadline = time.monotonic() + timeout
    while (alive := _alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


class ChromiumDrivers:
    """Starts headless Chromium drivers and quits them for good: every process they started ends."""

    def __init__(self, default_profile: Path) -> None:
        self.default_profile = default_profile
        self.pids: dict[int, int] = {}  # every chromedriver/Chromium process we started: {pid: start time}
        self._open: dict[int, tuple[WebDriver, dict[int, int]]] = {}  # id(driver) -> (driver, its processes)

    def __call__(self, profile_dir: Path | str | None = None,
                 user_agent: str = DESKTOP_USER_AGENT) -> WebDriver:
        """A Chromium on `profile_dir` (default: the test's chrome_profile) sending `user_agent`."""
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM_BINARY
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-agent={user_agent}")
        options.add_argument(f"--user-data-dir={profile_dir or self.default_profile}")
        service = Service(executable_path=CHROMEDRIVER_BINARY)
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
        fresh = {pid: start for pid, start in _process_tree(*_alive(owned)).items()
                 if owned.get(pid, start) == start}
        owned.update(fresh)
        self.pids.update(fresh)
        try:
            driver.quit()
        except Exception:  # a dead chromedriver cannot answer; its processes are handled below
            logger.warning("driver.quit() failed", exc_info=True)
        self._reap(owned)

    def quit_all(self) -> None:
        """Quit every driver still open, and make sure nothing we started survives."""
        for driver, _ in list(self._open.values()):
            self.quit(driver)
        self._reap(self.pids)

    def alive(self) -> list[int]:
        """Processes that we started and that still run."""
        return _alive(self.pids)

    @staticmethod
    def _reap(pids: dict[int, int]) -> None:
        lingering = _wait_gone(pids, QUIT_GRACE_S)
        for pid in lingering:
            logger.warning("killing lingering browser process %s", pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_gone(pids, 2.0)


@pytest.fixture
def chrome_profile() -> Iterator[Path]:
    """A fresh, private (0700) Chromium profile directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="wa-test-profile-"))
    path.chmod(0o700)
    yield path
    for attempt in range(5):  # Chromium may still be closing files in it
        shutil.rmtree(path, ignore_errors=attempt < 4)
        if not path.exists():
            break
        time.sleep(0.2)
    assert not path.exists(), f"profile {path} left behind"


@pytest.fixture
def make_driver(chrome_profile: Path) -> Iterator[ChromiumDrivers]:
    """`make_driver(profile_dir, user_agent=...)` starts Chromium; `make_driver.quit(driver)` ends one.

    Every driver is quit at teardown (before chrome_profile is removed) and every process it started
    must be gone by then.
    """
    drivers = ChromiumDrivers(chrome_profile)
    yield drivers
    drivers.quit_all()
    assert not drivers.alive(), f"browser processes left behind: {drivers.alive()}"


# ---------------------------------------------------------------------------------------------------------
# The session client (wa_client) in this process, on the simulator, with a private profile.
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def make_client(simulator: Simulator):
    """Build clients on the simulator with a private profile; at teardown nothing may be left."""
    made: list[tuple[WhatsAppClient, list]] = []
    root = tempfile.mkdtemp(prefix="wa-client-test-")
    profile_dir = os.path.join(root, "profile")

    def build(**overrides) -> WhatsAppClient:
        settings = Settings.from_mapping({"wa_url": simulator.url, "profile_dir": profile_dir,
                                          "qr_timeout_s": 120, "start_timeout_s": 30, **overrides})
        client = WhatsAppClient(settings)
        events: list = []
        client.subscribe(lambda name, payload: events.append((name, payload)))
        client.events = events
        made.append((client, events))
        return client

    yield build
    for client, _ in reversed(made):  # newest first: an older client's reset must not delete a live browser's profile
        client.force_reset()
    bugs = [client.counters["illegal_transitions"] for client, _ in made]
    try:
        assert not any(bugs), f"decide asked for transitions the state table forbids: {bugs}"
        wait_until(lambda: nothing_left(profile_dir), 10, what="no browser left behind")
        assert not os.path.exists(profile_dir), "force_reset left the profile directory"
    finally:
        shutil.rmtree(root, ignore_errors=True)
