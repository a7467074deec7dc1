"""Probes of a running gateway through /proc: its resources, its browser processes, a browser sampler."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.gateway import Gateway
from tests.helpers import decode_qr, wait_until
from wa_client.browser import procs


def assert_no_temp_leftovers(tmp: Path) -> None:
    """Nothing that the gateway's browsers put in its TMPDIR outlives them."""
    left = sorted(os.listdir(tmp))
    assert not left, f"the browser left temp entries behind: {left}"


@dataclass
class Resources:
    """What the service process holds at one moment."""

    fds: int
    rss_kb: int
    threads: int
    children: set[int]
    tmp_entries: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The figures, for messages and -s output."""
        return (f"fds={self.fds} rss={self.rss_kb / 1024:.1f} MB threads={self.threads} "
                f"children={len(self.children)} tmp={len(self.tmp_entries)}")


def resources(gateway: Gateway, tmp: Path | None = None) -> Resources:
    """Open file descriptors, resident memory, threads and live descendants of the service; TMPDIR entries."""
    pid = gateway.proc.pid
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    children = {p for p in procs.descendants(pid) if procs.alive(p)}
    return Resources(fds=len(os.listdir(f"/proc/{pid}/fd")), rss_kb=int(status["VmRSS"].split()[0]),
                     threads=int(status["Threads"]), children=children,
                     tmp_entries=sorted(os.listdir(tmp)) if tmp else [])


def chromedriver_pids(gateway: Gateway) -> set[int]:
    """chromedriver processes below the service (its own children)."""
    return {pid for pid in procs.descendants(gateway.proc.pid)
            if (info := procs.info(pid)) and info.name == "chromedriver" and info.state not in ("Z", "X")}


def browser_tree(gateway: Gateway) -> dict[int, int]:
    """Every chromedriver/Chromium process of the service now, with its start time: {pid: start}."""
    roots = chromedriver_pids(gateway) | gateway.browser_pids()
    pids = set(roots)
    for root in roots:
        pids |= procs.descendants(root)
    return {pid: info.started for pid in pids if (info := procs.info(pid)) and info.state not in ("Z", "X")}


def still_alive(tree: dict[int, int]) -> list[int]:
    """The processes of `tree` that still run (same pid and start time, not a zombie)."""
    return sorted(pid for pid, started in tree.items()
                  if (info := procs.info(pid)) and info.started == started and info.state not in ("Z", "X"))


class BrowserSampler:
    """Counts Chromium main processes on a profile (and chromedrivers below the service) every 50 ms."""

    def __init__(self, gateway: Gateway, interval: float = 0.05) -> None:
        self.gateway = gateway
        self.interval = interval
        self.samples = 0
        self.max_browsers = 0
        self.max_drivers = 0
        self.worst: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="browser-sampler")

    def __enter__(self) -> BrowserSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            browsers = procs.browsers_using(str(self.gateway.profile_dir))
            drivers = chromedriver_pids(self.gateway)
            self.samples += 1
            if len(browsers) > self.max_browsers:
                self.max_browsers, self.worst = len(browsers), browsers
            self.max_drivers = max(self.max_drivers, len(drivers))
            self._stop.wait(self.interval)

    def line(self) -> str:
        """The figures, for messages and -s output."""
        return f"{self.samples} samples, max {self.max_browsers} Chromium, max {self.max_drivers} chromedriver"


class Latencies:
    """Answer times per operation, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_name: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        """Record one answer time."""
        with self._lock:
            self.by_name.setdefault(name, []).append(seconds)

    def timed(self, name: str, call, *args, **kwargs):
        """Run `call`, record how long it took under `name`, return its result."""
        started = time.monotonic()
        try:
            return call(*args, **kwargs)
        finally:
            self.add(name, time.monotonic() - started)

    def report(self) -> str:
        """count, median and max per operation."""
        with self._lock:
            return "; ".join(f"{name}: n={len(values)} median={statistics.median(values) * 1000:.0f} ms "
                             f"max={max(values) * 1000:.0f} ms" for name, values in sorted(self.by_name.items()))

    def max(self) -> float:
        """The slowest answer of all."""
        with self._lock:
            return max((max(v) for v in self.by_name.values()), default=0.0)


def generate_qr_works(gateway: Gateway) -> None:
    """Generate QR brings a readable code; Force Reset then leaves no browser."""
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    wait_until(lambda: decode_qr(gateway.get("/qr.png").content), 15, what="a readable QR")
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser after the reset")
