"""What the browser costs, for /metrics: the Chromium tree's memory and processes, and the service's own RSS.

Memory is each process's PSS (proportional set size, from /proc/PID/smaps_rollup: shared pages split
between the processes that share them, so the sum is what the tree really costs); where PSS is not
readable, its RSS from /proc/PID/status. Read at scrape time only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wa_client import WhatsAppClient


def _kib_field(path: str, name: str) -> int | None:
    """The value of `name:` (in kB) in a /proc file, in bytes; None when unreadable."""
    try:
        with open(path, encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_memory(pid: int) -> int | None:
    """Bytes one process costs: PSS where readable, else RSS; None when it is gone."""
    pss = _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")
    return pss if pss is not None else _kib_field(f"/proc/{pid}/status", "VmRSS")


def tree_memory(pids: Iterable[int]) -> tuple[int, int]:
    """(bytes, processes) of the live processes among `pids`."""
    total = count = 0
    for pid in pids:
        size = process_memory(pid)
        if size is not None:
            total += size
            count += 1
    return total, count


class CostCollector(Collector):
    """wa_browser_memory_bytes, wa_browser_processes and wa_service_resident_memory_bytes."""

    def __init__(self, client: WhatsAppClient) -> None:
        self.client = client

    def collect(self) -> Iterator[Metric]:
        """Read /proc now (a few small files per browser process)."""
        memory, processes = tree_memory(self.client.browser_pids())
        yield GaugeMetricFamily("wa_browser_memory_bytes", "Memory of the gateway's Chromium tree "
                                "(sum of PSS; RSS where PSS is not readable).", value=memory)
        yield GaugeMetricFamily("wa_browser_processes", "Processes in the gateway's Chromium tree "
                                "(chromedriver included).", value=processes)
        rss = _kib_field(f"/proc/{os.getpid()}/status", "VmRSS") or 0
        yield GaugeMetricFamily("wa_service_resident_memory_bytes", "Resident memory of the gateway process itself.",
                                value=rss)
