"""`make bench`: the gateway against the WhatsApp Web simulator in real Chromium, next to its physical floors.

Prints a table (and writes bench/results.md): each figure is the median of several runs, compared in the
same run with its floor where there is one. Usage: `python bench/run.py [--runs 5] [--no-write]
[--only session,load,idle,heavy,store]` (with --only, nothing is written).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import argparse
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable

from bench import figures, procstat, report, scenarios, store_scale
from bench.figures import (
    IDLE_SECONDS,
    LOAD_CONNECTIONS,
    LOAD_ROUNDS,
    LOAD_SECONDS,
    MESSAGES_NO_GAP,
    MESSAGES_PER_RUN,
    QUIET_POLL_MS,
    QUIET_WINDOWS,
    ROTATIONS_PER_RUN,
    SIM_KNOBS,
)
from bench.floors import CHATS_SHOWN, READ_REF, BareChromium, FloorServer
from bench.heavy import heavy_phase
from bench.load import LoadResult, run_load
from bench.report import median
from tests.gateway import Gateway, SocketEvents
from tests.sim import Simulator
from wa_client.browser import procs

logger = logging.getLogger("bench")

RESULTS = REPO_ROOT / "bench" / "results.md"
PHASE1_BUDGET_S = 150.0  # leaves time for the load and idle phases within the 5-minute limit
PAGE_SETTLE_S = 1.2
PHASES = frozenset({"session", "load", "idle", "heavy", "store"})  # --only picks some
LOAD_FIRST_REF_S = 120.0  # during the load test the QR must not rotate


class Bench:
    """One benchmark run: the simulator, the gateway, the floors, and every sample taken."""

    def __init__(self, runs: int, only: frozenset[str] = PHASES) -> None:
        self.runs = runs
        self.only = only
        self.began = time.monotonic()
        self.home = Path(tempfile.mkdtemp(prefix="wa-bench-"))
        self.samples: dict[str, list[float]] = {}
        self.notes: list[str] = []
        self.sim: Simulator | None = None
        self.gateway: Gateway | None = None
        self.events: SocketEvents | None = None  # the front desk's view: Socket.IO
        self.bare: list[BareChromium] = []
        self.floor_server: FloorServer | None = None
        self.loading_s = 0.0
        self.page_poll_ms = 100
        self.gateway_home = ""
        self.load_tool = "-"
        self.store_figures: dict[str, float] = {}

    def add(self, name: str, *values: float | None) -> None:
        """Record samples of one figure (None: not measurable this time)."""
        self.samples.setdefault(name, []).extend(v for v in values if v is not None)

    def elapsed(self) -> float:
        """Seconds since the bench began."""
        return time.monotonic() - self.began

    def say(self, text: str) -> None:
        """A progress line on stderr."""
        print(f"[{self.elapsed():6.1f} s] {text}", file=sys.stderr, flush=True)

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> None:
        """Every phase, in order."""
        self.sim = Simulator.start(fast=True, **SIM_KNOBS)
        config = self.sim.state()["config"]
        self.loading_s = float(config["loading_s"])
        self.page_poll_ms = int(config["poll_ms"])
        self.gateway = Gateway.start(self.sim.url, name="bench-gateway", **MESSAGES_NO_GAP)
        self.gateway_home = str(self.gateway.home)
        self.events = SocketEvents(self.gateway.url)
        self.say(f"simulator at {self.sim.url}, gateway at {self.gateway.url} (pid {self.gateway.proc.pid})")
        if "session" in self.only:
            self.session_runs()
        if self.only & {"load", "idle"}:
            self.load_and_idle()
        if "heavy" in self.only:
            heavy_phase(self, self.gateway, self.sim.url, MESSAGES_NO_GAP)
        if "store" in self.only:
            self.say(f"filling a store of {store_scale.MESSAGES:,} messages")
            self.store_figures = store_scale.measure(self.sim.url)  # its own gateway, no session: the store alone

    def session_runs(self) -> None:
        """First QR (two pairs with the bare floor, in alternating order), rotations, scan, reset, logout: `runs`
        times."""
        per_run: list[float] = []
        for i in range(self.runs):
            started = self.elapsed()
            if i >= 3 and started + median(per_run) > PHASE1_BUDGET_S:
                self.notes.append(f"session runs stopped after {i} of {self.runs} to stay within 5 minutes")
                break
            if i % 2 == 0:
                self.bare_first_qr()
                self.gateway_session()
                self.gateway_first_qr()  # a second pair per run: a launch varies by +-0.2 s, the budget is 10 %
                self.bare_first_qr()
            else:
                self.gateway_session()
                self.bare_first_qr()
                self.bare_first_qr()
                self.gateway_first_qr()
            per_run.append(self.elapsed() - started)
            self.say(f"run {i + 1}/{self.runs} done in {per_run[-1]:.1f} s")

    def bare_first_qr(self) -> None:
        """The floor: a bare Selenium Chromium with the gateway's flags, launch -> data-ref."""
        bare = self.new_bare()
        try:
            took, _ = bare.launch_until_ref()
            self.add("floor_first_qr", took)
            rss, pss = procstat.memory_mb(bare.tree())
            self.add("floor_tree_mb_qr", rss)
            self.add("floor_tree_pss_mb_qr", pss)
        finally:
            self.quit_bare(bare)

    def gateway_first_qr(self) -> None:
        """One more first QR from idle, then back to idle."""
        assert self.gateway is not None and self.events is not None
        self.add("first_qr", scenarios.first_qr_shown(self.gateway, self.events))
        scenarios.force_reset(self.gateway)

    def gateway_session(self) -> None:
        """One session from idle: first QR, rotations, scan, reset -> new QR, scan, logout, reset."""
        gw, sim = self.gateway, self.sim
        assert gw is not None and sim is not None and self.events is not None
        self.add("first_qr", scenarios.first_qr_shown(gw, self.events))
        gw.note_processes()
        self.sample_memory("qr")
        self.add("rotation", *scenarios.rotation_latencies(gw, sim, ROTATIONS_PER_RUN))
        self.add("scan_connected", scenarios.scan_to_connected(gw, sim))
        gw.note_processes()
        self.add("post_to_sent", *(scenarios.post_to_sent(gw, f"bench reminder {n}") for n in range(MESSAGES_PER_RUN)))
        self.sample_memory("connected")
        reset_s, new_qr_s = scenarios.reset_then_new_qr(gw)
        self.add("reset_idle", reset_s)
        self.add("reset_new_qr", new_qr_s)
        gw.note_processes()
        self.add("scan_connected", scenarios.scan_to_connected(gw, sim))
        detected, page_left = scenarios.logout_detection(gw, sim)
        self.add("logout", detected)
        self.add("logout_page", page_left)
        scenarios.force_reset(gw)

    def sample_memory(self, state: str) -> None:
        """RSS of the service alone, and of the service with its Chromium tree (RSS and PSS)."""
        gw = self.gateway
        assert gw is not None
        service = gw.proc.pid
        tree = procstat.chromium_tree(service, str(gw.profile_dir))
        rss, pss = procstat.memory_mb(tree | {service})
        self.add(f"service_mb_{state}", procstat.rss_kb(service) / 1024)
        self.add(f"total_mb_{state}", rss)
        self.add(f"total_pss_mb_{state}", pss)

    def load_and_idle(self) -> None:
        """/qr.png under 32 pollers against its floor, then the idle cost in connected against its floor."""
        gw, sim = self.gateway, self.sim
        assert gw is not None and sim is not None
        sim.configure(first_ref_s=LOAD_FIRST_REF_S)
        scenarios.time_to_first_qr(gw)
        gw.note_processes()
        if "load" in self.only:
            self.load_test()
        if "idle" not in self.only:
            scenarios.force_reset(gw)
            return
        scenarios.scan_to_connected(gw, sim)
        gw.note_processes()
        time.sleep(1.0)  # let the chats screen settle
        service = gw.proc.pid
        self.idle_windows("gw", lambda: procstat.chromium_tree(service, str(gw.profile_dir)) | {service}, service)
        scenarios.force_reset(gw)
        self.say("gateway idle cost done")
        self.bare_idle()

    def load_test(self) -> None:
        """/qr.png in state qr, the gateway and the floor app alternately, LOAD_ROUNDS times each."""
        gw = self.gateway
        assert gw is not None
        version = scenarios.status(gw)["qr_version"]
        png, headers = scenarios.qr_png(gw)
        self.floor_server = FloorServer(png, headers)
        try:
            for _ in range(LOAD_ROUNDS):
                self.add_load("gw", run_load(gw.url + "/qr.png", LOAD_SECONDS, LOAD_CONNECTIONS))
                self.add_load("floor", run_load(self.floor_server.url + "/qr.png", LOAD_SECONDS, LOAD_CONNECTIONS))
        finally:
            self.floor_server.stop()
            self.floor_server = None
        if scenarios.status(gw)["qr_version"] != version:
            self.notes.append("the QR rotated during the /qr.png load test")
        self.say("load test done")

    def idle_windows(self, side: str, pids: Callable[[], set[int]], service: int | None = None) -> None:
        """IDLE_SECONDS windows with the simulated page quiet (QUIET_POLL_MS), then one at its default poll."""
        sim = self.sim
        assert sim is not None
        try:
            sim.configure(poll_ms=QUIET_POLL_MS)
            time.sleep(PAGE_SETTLE_S)  # the page takes the new poll_ms with its next poll
            for _ in range(QUIET_WINDOWS):
                used = self.idle_cpu(pids)
                self.add(f"{side}_idle_quiet_pct", sum(used.values()))
                if service is not None:
                    self.add("idle_quiet_service_pct", used.get(service, 0.0))
                    self.add("idle_quiet_driver_pct", sum(v for pid, v in used.items() if _is_driver(pid)))
        finally:
            sim.configure(poll_ms=self.page_poll_ms)
        time.sleep(PAGE_SETTLE_S + QUIET_POLL_MS / 1000)
        self.add(f"{side}_idle_busy_pct", sum(self.idle_cpu(pids).values()))

    def add_load(self, side: str, result: LoadResult) -> None:
        """Record one load run."""
        self.add(f"{side}_rps", result.requests_per_s)
        self.add(f"{side}_p99_ms", result.p99_ms)
        if result.errors:
            self.notes.append(f"{result.errors} failed requests in a {side} load run ({result.error_detail})")
        self.load_tool = result.tool

    def idle_cpu(self, pids: Callable[[], set[int]]) -> dict[int, float]:
        """CPU used by each of `pids()` (asked before and after) over IDLE_SECONDS, in % of one core."""
        before_pids = pids()
        before = {pid: procstat.cpu_s(pid) for pid in before_pids}
        wall = time.monotonic()
        time.sleep(IDLE_SECONDS)
        after = {pid: procstat.cpu_s(pid) for pid in pids() | before_pids}
        wall = time.monotonic() - wall
        return {pid: 100.0 * max(0.0, cpu - before.get(pid, 0.0)) / wall for pid, cpu in after.items()}

    def bare_idle(self) -> None:
        """The idle floor: a bare Chromium on the chats page (linked by a scan), nobody polling it."""
        sim = self.sim
        assert sim is not None
        bare = self.new_bare()
        try:
            _, payload = bare.launch_until_ref()
            if sim.scan(payload).status_code != 200:  # it rotated meanwhile: read the new one
                payload = bare.wait_script(READ_REF, 10)
                if sim.scan(payload).status_code != 200:
                    raise scenarios.BenchError("the bare Chromium's QR could not be scanned")
            bare.wait_script(CHATS_SHOWN, 30)
            time.sleep(1.0)
            rss, pss = procstat.memory_mb(bare.tree())
            self.add("floor_tree_mb_connected", rss)
            self.add("floor_tree_pss_mb_connected", pss)
            self.idle_windows("floor", bare.tree)
        finally:
            self.quit_bare(bare)
        self.say("bare Chromium idle cost done")

    def new_bare(self) -> BareChromium:
        """A bare Chromium on a fresh profile under the bench's own directory."""
        assert self.sim is not None
        profile = Path(tempfile.mkdtemp(prefix="profile-", dir=self.home))
        bare = BareChromium(self.sim.url, profile)
        self.bare.append(bare)
        return bare

    def quit_bare(self, bare: BareChromium) -> None:
        """Quit it and remove its profile."""
        stuck = bare.quit()
        if stuck:
            self.notes.append(f"bare Chromium processes would not die: {stuck}")
        shutil.rmtree(bare.profile_dir, ignore_errors=True)

    # -- the end ------------------------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Stop everything the bench started; the problems (exit code, leftovers) in words."""
        problems = []
        for bare in self.bare:
            if stuck := bare.quit():
                problems.append(f"bare Chromium processes would not die: {stuck}")
        if self.floor_server is not None:
            self.floor_server.stop()
        if self.events is not None:
            self.events.close()
        if self.gateway is not None:
            if self.gateway.proc.poll() is None:
                self.gateway.note_processes()
            code = self.gateway.stop(check=False)
            if code != 0:
                problems.append(f"the gateway exited with {code} on SIGTERM\n{self.gateway.log_tail()}")
        if self.sim is not None:
            self.sim.stop()
        marks = [str(self.home)] + ([self.gateway_home] if self.gateway_home else [])
        left = procstat.leftovers(marks)
        if self.gateway is not None:
            left = sorted(set(left) | set(self.gateway.survivors()))
        if left:
            problems.append(f"browser processes left behind (now killed): {left}")
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.home, ignore_errors=True)
        return problems


def _phases(text: str) -> frozenset[str]:
    """--only's value: known phase names."""
    picked = frozenset(name.strip() for name in text.split(",") if name.strip())
    if not picked or picked - PHASES:
        raise argparse.ArgumentTypeError(f"phases are {', '.join(sorted(PHASES))}")
    return picked


def _is_driver(pid: int) -> bool:
    found = procs.info(pid)
    return found is not None and found.name.startswith(procs.DRIVER_NAMES)


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write bench/results.md; 1 on an error or a leftover process."""
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="session runs (each figure's median is over them)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results.md")
    parser.add_argument("--only", type=_phases, default=PHASES,
                        help=f"comma-separated phases to run, of {', '.join(sorted(PHASES))} (implies --no-write)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _stop_on_sigterm()
    bench = Bench(max(1, args.runs), args.only)
    bench.say(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    failure: BaseException | None = None
    try:
        bench.run()
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - reported below, after the cleanup
        failure = exc
    finally:
        problems = bench.cleanup()
    runtime = bench.elapsed()
    if failure is not None:
        print(f"bench failed after {runtime:.0f} s: {type(failure).__name__}: {failure}", file=sys.stderr)
        for problem in problems:
            print(f"cleanup: {problem}", file=sys.stderr)
        return 1
    rows = figures.rows(bench.samples, bench.loading_s, bench.page_poll_ms) + store_scale.rows(bench.store_figures)
    notes = figures.standing_notes() + bench.notes + problems
    print(report.text_table(rows))
    print(f"\n{os.cpu_count()} CPUs, total runtime {runtime:.0f} s")
    for note in bench.notes + problems:
        print(f"note: {note}")
    if not args.no_write and args.only == PHASES:
        facts = figures.facts(runtime, bench.load_tool, bench.loading_s)
        RESULTS.write_text(report.markdown(rows, facts, notes, bench.samples))
        print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
