"""Processes, read from /proc: who is alive, who descends from whom, and killing by pid."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wa_client.polling import poll_until

logger = logging.getLogger(__name__)

BROWSER_NAMES = ("chromium", "chrome", "chromium-browse", "headless_shell", "google-chrome")
DRIVER_NAMES = ("chromedriver",)  # the tests look for leftovers by these names too


@dataclass(frozen=True)
class ProcInfo:
    """One line of /proc/PID/stat that matters here."""

    pid: int
    name: str
    state: str
    ppid: int
    pgid: int
    started: int = 0  # clock ticks after boot: with the pid, names one process for good
    cpu_ticks: int = 0  # user + system CPU time so far, in clock ticks (os.sysconf("SC_CLK_TCK") a second)


def info(pid: int) -> ProcInfo | None:
    """The process's name, state, parent and group, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(pid=pid, name=name, state=rest[0], ppid=int(rest[1]), pgid=int(rest[2]), started=int(rest[19]),
                    cpu_ticks=int(rest[11]) + int(rest[12]))


def cmdline(pid: int) -> list[str]:
    """The process's arguments (empty when gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    proc = info(pid)
    return proc is not None and proc.state not in ("Z", "X")


def all_procs() -> list[ProcInfo]:
    """Every process visible in /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = info(int(entry))
            if proc is not None:
                out.append(proc)
    return out


def descendants(root: int, procs: Iterable[ProcInfo] | None = None) -> set[int]:
    """The pids of every live process below `root` (children, grandchildren, ...)."""
    procs = list(all_procs() if procs is None else procs)
    children: dict[int, list[int]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def group_members(pgid: int, procs: Iterable[ProcInfo] | None = None) -> set[int]:
    """The pids of the live processes in process group `pgid` (from `procs`, else a scan of /proc)."""
    return {p.pid for p in (all_procs() if procs is None else procs) if p.pgid == pgid and p.state not in ("Z", "X")}


def is_browser_main(proc: ProcInfo, args: list[str]) -> bool:
    """True for a Chromium main process: a browser name, no --type=, and a real command line."""
    if not _is_browser_name(proc.name):
        return False
    # children rewrite their command line into one string, so look inside every argument
    return bool(args) and not any("--type=" in a for a in args)


def browsers_using(profile_dir: str) -> set[int]:
    """The Chromium main processes started with --user-data-dir=`profile_dir`.

    A main process has no --type= and its parent is not a Chromium: the zygote's fresh forks
    (and Debian's /usr/bin/chromium wrapper script while it starts) would otherwise count twice.
    """
    want = os.path.realpath(profile_dir)
    table = {p.pid: p for p in all_procs()}
    found = set()
    for proc in table.values():
        if proc.state in ("Z", "X") or not _is_browser_name(proc.name):
            continue
        parent = table.get(proc.ppid)
        if parent is not None and _is_browser_name(parent.name):
            continue
        args = cmdline(proc.pid)
        if not is_browser_main(proc, args):
            continue
        for arg in args:
            if arg.startswith("--user-data-dir=") and os.path.realpath(arg.split("=", 1)[1]) == want:
                found.add(proc.pid)
    return found


def _is_browser_name(name: str) -> bool:
    return name in BROWSER_NAMES  # comm is cut at 15 characters: 'chromium-browse'; never chromedriver


def signal_pids(pids: Iterable[int], sig: int) -> None:
    """Send `sig` to each pid, ignoring those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids: Iterable[int], timeout: float, sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """Wait until every pid has exited; return those still alive at the deadline."""
    pending = set(pids)

    def all_gone() -> bool:
        pending.difference_update([p for p in pending if not alive(p)])
        return not pending

    poll_until(all_gone, timeout, sleep=sleep)
    return pending


def kill_tree(pids: Iterable[int], grace: float, sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """SIGTERM the pids, wait up to `grace`, SIGKILL the survivors; return any that would not die."""
    pending = {p for p in pids if alive(p)}
    if not pending:
        return set()
    if grace > 0:
        signal_pids(pending, signal.SIGTERM)
        pending = wait_gone(pending, grace, sleep)
    if pending:
        logger.info("killing %d leftover browser process(es): %s", len(pending), sorted(pending))
        signal_pids(pending, signal.SIGKILL)
        pending = wait_gone(pending, 2.0, sleep)
    return pending
