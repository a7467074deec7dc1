"""`make demo`: the gateway plus the bundled WhatsApp Web simulator, offline, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
GATEWAY_STOP_S = 25.0  # the gateway quits its browser first
SIMULATOR_STOP_S = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """--port, --sim-port, --host, --fast, --profile-dir."""
    parser = argparse.ArgumentParser(prog="scripts/demo.py", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="where both listen (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3001, help="the gateway's port (default: 3001)")
    parser.add_argument("--sim-port", type=int, default=3002, help="the simulator's port (default: 3002)")
    parser.add_argument("--fast", action="store_true", help="fast simulator timings (QR codes rotate in seconds)")
    parser.add_argument("--profile-dir", default=str(REPO_ROOT / "data" / "demo-profile"),
                        help="the demo's Chromium profile (default: data/demo-profile, apart from the real one)")
    return parser.parse_args(argv)


def wait_ready(url: str, proc: subprocess.Popen, what: str) -> None:
    """Poll `url` until it answers 200; exit with a message if `proc` dies or the deadline passes."""
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the {what} exited with code {proc.returncode} (is the port free?)")
        try:
            if session.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: the {what} did not answer at {url} within {START_TIMEOUT_S:.0f} s")


def stop(proc: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in our process group (Ctrl-C reaches it too), sharing our terminal."""
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, then the gateway pointed at it; stop both cleanly on Ctrl-C/SIGTERM."""
    args = parse_args(argv)
    sim_url = f"http://{args.host}:{args.sim_port}/"
    gateway_url = f"http://{args.host}:{args.port}/"
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    simulator = gateway = None
    try:
        sim_cmd = [sys.executable, "-m", "tests.fake_whatsapp", "--host", args.host, "--port", str(args.sim_port)]
        simulator = start(sim_cmd + (["--fast"] if args.fast else []), env)
        wait_ready(sim_url + "phone/state", simulator, "simulator")
        gateway_env = dict(env, WA_URL=sim_url, HOST=args.host, PORT=str(args.port), WA_PROFILE_DIR=args.profile_dir)
        gateway = start([sys.executable, "app.py"], gateway_env)
        wait_ready(gateway_url + "healthz", gateway, "gateway")
        print(f"\n  Gateway page (the front desk):  {gateway_url}\n"
              f"  Simulated phone (scan, log out): {sim_url}phone\n"
              f"  Simulated WhatsApp Web:          {sim_url}\n\n"
              "  Click Generate QR on the gateway page, then Scan on the phone page. Ctrl-C stops both.\n",
              flush=True)
        while not stopping.wait(0.5):
            if gateway.poll() is not None or simulator.poll() is not None:
                print("demo: a process exited by itself; stopping the other", file=sys.stderr)
                return 1
        return 0
    finally:
        stop(gateway, GATEWAY_STOP_S)
        stop(simulator, SIMULATOR_STOP_S)
        print("demo: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
