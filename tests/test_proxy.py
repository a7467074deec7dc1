"""WA_PROXY_URL: Chromium reaches WhatsApp through a real proxy on loopback (proxy.py for http, pproxy for
socks5), credentials are refused at startup, and an unreachable proxy ends in `failed` naming it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway import REPO_ROOT, free_port
from tests.helpers import wait_until
from wa_client import ConfigError, Settings, selectors
from wa_client.browser.chromium import chrome_options
from wa_client.page.probe import PROBE_SCRIPT, Observation, probe_args
from wa_client.page.recognise import recognise
from wa_client.proxy import is_proxy_error
from wa_client.session.decide import Facts, decide
from wa_client.states import Reason, State

SECRET = "s3cret-proxy-pass"
SIGNS = probe_args(selectors.load(None))


@pytest.mark.parametrize("url", ["http://proxy.clinic.lan:3128", "https://10.0.0.5:443/", "socks5://127.0.0.1:1080",
                                 "http://[::1]:8080"])
def test_a_proxy_url_goes_to_chromium_and_loopback_is_not_bypassed(url, tmp_path):
    settings = Settings.from_mapping({"WA_PROXY_URL": url})
    flags = chrome_options(settings, str(tmp_path), None).arguments
    assert f"--proxy-server={url.rstrip('/')}" in flags
    assert "--proxy-bypass-list=<-loopback>" in flags  # else Chromium sends 127.0.0.1 and localhost around it


def test_no_proxy_no_flags(tmp_path):
    flags = chrome_options(Settings.from_mapping({}), str(tmp_path), None).arguments
    assert not [flag for flag in flags if flag.startswith("--proxy")]


@pytest.mark.parametrize(("url", "words"), [
    (f"http://clinic:{SECRET}@proxy.lan:3128", "must not carry a user name or password"),
    ("socks5://clinic@proxy.lan:1080", "must not carry a user name or password"),
    ("ftp://proxy.lan:21", "must start with http://, https:// or socks5://"),
    ("socks4://proxy.lan:1080", "must start with http://, https:// or socks5://"),
    ("http://:3128", "names no host"),
    ("http://proxy.lan:3128/path", "without a path"),
    ("http://proxy.lan:99999", "not a valid URL"),
])
def test_a_proxy_url_the_gateway_cannot_use_is_refused_in_words(url, words):
    with pytest.raises(ConfigError, match=words) as refused:
        Settings.from_mapping({"WA_PROXY_URL": url})
    assert SECRET not in str(refused.value)


def test_proxy_credentials_stop_the_service_at_startup_without_echoing_them():
    env = {**os.environ, "WA_PROXY_URL": f"http://clinic:{SECRET}@127.0.0.1:3128", "PORT": str(free_port())}
    run = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert "WA_PROXY_URL must not carry a user name or password" in run.stderr
    assert SECRET not in run.stdout + run.stderr


@pytest.mark.parametrize(("proxy_url", "code", "reason"), [
    ("http://127.0.0.1:9", "ERR_PROXY_CONNECTION_FAILED", Reason.PROXY_UNREACHABLE),
    ("socks5://127.0.0.1:9", "ERR_SOCKS_CONNECTION_FAILED", Reason.PROXY_UNREACHABLE),
    ("http://127.0.0.1:9", "ERR_TUNNEL_CONNECTION_FAILED", Reason.PROXY_UNREACHABLE),
    ("http://127.0.0.1:9", "ERR_NAME_NOT_RESOLVED", Reason.UNREACHABLE),  # the proxy answered; WhatsApp did not
    (None, "ERR_PROXY_CONNECTION_FAILED", Reason.UNREACHABLE),  # no proxy of ours: a system one, say
])
def test_chromium_error_pages_that_blame_the_proxy_name_it(proxy_url, code, reason):
    sight = recognise(Observation(url="chrome-error://chromewebdata/", error_page=True, error_code=code))
    decision = decide(State.STARTING, sight, Facts(proxy_url=proxy_url))
    assert (decision.state, decision.reason, decision.end) == (State.FAILED, reason, True)
    if reason is Reason.PROXY_UNREACHABLE:
        assert proxy_url in decision.error and code in decision.error


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_the_probe_names_the_proxy_error_at_the_first_sight_of_chromiums_error_page(make_driver, scheme):
    """Chromium's error page fills in its words after it appears; its code is there from the start."""
    driver = make_driver(proxy_url=f"{scheme}://127.0.0.1:{free_port()}")  # nothing listens there
    driver.execute_script("location.href = arguments[0]", "http://127.0.0.1:8000/")  # not waiting for it to load

    def error_page_seen() -> Observation | None:
        obs = Observation.from_probe(driver.execute_script(PROBE_SCRIPT, SIGNS, {}))
        return obs if obs.error_page else None

    obs = wait_until(error_page_seen, 20, what="Chromium's error page")  # the first sight: what the worker decides on
    assert obs.error_code in ("ERR_PROXY_CONNECTION_FAILED", "ERR_SOCKS_CONNECTION_FAILED"), obs
    assert is_proxy_error(obs.error_code)


class LoopbackProxy:
    """A real proxy server on 127.0.0.1, started in its own process group, with its log."""

    def __init__(self, command: list[str], port: int, log: Path, output: Path | None = None) -> None:
        self.port, self.log = port, log
        with open(output or log, "wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        wait_until(self._listening, 20, what=f"the proxy on port {port}\n{command}")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the proxy exited with {self.proc.returncode}: {self.text()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def text(self) -> str:
        """What the proxy logged so far."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the proxy and its workers (its own process group)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def loopback_proxy() -> Iterator:
    """`loopback_proxy("http" | "socks5")`: proxy.py (http, logs each request) or pproxy (socks5)."""
    started: list[LoopbackProxy] = []
    home = Path(tempfile.mkdtemp(prefix="wa-proxy-test-"))

    def start(kind: str) -> LoopbackProxy:
        port = free_port()
        if kind == "http":
            command = [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(port),
                       "--num-workers", "1", "--num-acceptors", "1", "--log-file", str(home / "proxy.log")]
            proxy = LoopbackProxy(command, port, home / "proxy.log", output=home / "proxy.out")
        else:
            command = [sys.executable, "-m", "pproxy", "-l", f"socks5://127.0.0.1:{port}", "-v"]
            proxy = LoopbackProxy(command, port, home / "pproxy.log")
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
    for path in sorted(home.iterdir()):
        path.unlink()
    home.rmdir()


@pytest.mark.e2e
@pytest.mark.browser
def test_whatsapp_is_reached_through_an_http_proxy(gateway_factory, simulator, loopback_proxy):
    proxy = loopback_proxy("http")
    gateway = gateway_factory(WA_PROXY_URL=f"http://127.0.0.1:{proxy.port}")
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    gateway.phone_scans(simulator)
    gateway.wait_status("connected")
    simulator_host = simulator.url.split("//", 1)[1].rstrip("/")  # 127.0.0.1:PORT
    wait_until(lambda: f"GET {simulator_host}/ - 200" in proxy.text(), 10,
               what=f"the page's request in the proxy's log:\n{proxy.text()[-2000:]}")
    assert "through the proxy" in gateway.log_text()


@pytest.mark.e2e
@pytest.mark.browser
def test_whatsapp_is_reached_through_a_socks5_proxy(gateway_factory, simulator, loopback_proxy):
    proxy = loopback_proxy("socks5")
    gateway = gateway_factory(WA_PROXY_URL=f"socks5://127.0.0.1:{proxy.port}")
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    simulator_host = simulator.url.split("//", 1)[1].rstrip("/")
    wait_until(lambda: f"-> {simulator_host}" in proxy.text(), 10,
               what=f"a connection to the simulator in the proxy's log:\n{proxy.text()[-2000:]}")


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize(("scheme", "code"), [("http", "ERR_PROXY_CONNECTION_FAILED"),
                                             ("socks5", "ERR_PROXY_CONNECTION_FAILED")])
def test_an_unreachable_proxy_fails_naming_the_proxy_not_a_start_timeout(gateway_factory, simulator, scheme, code):
    dead = f"{scheme}://127.0.0.1:{free_port()}"  # nothing listens there
    gateway = gateway_factory(WA_PROXY_URL=dead, WA_START_TIMEOUT_S="60")
    assert gateway.post("/start-session").status_code == 202
    failed = gateway.wait_status("failed", timeout=60)
    assert failed["reason"] == "proxy_unreachable", failed
    assert dead in failed["error"] and code in failed["error"]
    assert "Generate QR" in failed["error"]
