"""Shared fixtures. Each group below belongs to one part of the suite; add new groups, keep them apart."""
from __future__ import annotations

import logging
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

from tests.browsers import QUIT_GRACE_S, ChromiumDrivers, browser_processes, reap
from tests.gateway import Gateway, SocketEvents
from tests.helpers import wait_until
from tests.sim import Simulator
from wa_client import Settings, WhatsAppClient
from wa_client.browser import profile

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


# Markers from the fixtures a test uses (directly or through other fixtures), so that a new test cannot
# forget them: `make test-fast` runs what is marked neither browser nor e2e.
BROWSER_FIXTURES = {"make_driver", "make_client", "grid"}  # real Chromium through Selenium
E2E_FIXTURES = {"gateway_factory"}  # the service started as users do (`python app.py`)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests `browser` and `e2e` from their fixtures."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & E2E_FIXTURES:
            item.add_marker(pytest.mark.e2e)


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
# No browser outlives a test: one check for every test, whatever started the browser.
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_browser_left_behind() -> Iterator[None]:
    """Snapshot this run's chromedriver/Chromium processes; fail the test if a new one survives it.

    Autouse fixtures are set up first, so this teardown runs after every other fixture's (drivers quit,
    gateways stopped, clients reset). What survives is killed, so that the next test starts clean.
    """
    before = browser_processes()
    yield
    new = {pid: start for pid, start in browser_processes().items() if before.get(pid) != start}
    if lingering := reap(new, grace=QUIT_GRACE_S):
        pytest.fail(f"browser processes outlived the test (killed now): {lingering}")


# ---------------------------------------------------------------------------------------------------------
# Headless Chromium through Selenium, for tests that look at a page themselves.
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def chrome_profile() -> Iterator[Path]:
    """A fresh, private (0700) Chromium profile directory made by browser.profile.ensure(), removed afterwards."""
    path = profile.ensure(Path(tempfile.mkdtemp(prefix="wa-test-profile-")))
    yield path

    def removed() -> bool:  # Chromium may still be closing files in it
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()

    wait_until(removed, 2.0, interval=0.2, what=f"profile {path} to be removed")


@pytest.fixture
def make_driver(chrome_profile: Path) -> Iterator[ChromiumDrivers]:
    """`make_driver(profile_dir, user_agent=...)` starts Chromium; `make_driver.quit(driver)` ends one.

    Every driver is quit at teardown (before chrome_profile is removed) and every process it started
    must be gone by then.
    """
    drivers = ChromiumDrivers(chrome_profile)
    yield drivers
    drivers.quit_all()


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
    try:  # that no browser is left is checked by no_browser_left_behind, for every test
        assert not any(bugs), f"decide asked for transitions the state table forbids: {bugs}"
        assert not os.path.exists(profile_dir), "force_reset left the profile directory"
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# The Flask app in this process (no browser), and the service started as users do (`python app.py`).
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def app_factory() -> Iterator[Callable[..., Flask]]:
    """`app_factory(**settings)`: the Flask app over a private profile directory, no browser started."""
    home = Path(tempfile.mkdtemp(prefix="wa-app-test-"))

    def build(**settings: Any) -> Flask:
        from app import create_app

        base = {"profile_dir": str(home / "profile"), "wa_url": "http://127.0.0.1:9/", "api_token": "",
                "async_mode": "threading", "cors_origins": ""}
        flask_app = create_app({**base, **settings})
        flask_app.config["TESTING"] = True
        return flask_app

    yield build
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    """The app without a token."""
    return app_factory()


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    """Flask's test client for `app`."""
    return app.test_client()


@pytest.fixture
def shared_home() -> Iterator[Path]:
    """A directory for what outlives one gateway (a saved profile a second gateway finds); removed after every
    gateway of the test has stopped (gateway_factory depends on it, so it is torn down first)."""
    path = Path(tempfile.mkdtemp(prefix="wa-shared-home-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def gateway_factory(simulator: Simulator, request: pytest.FixtureRequest,
                    shared_home: Path) -> Iterator[Callable[..., Gateway]]:
    """`gateway_factory(**env)`: `python app.py` against the simulator; stopped and checked at teardown, and
    every gateway's home removed then (also those a test kept with `stop(keep_home=True)`)."""
    started: list[Gateway] = []

    def start(**env: Any) -> Gateway:
        name = f"{request.node.name}-{len(started)}".replace("/", "_").replace("[", "-").replace("]", "")
        gateway = Gateway.start(simulator.url, name=name, **env)
        started.append(gateway)
        return gateway

    yield start
    failures = []
    for gateway in reversed(started):  # every gateway is stopped, even when an earlier check fails
        try:
            gateway.stop(check=True)
        except AssertionError as exc:
            failures.append(str(exc))
        finally:
            shutil.rmtree(gateway.home, ignore_errors=True)
    assert not failures, failures


@pytest.fixture
def gateway(gateway_factory: Callable[..., Gateway]) -> Gateway:
    """One gateway with the default settings."""
    return gateway_factory()


@pytest.fixture
def socket_events(gateway: Gateway) -> Iterator[SocketEvents]:
    """A Socket.IO client of `gateway` that records every event."""
    events = SocketEvents(gateway.url, gateway.token)
    yield events
    events.close()


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A TMPDIR for one gateway and every Chromium/chromedriver it starts: what they leave there is theirs."""
    path = Path(tempfile.mkdtemp(prefix="wa-test-tmp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# Reminders' unit tests (schedule, opt-outs, replies, the reach-out lock): a steered clock and a fake session.
# Files with a fake of their own (test_outbox, test_settle) define these names themselves.
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def clock():
    """The fake wall clock the outbox reads (tests.reminder_fakes.Clock)."""
    from tests.reminder_fakes import Clock
    return Clock()


@pytest.fixture
def session(clock):
    """The fake WhatsApp session the outbox sends through (tests.reminder_fakes.Session)."""
    from tests.reminder_fakes import Session
    return Session(clock)
