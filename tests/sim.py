"""Run the WhatsApp Web simulator as a subprocess and drive its phone API (tests, benchmark, demo)."""
from __future__ import annotations

import atexit
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.helpers import wait_until

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BANNER = "fake WhatsApp Web on "


def _cli_flags(knobs: dict[str, Any]) -> list[str]:
    """{"startup_s": 0.3, "never_show_qr": True, "screen": "offline"}
    -> ["--startup-s", "0.3", "--never-show-qr", "true", "--screen", "offline"] (every knob of SimConfig)."""
    flags: list[str] = []
    for name, value in knobs.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list | tuple):
            value = ",".join(value)
        elif value is None:
            value = "none"
        flags += [flag, ("true" if value else "false") if isinstance(value, bool) else str(value)]
    return flags


class Simulator:
    """A running simulator: its URL, its process, and the phone's API."""

    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc = proc
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False  # never send localhost through a proxy from the environment

    @classmethod
    def start(cls, *, fast: bool = False, host: str = "127.0.0.1", timeout: float = 20.0,
              **knobs: Any) -> Simulator:
        """Start `python -m tests.fake_whatsapp` on a free port; raise if it does not say where in time.

        `knobs` are SimConfig's (e.g. dom_drift=True, loading_theme="classic", screen="offline").
        """
        cmd = [sys.executable, "-m", "tests.fake_whatsapp", "--host", host, "--port", "0"]
        cmd += (["--fast"] if fast else []) + _cli_flags(knobs)
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc, lines), daemon=True, name="simulator-stdout").start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if not line or not line.startswith(BANNER):
            _stop_process(proc)
            raise RuntimeError(f"the simulator did not start within {timeout}s (said {line!r}, "
                               f"exit code {proc.poll()}): {' '.join(cmd)}")
        sim = cls(proc, line[len(BANNER):].strip())
        atexit.register(sim.stop)  # even when the caller forgets, or pytest is interrupted
        logger.info("simulator up at %s (pid %s)", sim.url, proc.pid)
        return sim

    def stop(self) -> None:
        """Terminate the simulator (then kill it if it lingers); idempotent."""
        self.http.close()
        _stop_process(self.proc)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- the phone API ----

    def _post(self, path: str, body: dict | None = None) -> requests.Response:
        return self.http.post(self.url + path, json=body or {}, timeout=10)

    def configure(self, **knobs: Any) -> dict:
        """Change knobs at run time; the whole config (raises on a 400)."""
        response = self._post("phone/config", knobs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget devices, pages and events; restore the knobs the simulator started with."""
        self._post("phone/reset").raise_for_status()

    def state(self) -> dict:
        """GET /phone/state."""
        response = self.http.get(self.url + "phone/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def live_payloads(self) -> list[str]:
        """The QR payloads on a screen right now and not expired."""
        return [ref["payload"] for ref in self.state()["live_refs"]]

    def scan(self, payload: str) -> requests.Response:
        """The phone scans `payload` (200 linked, 409 not live, 400 malformed)."""
        return self._post("phone/scan", {"payload": payload})

    def logout(self) -> requests.Response:
        """Log out every linked device from the phone (409 when none)."""
        return self._post("phone/logout")

    def conflict(self, variant: str | None = None) -> requests.Response:
        """WhatsApp opened elsewhere (409 when no page is logged in); `variant` "computer" (dialog with
        "Use here" / "Log out") or "window" ("Use here" / "Close"); default: the conflict_variant knob."""
        return self._post("phone/conflict", {"variant": variant} if variant else None)

    def traps(self) -> list[dict]:
        """The traps clicked since the last reset: [{"trap": NAME, "t": ..., "connection": ...}]."""
        return self.state()["traps"]

    def confirm_pairing_code(self, code: str) -> requests.Response:
        """Type a pairing code on the phone (200 linked, 409 not live)."""
        return self._post("phone/pairing-code", {"code": code})

    # ---- messaging: what the account really sent, and patients who write ----

    def messages(self) -> dict:
        """GET /phone/messages: {"sent": [{"id", "to", "text", "ack", "time", "via"}...], "received": [...]}."""
        response = self.http.get(self.url + "phone/messages", timeout=10)
        response.raise_for_status()
        return response.json()

    def sent_messages(self) -> list[dict]:
        """What the account really sent, oldest first (the exactly-once proof)."""
        return self.messages()["sent"]

    def sent_once_there_are(self, count: int, timeout: float = 10.0) -> list[dict]:
        """sent_messages() once it holds `count` messages: WhatsApp resolves "added" before its server has the
        message, as the real one does, so a test waits for the server's record instead of reading it at once."""
        def enough() -> list[dict] | None:
            sent = self.sent_messages()
            return sent if len(sent) >= count else None

        return wait_until(enough, timeout, what=f"the phone to have {count} sent message(s)")

    def received_messages(self) -> list[dict]:
        """What patients sent to the account, oldest first."""
        return self.messages()["received"]

    def send_from_patient(self, phone: str, text: str, quoted: str | None = None) -> requests.Response:
        """A patient at `phone` ("+55 11 98888 0000") writes `text` to the account (409 when no page is logged in);
        `quoted`: the id of the message the reply quotes."""
        body = {"from": phone, "text": text} | ({"quoted": quoted} if quoted else {})
        return self._post("phone/messages", body)

    def read_messages(self) -> requests.Response:
        """The patients open their chats now: every delivered message becomes read (ack 3)."""
        return self._post("phone/messages/read")

    def wait_for(self, predicate: Callable[[dict], object], timeout: float, interval: float = 0.05) -> dict:
        """Poll state() until predicate(state) is true; the state, or AssertionError with the last one."""
        last: dict = {}

        def matching_state() -> dict | None:
            nonlocal last
            last = self.state()
            return last if predicate(last) else None

        try:
            return wait_until(matching_state, timeout, interval=interval, what="the simulator state")
        except AssertionError:
            raise AssertionError(f"simulator state did not match within {timeout}s; last state: {last}") from None


def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
    """Hand stdout lines to `lines` (the first one is the banner); keep draining so the pipe never fills."""
    assert proc.stdout is not None
    with proc.stdout:
        for line in proc.stdout:
            lines.put(line)
    lines.put(None)


def _stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """terminate, wait `grace` seconds, then kill."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            logger.warning("simulator pid %s ignored SIGTERM; killing it", proc.pid)
            proc.kill()
            proc.wait(grace)
