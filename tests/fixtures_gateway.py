"""Fixtures for the gateway's own tests: the Flask app in-process, and the service started as users do.

Test modules import them with `from tests.fixtures_gateway import *`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.gateway import Gateway, SocketEvents

__all__ = ["app_factory", "app", "http", "gateway_factory", "gateway", "socket_events"]


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
def gateway_factory(simulator: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Gateway]]:
    """`gateway_factory(**env)`: `python app.py` against the simulator; stopped and checked at teardown."""
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
