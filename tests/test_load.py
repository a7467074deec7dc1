"""Load and concurrency (many threads on the client, many HTTP and Socket.IO clients on the real service):
never two browsers, always answering."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
import requests
import socketio

from tests.gateway import SocketEvents
from tests.helpers import (
    TOKEN,
    decode_qr,
    nothing_left,
    wait_state,
    wait_until,
)
from tests.processes import BrowserSampler, Latencies, browser_tree
from wa_client.browser import procs

LOAD_SECONDS = 14.0
HTTP_CLIENTS = 16
SOCKET_CLIENTS = 4
ANSWER_TIMEOUT_S = 5.0  # status, qr.png, start-session: "keeps answering" means within this, every time
RESET_TIMEOUT_S = 30.0  # a reset really tears a browser down; it must still answer within this
STORM_S, CALM_S = 2.0, 5.0


def _reset_storm(deadline: float) -> bool:
    """Resets come in storms (2 s of every 7 s), so that between storms a QR comes up and is served."""
    elapsed = LOAD_SECONDS - (deadline - time.monotonic())
    return elapsed % (STORM_S + CALM_S) < STORM_S


def _http_worker(gateway, deadline: float, seed: int, results: list, latencies: Latencies) -> None:
    """One CRM hammering the API at random until `deadline`."""
    rng = random.Random(seed)
    http = requests.Session()
    http.trust_env = False
    headers = {"Authorization": f"Bearer {TOKEN}"}
    calls = [("GET", "/status", ANSWER_TIMEOUT_S)] * 3 + [("GET", "/qr.png", ANSWER_TIMEOUT_S)] * 3 + \
            [("POST", "/start-session", ANSWER_TIMEOUT_S)] * 2
    while time.monotonic() < deadline:
        storm = _reset_storm(deadline)
        method, path, timeout = ("POST", "/force-reset", RESET_TIMEOUT_S) if storm and rng.random() < 0.2 \
            else rng.choice(calls)
        try:
            response = latencies.timed(path, http.request, method, gateway.url + path, headers=headers,
                                       timeout=timeout)
            body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None
            results.append((path, response.status_code, body))
        except requests.RequestException as exc:
            results.append((path, "no answer", repr(exc)))
    http.close()


def _socket_worker(events: SocketEvents, deadline: float, seed: int, results: list, latencies: Latencies) -> None:
    """One front-desk page clicking at random over Socket.IO until `deadline`; every call waits for its ack."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        storm = _reset_storm(deadline)
        event = rng.choice(["start-session", "generate-qr", "get-status"] + ["force-reset"] * storm)
        try:
            answer = latencies.timed(f"sio:{event}", events.sio.call, event, timeout=RESET_TIMEOUT_S)
            results.append((f"sio:{event}", "ack", answer))
        except socketio.exceptions.SocketIOError as exc:
            results.append((f"sio:{event}", "no answer", repr(exc)))


def _acceptable(path: str, code, body) -> bool:
    """The contract's answers; a force-reset may fail (500 with ok=false and an error), nothing else may."""
    if path == "/status":
        return code == 200
    if path == "/qr.png":
        return code in (200, 304, 404)
    if path == "/start-session":
        return code in (200, 202)
    if path == "/force-reset" and isinstance(body, dict):
        return (code == 200 and body.get("ok") is True) or (code == 500 and body.get("ok") is False and body["error"])
    if path.startswith("sio:"):
        return code == "ack" and isinstance(body, dict)
    return False


@pytest.mark.browser
def test_sixteen_http_and_four_socket_clients_never_make_two_browsers(gateway_factory, simulator, private_tmp):
    gateway = gateway_factory(token=TOKEN, TMPDIR=str(private_tmp))
    sockets = [SocketEvents(gateway.url, TOKEN) for _ in range(SOCKET_CLIENTS)]
    results: list = []
    latencies = Latencies()
    deadline = time.monotonic() + LOAD_SECONDS
    workers = [threading.Thread(target=_http_worker, args=(gateway, deadline, i, results, latencies))
               for i in range(HTTP_CLIENTS)]
    workers += [threading.Thread(target=_socket_worker, args=(s, deadline, 100 + i, results, latencies))
                for i, s in enumerate(sockets)]
    with BrowserSampler(gateway) as sampler:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(LOAD_SECONDS + 2 * RESET_TIMEOUT_S)
        assert not any(worker.is_alive() for worker in workers), "a client never got its answer"
        # the last reset may still be tearing down: let it finish, sampling meanwhile
        wait_until(lambda: gateway.status()["state"] in ("idle", "qr", "failed"), 60, what="the load to settle")
    outcome = Counter((path, code) for path, code, _ in results)
    print(f"\nload: {len(results)} calls in {LOAD_SECONDS:.0f} s; {sampler.line()}\n{sorted(outcome.items())}\n"
          f"{latencies.report()}")

    assert sampler.samples > 20, "the sampler hardly ran; the 'one browser' check proves little"
    assert sampler.max_browsers <= 1, f"two Chromium on one profile at once: {sampler.worst}"
    assert sampler.max_drivers <= 1
    unanswered = [r for r in results if r[1] == "no answer"]
    assert not unanswered, unanswered[:5]
    wrong = [r for r in results if not _acceptable(*r)]
    assert not wrong, wrong[:5]
    assert all(s.sio.connected for s in sockets), "a Socket.IO client was dropped under load"
    assert {"/status", "/qr.png", "/start-session", "/force-reset"} <= {path for path, _, _ in results}

    # Not wedged: Generate QR still brings a code that a phone can read, and a reset leaves nothing.
    assert gateway.post("/force-reset", timeout=RESET_TIMEOUT_S).json()["state"] == "idle"
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    wait_until(lambda: decode_qr(gateway.get("/qr.png").content), 15, what="a readable QR after the load")
    assert len(gateway.browser_pids()) == 1
    assert gateway.post("/force-reset", timeout=RESET_TIMEOUT_S).json()["state"] == "idle"
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser after the last reset")
    for events in sockets:
        events.close()


def _poll(gateway, stop: threading.Event, answers: list, latencies: Latencies) -> None:
    """Ask /status and /qr.png back to back until `stop`: (finished at, path, code, state)."""
    http = requests.Session()
    http.trust_env = False
    while not stop.is_set():
        for path in ("/status", "/qr.png"):
            try:
                response = latencies.timed(path, http.get, gateway.url + path, timeout=ANSWER_TIMEOUT_S)
                state = response.json()["state"] if path == "/status" else None
                answers.append((time.monotonic(), path, response.status_code, state))
            except requests.RequestException as exc:
                answers.append((time.monotonic(), path, "no answer", repr(exc)))
    http.close()


@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_status_and_qr_png_answer_while_a_start_or_a_reset_runs(gateway_factory, simulator, async_mode):
    gateway = gateway_factory(WA_ASYNC_MODE=async_mode)
    answers: list = []
    latencies = Latencies()
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(gateway, stop, answers, latencies), daemon=True)
    poller.start()
    try:
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        during_start = [a for a in answers if a[3] == "starting"]

        reset_began = time.monotonic()
        reset = gateway.post("/force-reset", timeout=RESET_TIMEOUT_S)
        reset_ended = time.monotonic()
        assert reset.status_code == 200
        during_reset = [a for a in answers if reset_began < a[0] < reset_ended]
    finally:
        stop.set()
        poller.join(2 * ANSWER_TIMEOUT_S)
    print(f"\n{async_mode}: {len(during_start)} /status answers said 'starting'; {len(during_reset)} answers "
          f"during a {reset_ended - reset_began:.2f} s reset; {latencies.report()}")

    assert not [a for a in answers if a[2] == "no answer"], "a status or QR request got no answer within 5 s"
    assert all(code in (200, 404) for _, path, code, _ in answers if path == "/qr.png")
    assert all(code == 200 for _, path, code, _ in answers if path == "/status")
    assert len(during_start) >= 2, "/status did not answer while Chromium was starting"
    # a reset of a QR page is quick; when it lasts long enough for several polls, some must land inside it
    assert during_reset or reset_ended - reset_began < 1.0, "nothing answered while the reset ran"


def test_many_threads_never_make_two_browsers(make_client):
    client = make_client()
    profile_dir = client.settings.profile_dir
    stop = threading.Event()
    most = [0]
    errors: list[BaseException] = []

    def sample() -> None:
        while not stop.is_set():
            most[0] = max(most[0], len(procs.browsers_using(profile_dir)))
            time.sleep(0.02)

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                client.start_session() if rng.random() < 0.6 else client.force_reset()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            time.sleep(rng.uniform(0, 0.3))

    threads = [threading.Thread(target=sample)] + [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(8)  # the duration of the storm, not a wait for a condition
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert most[0] <= 1
    client.force_reset()
    assert nothing_left(profile_dir)
    client.start_session()
    wait_state(client, "qr")
