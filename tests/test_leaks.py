"""Leaks over the real service: many Generate QR -> QR -> Force Reset cycles leave it as they found it."""

from __future__ import annotations

import os
import sys

import pytest

from tests.gateway import SocketEvents
from tests.helpers import TOKEN, wait_until
from tests.processes import assert_no_temp_leftovers, browser_tree, resources
from wa_client.browser.profile_lock import lock_path

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CYCLES = 20
FD_SLACK = 2  # measured: flat (8 -> 8); a listener or a pipe may come and go
RSS_GROWTH_LIMIT_MB = 10.0  # measured: +0.9 MB over 18 cycles
THREAD_SLACK = 2


def _one_cycle(gateway) -> None:
    """Generate QR, fetch the code as the page does (socket + PNG), Force Reset, and wait until nothing is left."""
    events = SocketEvents(gateway.url, gateway.token)
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    events.wait_for("qr")
    assert gateway.get("/qr.png").status_code in (200, 404)  # 404 only when the code rotated just now
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"
    events.close()
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser process after the reset")


def test_twenty_qr_cycles_leave_processes_fds_memory_and_tmp_flat(gateway_factory, simulator, private_tmp):
    gateway = gateway_factory(token=TOKEN, TMPDIR=str(private_tmp))
    figures = []
    for cycle in range(1, CYCLES + 1):
        _one_cycle(gateway)
        figures.append(resources(gateway, private_tmp))
        print(f"cycle {cycle:2d}: {figures[-1].line()}", file=sys.stderr)
    warm, last = figures[1], figures[-1]  # after the 2nd cycle: imports, pools and caches are warm
    growth_mb = (last.rss_kb - warm.rss_kb) / 1024
    print(f"\nafter cycle 2: {warm.line()}\nafter cycle {CYCLES}: {last.line()} (RSS {growth_mb:+.1f} MB)")

    assert not last.children, f"processes left below the service: {sorted(last.children)}"
    assert not gateway.browser_pids()
    assert last.fds <= warm.fds + FD_SLACK, f"file descriptors grew from {warm.fds} to {last.fds}"
    assert last.threads <= warm.threads + THREAD_SLACK, f"threads grew from {warm.threads} to {last.threads}"
    assert growth_mb <= RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth_mb:.1f} MB"
    assert not gateway.profile_dir.exists()
    held = _fd_targets(gateway.proc.pid)
    lock = str(lock_path(gateway.profile_dir))  # held for the life of the process, by design (one gateway a profile)
    assert not [t for t in held if t != lock and (t.startswith((str(private_tmp), str(gateway.profile_dir)))
                                                  or "(deleted)" in t)]
    assert_no_temp_leftovers(private_tmp)


def _fd_targets(pid: int) -> list[str]:
    """What the process's file descriptors point at (sockets, pipes, files)."""
    targets = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{name}"))
        except OSError:  # closed meanwhile
            pass
    return targets
