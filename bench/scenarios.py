"""What the gateway does, timed from the simulator's own clock to what its HTTP API says."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.gateway import Gateway, SocketEvents
from tests.helpers import decode_qr, wait_until
from tests.sim import Simulator

POLL_S = 0.015  # how often the bench asks /status or /qr while it waits for a change
BENCH_PATIENT = "+55 11 99999 0000"


class BenchError(RuntimeError):
    """A step of the benchmark did not happen (the message says which, with the gateway's log)."""


def until(probe: Callable[[], Any], timeout: float, what: str, gateway: Gateway | None = None) -> tuple[float, Any]:
    """Call `probe` every POLL_S until it returns something truthy: (epoch when it did, the value)."""
    try:
        value = wait_until(probe, timeout, interval=POLL_S, what=what)
    except AssertionError as exc:
        tail = "\n" + gateway.log_tail() if gateway else ""
        raise BenchError(f"{exc}{tail}") from None
    return time.time(), value


def status(gateway: Gateway) -> dict:
    """GET /status (without the process bookkeeping of Gateway.status, to keep polls cheap)."""
    response = gateway.get("/status")
    response.raise_for_status()
    return response.json()


def wait_state(gateway: Gateway, state: str, timeout: float = 60.0) -> tuple[float, dict]:
    """Poll /status until it says `state` (with a QR version for 'qr'); fail early on 'failed'."""

    def probe() -> dict | None:
        current = status(gateway)
        if current["state"] == "failed" and state != "failed":
            raise BenchError(f"the gateway failed: {current}\n{gateway.log_tail()}")
        if current["state"] == state and (state != "qr" or current["qr_version"]):
            return current
        return None

    return until(probe, timeout, f"/status {state!r}", gateway)


def current_qr(gateway: Gateway) -> str | None:
    """The payload /qr serves now (None on 404)."""
    response = gateway.get("/qr")
    return response.json()["qr"] if response.status_code == 200 else None


def time_to_first_qr(gateway: Gateway) -> float:
    """POST /start-session -> /status says qr, in seconds."""
    started = time.time()
    response = gateway.post("/start-session")
    if response.status_code != 202:
        raise BenchError(f"/start-session answered {response.status_code}: {response.text}")
    seen, _ = wait_state(gateway, "qr")
    return seen - started


def first_qr_shown(gateway: Gateway, events: SocketEvents) -> float:
    """POST /start-session -> the `qr` event has come over Socket.IO and its PNG is in hand, in seconds: what
    the front desk's page waits for. (Polling /status every 15 ms instead costs the service enough CPU to slow
    Chromium's own launch on 2 cores: docs/benchmark.md.)"""
    after = len(events.names())
    started = time.time()
    response = gateway.post("/start-session")
    if response.status_code != 202:
        raise BenchError(f"/start-session answered {response.status_code}: {response.text}")
    try:
        shown = events.wait_for("qr", after=after, timeout=60.0)
    except AssertionError as exc:
        raise BenchError(f"{exc}; /status {status(gateway)}\n{gateway.log_tail()}") from None
    png = gateway.get(shown["png"])
    if png.status_code != 200 or png.headers.get("Content-Type") != "image/png":
        raise BenchError(f"the qr event's {shown['png']} answered {png.status_code}: {png.text[:200]}")
    return time.time() - started


def rotation_latencies(gateway: Gateway, sim: Simulator, count: int) -> list[float]:
    """For `count` rotations: the simulator issues a new ref -> /qr serves it, in seconds."""
    shown = current_qr(gateway)
    out = []
    for _ in range(count):
        seen, payload = until(lambda old=shown: (p := current_qr(gateway)) != old and p, 15, "a new QR on /qr",
                              gateway)
        issued = next((ref["issued_at"] for ref in reversed(sim.state()["recent_refs"])
                       if ref["payload"] == payload), None)
        if issued is None:
            raise BenchError("/qr serves a payload that the simulator never issued")
        out.append(seen - issued)
        shown = payload
    return out


def last_event(sim_state: dict, name: str, after: float = 0.0) -> dict | None:
    """The simulator's last event `name` at or after `after`."""
    return next((e for e in reversed(sim_state["events"]) if e["event"] == name and e["t"] >= after), None)


def scan_to_connected(gateway: Gateway, sim: Simulator) -> float:
    """The phone scans /qr.png (decoded as a camera would); the link -> /status says connected."""
    asked = time.time()
    gateway.phone_scans(sim)
    seen, _ = wait_state(gateway, "connected", 30)
    link = last_event(sim.state(), "link", after=asked - 1)
    if link is None:
        raise BenchError("the simulator recorded no link after the scan")
    return seen - link["t"]


def post_to_sent(gateway: Gateway, text: str) -> float:
    """POST /messages (connected, WA_SEND_GAP_S=0) -> GET /messages/{id} says sent, in seconds."""
    asked = time.time()
    response = gateway.post("/messages", json={"phone": BENCH_PATIENT, "text": text})
    if response.status_code != 202:
        raise BenchError(f"POST /messages answered {response.status_code}: {response.text}")
    message_id = response.json()["id"]

    def sent() -> dict | None:
        record = gateway.get(f"/messages/{message_id}").json()
        if record["status"] == "failed":
            raise BenchError(f"the message failed: {record['reason']}: {record['error']}\n{gateway.log_tail()}")
        return record if record["status"] in ("sent", "delivered", "read") else None

    seen, _ = until(sent, 30, "the message to be sent", gateway)
    return seen - asked


def logout_detection(gateway: Gateway, sim: Simulator) -> tuple[float, float | None]:
    """The phone logs out -> /status says disconnected; also logout -> the page leaves (its bye), or None."""
    response = sim.logout()
    if response.status_code != 200:
        raise BenchError(f"the simulator refused the logout: {response.status_code} {response.text}")
    seen, current = wait_state(gateway, "disconnected", 15)
    if current["reason"] != "logout":
        raise BenchError(f"disconnected for {current['reason']!r}, not 'logout'")
    events = sim.state()
    logout = last_event(events, "logout")
    assert logout is not None
    left = next((e for e in events["events"] if e["event"] == "connection_closed" and e["t"] >= logout["t"]), None)
    page_floor = left["t"] - logout["t"] if left and left["t"] <= seen else None
    return seen - logout["t"], page_floor


def force_reset(gateway: Gateway) -> float:
    """POST /force-reset -> its 200 answer with state idle, in seconds (checked on /status too)."""
    started = time.time()
    response = gateway.post("/force-reset", timeout=30)
    done = time.time()
    if response.status_code != 200 or response.json().get("state") != "idle":
        raise BenchError(f"/force-reset answered {response.status_code}: {response.text}")
    if status(gateway)["state"] != "idle":
        raise BenchError(f"after /force-reset, /status says {status(gateway)}")
    return done - started


def reset_then_new_qr(gateway: Gateway) -> tuple[float, float]:
    """From a running session: (reset -> idle, reset -> a new QR after an immediate /start-session)."""
    started = time.time()
    reset_s = force_reset(gateway)
    if gateway.post("/start-session").status_code != 202:
        raise BenchError("/start-session after the reset did not start a browser")
    seen, _ = wait_state(gateway, "qr")
    return reset_s, seen - started


def qr_png(gateway: Gateway) -> tuple[bytes, dict[str, str]]:
    """The PNG that /qr.png serves now and the headers that a floor must copy (checked: it decodes)."""
    response = gateway.get("/qr.png")
    if response.status_code != 200 or not decode_qr(response.content):
        raise BenchError(f"/qr.png answered {response.status_code} with no readable QR")
    skip = {"date", "content-length", "connection", "content-type", "server"}
    return response.content, {k: v for k, v in response.headers.items() if k.lower() not in skip}
