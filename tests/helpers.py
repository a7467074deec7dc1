"""Small helpers every kind of test uses: wait for a condition, read a QR as a phone does, drive a client.

Fixtures live in tests/conftest.py; the gateway process in tests/gateway.py; /proc probes in tests/processes.py.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable

import zxingcpp
from PIL import Image

from wa_client.browser import procs

TOKEN = "test-token-7d41c2e9"  # the API token of tests that need one and do not care which
PHONE = "+55 11 99999-0000"  # the clinic phone's number, as a receptionist types it
PAIRING_CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")  # as the page and the API show a pairing code
STATUS_KEYS = {"state", "reason", "error", "qr_version", "since", "pairing_code"}  # the contract's /status


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05, what: str = "") -> object:
    """Poll `predicate` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def holds_for(predicate: Callable[[], object], seconds: float, interval: float = 0.05) -> bool:
    """True when `predicate` stays truthy for the whole window (checked every `interval`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(interval)
    return bool(predicate())


def wait_state(client, state: str, timeout: float = 60) -> dict:
    """Wait until the client's status says `state`; return that status."""
    return wait_until(lambda: (s := client.status())["state"] == state and s, timeout,
                      what=f"state {state!r} (last: {client.status()})")


def decode_qr(png: bytes) -> str | None:
    """What a phone camera reads from a picture of a QR code (None when it finds none)."""
    # a phone camera looks for QR codes only: a stray 1-D "barcode" read off the pattern is not one
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


def decode_png(png: bytes) -> str:
    """What a phone's camera reads from a QR image; fails when there is no code in it."""
    text = decode_qr(png)
    assert text is not None, "no QR code found in the image"
    return text


def phone_scans(client, simulator) -> str:
    """Decode the client's current QR PNG and hand the payload to the simulator, as a phone does."""
    current = wait_until(client.qr_png, 60, what="a QR image")
    payload = decode_png(current[1])
    response = simulator.scan(payload)
    assert response.status_code == 200, response.text
    return payload


def connected_client(make_client, simulator, **overrides):
    """A client (from the make_client fixture) that the phone has linked: Generate QR, scan, connected."""
    client = make_client(**overrides)
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")
    return client


def browser_processes_of_this_test() -> set[int]:
    """Chromium and chromedriver processes that descend from this test process."""
    names = procs.BROWSER_NAMES + procs.DRIVER_NAMES
    mine = procs.descendants(os.getpid())
    return {p for p in mine if (info := procs.info(p)) and info.state not in ("Z", "X")
            and any(info.name.startswith(n) for n in names)}


def nothing_left(profile_dir: str) -> bool:
    """True when no browser uses the profile and no browser process descends from this test."""
    return not procs.browsers_using(profile_dir) and not browser_processes_of_this_test()


def is_json_error(response) -> bool:
    """The contract's error shape: JSON with a non-empty "error" string, no HTML (a Flask or a requests answer)."""
    if hasattr(response, "get_json"):
        body, mimetype = response.get_json(silent=True), response.mimetype
    else:
        try:
            body = response.json()
        except ValueError:
            body = None
        mimetype = response.headers.get("Content-Type", "").split(";")[0].strip()
    return (mimetype == "application/json" and isinstance(body, dict)
            and isinstance(body.get("error"), str) and body["error"] != "")


def received(sio_client) -> dict[str, list]:
    """The events a Flask-SocketIO test client received so far: {name: [first argument, ...]}."""
    out: dict[str, list] = {}
    for message in sio_client.get_received():
        out.setdefault(message["name"], []).append(message["args"][0] if message["args"] else None)
    return out


def sim_events(simulator, name: str) -> list[dict]:
    """The simulator's recorded events called `name` (scans, links, logouts...)."""
    return [e for e in simulator.state()["events"] if e["event"] == name]
