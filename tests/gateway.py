"""The gateway as users run it (`python app.py`), plus a phone that scans its QR and a Socket.IO listener."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import socketio
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import decode_qr, holds_for, wait_until  # noqa: F401 - re-exported for the tests
from wa_client.browser import procs

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO_ROOT / "test-output"
STOP_TIMEOUT_S = 25.0

StatusCheck = str | Callable[[dict], object]


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_time(pid: int) -> int | None:
    return info.started if (info := procs.info(pid)) else None


class Gateway:
    """A gateway process started with `python app.py`, its profile and its log."""

    def __init__(self, proc: subprocess.Popen, url: str, profile_dir: Path, home: Path, log_path: Path,
                 token: str | None) -> None:
        self.proc = proc
        self.url = url
        self.profile_dir = profile_dir
        self.home = home
        self.log_path = log_path
        self.token = token
        self.http = requests.Session()
        self.http.trust_env = False
        self.seen: dict[int, int] = {}  # every chromedriver/Chromium below the gateway: {pid: start time}
        self.exit_code: int | None = None

    @classmethod
    def start(cls, wa_url: str, *, name: str = "gateway", token: str | None = None, timeout: float = 30.0,
              profile_dir: Path | None = None, **env: str) -> Gateway:
        """Start `python app.py` on a free port with a fresh profile (or `profile_dir`); wait for /healthz."""
        home = Path(tempfile.mkdtemp(prefix="wa-gateway-test-"))
        profile_dir = profile_dir or home / "profile"
        port = free_port()
        OUTPUT_DIR.mkdir(exist_ok=True)
        log_path = OUTPUT_DIR / f"{name}.log"
        full_env = {k: v for k, v in os.environ.items() if k != "WA_API_TOKEN"}
        full_env.update({"WA_URL": wa_url, "HOST": "127.0.0.1", "PORT": str(port), "WA_PROFILE_DIR": str(profile_dir),
                         "WA_QR_TIMEOUT_S": "120", "WA_START_TIMEOUT_S": "30", "LOG_LEVEL": "INFO",
                         "PYTHONUNBUFFERED": "1"})
        if token:
            full_env["WA_API_TOKEN"] = token
        full_env.update(env)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=full_env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        gateway = cls(proc, f"http://127.0.0.1:{port}", profile_dir, home, log_path, token)
        try:
            wait_until(gateway._healthy, timeout, what=f"the gateway to answer /healthz\n{gateway.log_tail()}")
        except BaseException:
            gateway.stop(check=False)
            raise
        return gateway

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the gateway exited with {self.proc.returncode}:\n{self.log_tail()}")
        try:
            return self.http.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    # -- HTTP ---------------------------------------------------------------------------------
    def _headers(self, headers: dict | None) -> dict:
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **(headers or {})}

    def get(self, path: str, headers: dict | None = None, **kw: Any) -> requests.Response:
        """GET `path` with the token (when there is one)."""
        return self.http.get(self.url + path, headers=self._headers(headers), timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, headers: dict | None = None, **kw: Any) -> requests.Response:
        """POST `path` with the token (when there is one)."""
        return self.http.post(self.url + path, headers=self._headers(headers), timeout=kw.pop("timeout", 15), **kw)

    def status(self) -> dict:
        """GET /status (and note the browser processes that exist right now)."""
        self.note_processes()
        response = self.get("/status")
        response.raise_for_status()
        return response.json()

    def wait_status(self, check: StatusCheck, timeout: float = 30.0) -> dict:
        """Poll /status until `check` (a state name or a predicate on the status) holds; that status."""
        matches = (lambda s: s["state"] == check) if isinstance(check, str) else check
        last: dict = {}

        def probe() -> dict | None:
            nonlocal last
            last = self.status()
            return last if matches(last) else None

        try:
            return wait_until(probe, timeout, what=f"status {check!r}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last status {last}\n{self.log_tail()}") from None

    def stays(self, check: StatusCheck, seconds: float) -> bool:
        """True when the status keeps matching `check` for `seconds` (polled, no blind sleep)."""
        matches = (lambda s: s["state"] == check) if isinstance(check, str) else check
        return holds_for(lambda: matches(self.status()), seconds)

    # -- the phone ----------------------------------------------------------------------------
    def phone_scans(self, simulator: Any, timeout: float = 20.0) -> str:
        """Decode /qr.png as a phone camera does and scan it; retry when the code rotated meanwhile."""

        def attempt() -> str | None:
            response = self.get("/qr.png")
            if response.status_code != 200:
                return None
            payload = decode_qr(response.content)
            if payload and simulator.scan(payload).status_code == 200:
                return payload
            return None

        return wait_until(attempt, timeout, interval=0.2, what="a QR code that the phone can scan")

    # -- processes ----------------------------------------------------------------------------
    def browser_pids(self) -> set[int]:
        """Chromium main processes running on this gateway's profile."""
        return procs.browsers_using(str(self.profile_dir))

    def driver_pids(self) -> set[int]:
        """chromedriver and Chromium processes below the gateway process."""
        names = procs.BROWSER_NAMES + procs.DRIVER_NAMES
        return {pid for pid in procs.descendants(self.proc.pid)
                if (info := procs.info(pid)) and info.state not in ("Z", "X")
                and any(info.name.startswith(n) for n in names)}

    def note_processes(self) -> None:
        """Remember every browser process that exists now, to check at stop that none survives."""
        for pid in self.driver_pids() | self.browser_pids():
            if pid not in self.seen and (start := _start_time(pid)) is not None:
                self.seen[pid] = start

    def survivors(self) -> list[int]:
        """Browser processes seen during the run (or on the profile) that still live."""
        alive = [pid for pid, start in self.seen.items() if _start_time(pid) == start and procs.alive(pid)]
        return sorted(set(alive) | self.browser_pids())

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, check: bool = True, keep_home: bool = False) -> int | None:
        """SIGTERM, wait, kill; with `check`, fail when it did not exit 0 or left a browser behind."""
        if self.proc.poll() is None:
            self.note_processes()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.exit_code = self.proc.returncode
        self.http.close()
        try:
            wait_until(lambda: not self.survivors(), 5, interval=0.1, what="the browser to exit")
        except AssertionError:
            pass
        left = self.survivors()
        procs.signal_pids(left, signal.SIGKILL)
        if not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)
        if check:
            assert self.exit_code == 0, f"the gateway exited with {self.exit_code}\n{self.log_tail()}"
            assert not left, f"browser processes outlived the gateway: {left}\n{self.log_tail()}"
            bugs = [line for line in self.log_text().splitlines() if " bug: " in line]
            assert not bugs, f"the gateway logged bugs (e.g. an illegal transition): {bugs}"
        return self.exit_code

    def log_text(self) -> str:
        """Everything the gateway logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        """The end of the gateway's log, for failure messages."""
        return "--- gateway log (tail) ---\n" + "\n".join(self.log_text().splitlines()[-lines:])



def run_app(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python app.py ARGS` with a clean environment plus `env` (no browser), to its exit."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.run([sys.executable, "app.py", *args], cwd=REPO_ROOT, env=base, capture_output=True,
                          text=True, timeout=60)


def connected(gateway: Gateway, simulator: Any) -> dict:
    """Generate QR, the phone scans it, /status says connected: that status."""
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    gateway.phone_scans(simulator)
    return gateway.wait_status("connected")


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(gateway: Gateway, name: str, labels: tuple = ()) -> float:
    """One sample of the gateway's /metrics."""
    response = gateway.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)[(name, labels)]


def commands_recorded(gateway: Gateway) -> list[tuple[str, dict]]:
    """(command, who asked) of every command in /history, oldest first."""
    return [(e["command"], e["by"]) for e in gateway.get("/history").json()["commands"]]


class SocketEvents:
    """A python-socketio client connected to the gateway that records every event it receives."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()
        self._http = _plain_session()
        self.sio = socketio.Client(reconnection=False, http_session=self._http)
        self.sio.on("*", self._record)
        self.sio.connect(url, auth={"token": token} if token else None, wait_timeout=10)

    def _record(self, event: str, data: Any = None) -> None:
        with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def names(self) -> list[str]:
        """The names of the events received so far, in order."""
        with self._cond:
            return [name for name, _ in self.events]

    def wait_for(self, name: str, predicate: Callable[[Any], object] = lambda _: True, timeout: float = 20.0,
                 after: int = 0) -> Any:
        """The payload of the first event `name` (from index `after` on) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event, data in self.events[after:]:
                    if event == name and predicate(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name!r} event within {timeout} s; got {self.names()}")
                self._cond.wait(left)

    def emit(self, event: str, data: Any = None) -> None:
        """Send `event` to the gateway."""
        self.sio.emit(event, data)

    def close(self) -> None:
        """Disconnect, and close the HTTP connections it kept alive."""
        self.sio.disconnect()
        self._http.close()


def connect_socket(gateway, auth, **options) -> socketio.Client:
    """A raw python-socketio client with any `auth` and options (headers, transports); raises when refused."""
    client = socketio.Client(reconnection=False, http_session=_plain_session())
    client.connect(gateway.url, auth=auth, wait_timeout=10, **options)
    return client


def _plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session
