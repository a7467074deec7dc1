"""Memory and CPU of processes, read from /proc: the service alone and its Chromium tree."""

from __future__ import annotations

import os
from pathlib import Path

from wa_client.browser import procs

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """VmRSS of one process in kB (0 when it is gone)."""
    return _status_field(pid, "VmRSS:")


def pss_kb(pid: int) -> int:
    """Pss of one process in kB from smaps_rollup (0 when gone or unreadable): shared pages split fairly."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """utime + stime of one process in seconds (0 when it is gone)."""
    info = procs.info(pid)
    return info.cpu_ticks / CLOCK_TICKS if info else 0.0


def _status_field(pid: int, name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0


def chromium_tree(root: int, profile_dir: str) -> set[int]:
    """chromedriver below `root` with all its descendants, plus every process run on `profile_dir`.

    The processes on the profile are found by their command line (`--user-data-dir=...`); Chromium's
    children rewrite theirs into one string, hence the substring test.
    """
    table = procs.all_procs()
    live = {p.pid: p for p in table if p.state not in ("Z", "X")}
    below = procs.descendants(root, table)
    drivers = {pid for pid in below if pid in live and live[pid].name.startswith(procs.DRIVER_NAMES)}
    tree: set[int] = set()
    for driver in drivers:
        tree |= {driver} | procs.descendants(driver, table)
    mark = f"--user-data-dir={profile_dir}"
    for pid in live:
        if pid not in tree and pid != root and any(mark in arg for arg in procs.cmdline(pid)):
            tree |= {pid} | procs.descendants(pid, table)
    return {pid for pid in tree if pid in live}


def memory_mb(pids: set[int]) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) of `pids` in MB."""
    return sum(map(rss_kb, pids)) / 1024, sum(map(pss_kb, pids)) / 1024


def leftovers(marks: list[str]) -> list[int]:
    """Live chromium/chromedriver processes whose command line contains one of `marks`."""
    found = []
    for proc in procs.all_procs():
        if proc.state in ("Z", "X") or not proc.name.startswith(procs.BROWSER_NAMES + procs.DRIVER_NAMES):
            continue
        args = " ".join(procs.cmdline(proc.pid))
        if any(mark in args for mark in marks):
            found.append(proc.pid)
    return sorted(found)
