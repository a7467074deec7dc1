"""Every stop survived with no hand: `python app.py` stopped gently or hard, then started again on the same profile.

The simulator's record of what the account sent (`GET /phone/messages`) is the proof of exactly once.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter

import pytest

from tests.gateway import Gateway
from tests.helpers import wait_until
from wa_client.browser import procs

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PATIENT = "+55 11 99999 0000"
NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}
EXIT_WAIT_S = 20.0  # the gateway's own watchdog exits 1 at 15 s: an exit 0 before it is the promise


def link(gateway: Gateway, simulator) -> None:
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)


def sigterm(gateway: Gateway) -> int | None:
    """SIGTERM and wait for the exit; its code (None: still running after EXIT_WAIT_S)."""
    gateway.note_processes()
    gateway.proc.send_signal(signal.SIGTERM)
    try:
        return gateway.proc.wait(EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        return None


def texts_sent(simulator) -> Counter:
    return Counter(m["text"] for m in simulator.sent_messages())


def test_sigterm_mid_queue_exits_0_requeues_nothing_and_the_restart_sends_each_once(gateway_factory, simulator):
    first = gateway_factory(**NO_SAFEGUARDS)
    link(first, simulator)
    texts = [f"Lembrete {i}: consulta amanhã" for i in range(6)]
    for text in texts:
        assert first.post("/messages", json={"phone": PATIENT, "text": text}).status_code == 202
    wait_until(lambda: simulator.sent_messages(), 30, what="a first message to go out")
    assert sigterm(first) == 0, first.log_tail()
    log = first.log_text()
    assert log.count("not connected") < 5 and "took longer than" not in log
    assert first.stop(check=True, keep_home=True) == 0

    second = gateway_factory(profile_dir=first.profile_dir, **NO_SAFEGUARDS)
    assert second.post("/start-session").status_code == 202
    second.wait_status("connected", timeout=60)  # the saved login: no hand

    def all_settled() -> bool:
        out = second.get("/messages", params={"direction": "out"}).json()["messages"]
        return len(out) == len(texts) and all(m["status"] in ("sent", "delivered", "read") for m in out)

    wait_until(all_settled, 90, what=f"every message to be sent\n{second.log_tail()}")
    assert texts_sent(simulator) == Counter(texts)  # each exactly once
    out = second.get("/messages", params={"direction": "out"}).json()["messages"]
    assert not [m for m in out if m["reason"] == "unconfirmed"]


def test_a_chromium_orphaned_in_the_first_second_of_a_start_is_ended_before_the_next_start(gateway_factory,
                                                                                         simulator, shared_home):
    profile = shared_home / "profile"
    first = Gateway.start(simulator.url, name="orphaning-gateway", profile_dir=profile)  # it dies: not checked
    try:
        assert first.post("/start-session").status_code == 202
        wait_until(lambda: procs.browsers_using(str(profile)), 30, interval=0.02, what="the gateway's Chromium")
        first.note_processes()
        first.proc.kill()  # SIGKILL of the service alone: its Chromium lives on, holding the profile
        first.proc.wait(10)
        orphans = procs.browsers_using(str(profile))
        assert orphans, "the test needs an orphaned Chromium"

        second = gateway_factory(profile_dir=profile)
        assert not (orphans & procs.browsers_using(str(profile)))
        assert "left by an earlier gateway run" in second.log_text()
        assert second.post("/start-session").status_code == 202
        second.wait_status("qr", timeout=60)  # no "another Chromium is using the profile"
        assert second.stop(check=True) == 0
    finally:
        first.stop(check=False)  # the orphaned chromedriver, if any
