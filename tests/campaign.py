"""Stop campaigns: `python app.py` against the simulator, reminders queued, the gateway stopped every way, restarted.

Four kinds of stop, mixed by a seeded generator: SIGTERM (systemd's stop), SIGKILL of the service alone (its
Chromium orphaned), SIGKILL of its whole process tree (systemd's cgroup kill, a power cut for the processes), and a
stop within the first second of a start. Every restart is unattended (WA_AUTOSTART=1, the saved login); one that
shows a QR or never connects "needed a hand" (the campaign then scans, as a person would, to go on). At the end
the simulator's own record (`GET /phone/messages`) is counted against what the gateway accepted.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.gateway import Gateway
from tests.helpers import wait_until
from wa_client.browser import procs

KINDS = ("sigterm", "kill_service", "kill_tree", "early")
PHONE = "+55 11 98888 0000"
ENV = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0", "WA_AUTOSTART": "1"}
CONNECT_S = 60.0
SETTLE_S = 120.0
FINAL = ("sent", "delivered", "read", "failed", "cancelled")


@dataclass
class Figures:
    """What a campaign counts (from the simulator's record, not the gateway's word)."""

    accepted: int = 0
    sent_once: int = 0
    sent_twice: int = 0
    lost: int = 0
    unconfirmed: int = 0
    unconfirmed_readable: int = 0  # unconfirmed although the chat could be read (must be 0)
    other_failed: int = 0
    stops: Counter = field(default_factory=Counter)
    needed_a_hand: int = 0
    sigterm_exits: list = field(default_factory=list)

    def line(self) -> str:
        """The figures in one printable block."""
        data = asdict(self)
        data["stops"] = dict(self.stops)
        return "stop campaign: " + ", ".join(f"{k}={v}" for k, v in data.items())


class Campaign:
    """One campaign: `run()` returns its Figures; every gateway it started is stopped at the end."""

    def __init__(self, simulator, profile_dir: Path, messages: int, stops: int, seed: int) -> None:
        self.sim, self.profile_dir = simulator, profile_dir
        self.rng = random.Random(seed)
        self.texts = [f"Lembrete {seed}-{i}: consulta amanhã às 9h" for i in range(messages)]
        plan = [KINDS[i % len(KINDS)] for i in range(stops)]  # every kind, as evenly as the count allows
        self.rng.shuffle(plan)
        self.plan = plan
        self.figures = Figures()
        self.gateways: list[Gateway] = []
        self.ids: dict[str, str] = {}  # message id -> text

    # -- the gateway's life ---------------------------------------------------------------------
    def start(self) -> Gateway:
        gateway = Gateway.start(self.sim.url, name=f"campaign-{len(self.gateways)}", profile_dir=self.profile_dir,
                                **ENV)
        self.gateways.append(gateway)
        return gateway

    def connect(self, gateway: Gateway, first: bool = False) -> None:
        """Connected by the saved login alone; else a hand is counted and the phone scans."""
        if first:
            gateway.post("/start-session")
        try:
            gateway.wait_status(lambda s: s["state"] in ("connected", "qr"), timeout=CONNECT_S)
        except AssertionError:
            pass
        state = gateway.status()["state"]
        if state == "connected":
            return
        if not first:
            self.figures.needed_a_hand += 1
        if state != "qr":
            gateway.post("/start-session")
            gateway.wait_status("qr", timeout=CONNECT_S)
        gateway.phone_scans(self.sim)
        gateway.wait_status("connected", timeout=CONNECT_S)

    def stop(self, gateway: Gateway, kind: str, counted: bool = True) -> None:
        """Stop it the named way (`counted`: one of the campaign's planned stops)."""
        gateway.note_processes()
        if counted:
            self.figures.stops[kind] += 1
        if kind == "sigterm":
            gateway.proc.send_signal(signal.SIGTERM)
            try:
                self.figures.sigterm_exits.append(gateway.proc.wait(20))
            except subprocess.TimeoutExpired:
                self.figures.sigterm_exits.append(None)
                gateway.proc.kill()
        elif kind == "kill_tree":
            procs.signal_pids({gateway.proc.pid} | procs.descendants(gateway.proc.pid), signal.SIGKILL)
        else:  # kill_service, and an early stop (a hard one: the harder case)
            gateway.proc.kill()
        gateway.proc.wait(20)

    # -- the campaign -----------------------------------------------------------------------------
    def queue(self, gateway: Gateway, count: int) -> None:
        for text in self.texts[len(self.ids):len(self.ids) + count]:
            answer = gateway.post("/messages", json={"phone": PHONE, "text": text})
            assert answer.status_code == 202, answer.text
            self.ids[answer.json()["id"]] = text
            self.figures.accepted += 1

    def run(self) -> Figures:
        """Link once, then for each planned stop: queue, wait a little, stop, restart; then count."""
        try:
            gateway = self.start()
            self.connect(gateway, first=True)
            time.sleep(8.0)  # past the window in which a hard stop loses a fresh login (docs/operations.md, measured)
            per_stop = -(-len(self.texts) // max(1, len(self.plan)))
            for kind in self.plan:
                self.queue(gateway, per_stop)
                self._wait_a_little()
                if kind == "early":  # the gateway goes down hard, and its next start is stopped in its first second
                    self.stop(gateway, "kill_service", counted=False)
                    gateway = self.start()
                    gateway.post("/start-session")  # (what WA_AUTOSTART does too: the browser is starting)
                    time.sleep(self.rng.uniform(0.1, 0.9))
                self.stop(gateway, kind)
                gateway = self.start()
                self.connect(gateway)
            self.queue(gateway, len(self.texts))  # whatever is left
            wait_until(lambda: self._all_final(gateway), SETTLE_S, interval=0.5,
                       what=f"every message to be settled\n{gateway.log_tail()}")
            self.count(gateway)
            gateway.stop(check=False)
            return self.figures
        finally:
            for started in self.gateways:
                started.stop(check=False)

    def _wait_a_little(self) -> None:
        """Half the time until a random moment; half the time until WhatsApp's server has one more message
        (the gateway may not have heard its tick yet: the hardest moment to stop)."""
        if self.rng.random() < 0.5:
            time.sleep(self.rng.uniform(0.2, 3.0))
            return
        before = len(self.sim.sent_messages())
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline and len(self.sim.sent_messages()) == before:
            time.sleep(0.02)

    def _outgoing(self, gateway: Gateway) -> list[dict]:
        return gateway.get("/messages", params={"direction": "out", "limit": 500}).json()["messages"]

    def _all_final(self, gateway: Gateway) -> bool:
        if gateway.status()["state"] != "connected":
            return False
        out = self._outgoing(gateway)
        return len(out) == len(self.ids) and all(m["status"] in FINAL for m in out)

    def count(self, gateway: Gateway) -> None:
        copies = Counter(m["text"] for m in self.sim.sent_messages())
        for message in self._outgoing(gateway):
            n = copies[self.ids[message["id"]]]
            if message["status"] == "failed" and message["reason"] == "unconfirmed":
                self.figures.unconfirmed += 1
                self.figures.unconfirmed_readable += 1 if "could not be read" not in (message["error"] or "") else 0
            elif message["status"] == "failed":
                self.figures.other_failed += 1
            if n == 1:
                self.figures.sent_once += 1
            elif n > 1:
                self.figures.sent_twice += 1
            elif message["status"] != "failed":
                self.figures.lost += 1  # the gateway says it went out; WhatsApp has no copy
