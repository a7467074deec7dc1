"""Measure the window after linking in which a hard stop still loses the login: `python -m tests.login_window`.

For each delay: a fresh profile, the phone scans, then `delay` seconds after /status says connected the whole
process tree of `python app.py` is SIGKILLed (or the service alone, `--kind service`); the gateway starts again
unattended (WA_AUTOSTART=1) and either comes back connected (the login survived) or shows a QR (lost).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import time
from pathlib import Path

from tests.gateway import Gateway
from tests.sim import Simulator
from wa_client.browser import procs

DELAYS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


def once(sim: Simulator, delay: float, kind: str) -> bool:
    """True when the login survived a hard stop `delay` s after connected."""
    home = Path(tempfile.mkdtemp(prefix="wa-login-window-"))
    started: list[Gateway] = []
    try:
        first = Gateway.start(sim.url, name="login-window", profile_dir=home / "profile", WA_AUTOSTART="1")
        started.append(first)
        first.post("/start-session")
        first.wait_status("qr", timeout=60)
        first.phone_scans(sim)
        first.wait_status("connected", timeout=60)
        time.sleep(delay)
        first.note_processes()
        victims = {first.proc.pid} | (procs.descendants(first.proc.pid) if kind == "tree" else set())
        procs.signal_pids(victims, signal.SIGKILL)
        first.proc.wait(10)
        second = Gateway.start(sim.url, name="login-window-again", profile_dir=home / "profile", WA_AUTOSTART="1")
        started.append(second)
        ended = second.wait_status(lambda s: s["state"] in ("connected", "qr", "failed")
                                   or s.get("reason") == "not_linked", timeout=90)  # not_linked: a QR is needed
        return ended["state"] == "connected"
    finally:
        for gateway in started:
            gateway.stop(check=False)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    """Print, for each delay, how many of the tries kept the login."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tries", type=int, default=2)
    parser.add_argument("--kind", choices=("tree", "service"), default="tree")
    parser.add_argument("--delays", default=",".join(map(str, DELAYS)))
    args = parser.parse_args()
    with Simulator.start(fast=True) as sim:
        for delay in (float(d) for d in args.delays.split(",")):
            kept = sum(once(sim, delay, args.kind) for _ in range(args.tries))
            print(f"SIGKILL ({args.kind}) {delay:>5.2f} s after connected: login kept {kept}/{args.tries}", flush=True)


if __name__ == "__main__":
    main()
