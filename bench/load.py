"""32 keep-alive pollers of one URL: wrk when installed, else a small thread-based generator."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

WRK_THREADS = 2
WRK_TIMEOUT_S = 10  # a request slower than wrk's default 2 s would drop out of its latency figures
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class LoadResult:
    """Throughput and tail latency of one load run."""

    requests_per_s: float
    p99_ms: float
    errors: int
    tool: str
    error_detail: str = ""


def wrk_path() -> str | None:
    """wrk on the PATH, or None."""
    return shutil.which("wrk")


def run_load(url: str, seconds: float, connections: int) -> LoadResult:
    """Poll `url` with `connections` keep-alive connections for `seconds`."""
    if wrk_path():
        return run_wrk(url, seconds, connections)
    return run_threads(url, seconds, connections)


def run_wrk(url: str, seconds: float, connections: int) -> LoadResult:
    """`wrk --latency`: its Requests/sec, its 99% line, and non-2xx plus socket errors."""
    cmd = [wrk_path() or "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds:g}s",
           f"--timeout={WRK_TIMEOUT_S}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> LoadResult:
    """Read wrk's report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    if not rps or not p99:
        raise RuntimeError(f"could not read wrk's report:\n{out}")
    kinds = {kind: int(n) for kind, n in re.findall(r"(connect|read|write|timeout) (\d+)", out) if int(n)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        kinds["non-2xx"] = int(non_2xx.group(1))
    detail = ", ".join(f"{kind} {n}" for kind, n in kinds.items())
    return LoadResult(float(rps.group(1)), float(p99.group(1)) * UNITS[p99.group(2)], sum(kinds.values()), "wrk",
                      detail)


def run_threads(url: str, seconds: float, connections: int) -> LoadResult:
    """One thread per connection, http.client keep-alive; slower than wrk (the GIL), same for both sides."""
    parts = urlsplit(url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = threading.Barrier(connections + 1)
    deadline = 0.0

    def poller(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        start.wait()
        while (now := time.monotonic()) < deadline:
            try:
                conn.request("GET", parts.path or "/")
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            latencies[i].append(time.monotonic() - now)
        conn.close()

    threads = [threading.Thread(target=poller, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 15)
    done = sorted(x for per in latencies for x in per)
    p99 = done[min(len(done) - 1, int(len(done) * 0.99))] * 1e3 if done else float("inf")
    return LoadResult(len(done) / seconds, p99, sum(errors), "python threads (http.client keep-alive)")


def wrk_version() -> str | None:
    """wrk's version line, or None when it is not installed."""
    if not wrk_path():
        return None
    result = subprocess.run([wrk_path() or "wrk", "-v"], capture_output=True, text=True, timeout=10)
    return (result.stdout or result.stderr).splitlines()[0].strip()
