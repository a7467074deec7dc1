"""The heavy live page (issue 21): idle cost of the listening gateway, of the polling one (WA_LISTEN=0) and
of a bare Chromium on the same page (300 chats, an open chat of 300 messages, presence every 0.5 s)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from bench import procstat, scenarios
from bench.figures import IDLE_SECONDS, QUIET_POLL_MS
from bench.floors import CHATS_SHOWN, READ_REF, BareChromium
from tests.gateway import Gateway
from tests.sim import Simulator

HEAVY_ROWS = "return document.querySelectorAll('.heavy-row').length >= 290;"
HEAVY_SETTLE_S = 2.0  # the heavy page fills in 0.5 s; then the first churn ticks
HEAVY_WINDOWS = 3


class HeavyBench(Protocol):
    """What the heavy phase needs of bench/run.py's Bench."""

    sim: Simulator | None

    def add(self, name: str, *values: float | None) -> None: ...
    def say(self, text: str) -> None: ...
    def new_bare(self) -> BareChromium: ...
    def quit_bare(self, bare: BareChromium) -> None: ...
    def idle_cpu(self, pids: Callable[[], set[int]]) -> dict[int, float]: ...


def heavy_phase(bench: HeavyBench, gateway: Gateway, wa_url: str, gateway_env: dict[str, str]) -> None:
    """Gateway (listening), bare Chromium, gateway polling (WA_LISTEN=0): each connected and idle."""
    sim = bench.sim
    assert sim is not None
    sim.configure(heavy=True, poll_ms=QUIET_POLL_MS)
    try:
        gateway_idle(bench, gateway, "heavy_gw")
        bare_idle(bench)
        polling = Gateway.start(wa_url, name="bench-gateway-polling", WA_LISTEN="0", **gateway_env)
        try:
            gateway_idle(bench, polling, "heavy_poll")
        finally:
            polling.stop(check=False)
    finally:
        sim.configure(heavy=False)
    bench.say("heavy page idle costs done")


def gateway_idle(bench: HeavyBench, gateway: Gateway, side: str) -> None:
    """Link `gateway` on the heavy page, let it settle, measure; then reset it."""
    sim = bench.sim
    assert sim is not None
    scenarios.time_to_first_qr(gateway)
    scenarios.scan_to_connected(gateway, sim)
    time.sleep(HEAVY_SETTLE_S)
    service = gateway.proc.pid
    probes = _counter(gateway, "wa_page_probes_total")
    for _ in range(HEAVY_WINDOWS):
        used = bench.idle_cpu(lambda: procstat.chromium_tree(service, str(gateway.profile_dir)) | {service})
        bench.add(f"{side}_pct", sum(used.values()))
        bench.add(f"{side}_service_pct", used.get(service, 0.0))
    if probes is not None and (after := _counter(gateway, "wa_page_probes_total")) is not None:
        bench.add(f"{side}_probes_per_s", (after - probes) / (HEAVY_WINDOWS * IDLE_SECONDS))
    scenarios.force_reset(gateway)


def bare_idle(bench: HeavyBench) -> None:
    """The floor: a bare Selenium Chromium linked on the heavy page, nobody reading it."""
    sim = bench.sim
    assert sim is not None
    bare = bench.new_bare()
    try:
        _, payload = bare.launch_until_ref()
        if sim.scan(payload).status_code != 200:
            payload = bare.wait_script(READ_REF, 10)
            if sim.scan(payload).status_code != 200:
                raise scenarios.BenchError("the bare Chromium's QR could not be scanned")
        bare.wait_script(CHATS_SHOWN, 30)
        bare.wait_script(HEAVY_ROWS, 30)
        time.sleep(HEAVY_SETTLE_S)
        for _ in range(HEAVY_WINDOWS):
            bench.add("heavy_floor_pct", sum(bench.idle_cpu(bare.tree).values()))
    finally:
        bench.quit_bare(bare)


def _counter(gateway: Gateway, name: str) -> float | None:
    """One sample of /metrics (None when it is not there)."""
    for line in gateway.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None
