"""The physical floors: a bare Selenium Chromium with the gateway's own flags, and the thinnest /qr.png server."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.gateway import free_port
from tests.helpers import wait_until
from wa_client import Settings
from wa_client.browser import procs
from wa_client.browser.chromium import chrome_options, find_chromedriver, find_chromium

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
READ_REF = "var e = document.querySelector('[data-ref]'); return e ? e.getAttribute('data-ref') : null;"
CHATS_SHOWN = "return !!document.querySelector('#pane-side');"
PROBE_INTERVAL_S = 0.01


class BareChromium:
    """One Chromium launched as the gateway launches it (same flags, same page-load strategy), nothing more."""

    def __init__(self, wa_url: str, profile_dir: Path) -> None:
        self.wa_url = wa_url
        self.profile_dir = str(profile_dir.resolve())
        self.settings = Settings.from_env(wa_url=wa_url, profile_dir=self.profile_dir)
        self.driver: webdriver.Remote | None = None
        self.service: Service | None = None
        self.pids: dict[int, int] = {}  # every process of this browser: {pid: start time}

    def launch_until_ref(self, timeout: float = 60.0) -> tuple[float, str]:
        """Launch, open WA_URL, and wait for `data-ref`: (seconds from launch, the payload)."""
        started = time.monotonic()
        self.service = Service(executable_path=find_chromedriver(self.settings), log_output=subprocess.DEVNULL,
                               popen_kw={"start_new_session": True})
        self.service.start()
        self._note()
        options = chrome_options(self.settings, self.profile_dir, find_chromium(self.settings))
        self.driver = webdriver.Remote(command_executor=self.service.service_url, options=options)
        self._note()
        self.driver.get(self.wa_url)  # returns at once: page_load_strategy "none", as in the gateway
        payload = self.wait_script(READ_REF, timeout)
        return time.monotonic() - started, payload

    def wait_script(self, script: str, timeout: float) -> object:
        """Run `script` every 10 ms until it returns something truthy; that value."""
        assert self.driver is not None

        def run() -> object:
            try:
                return self.driver.execute_script(script)
            except Exception:  # noqa: BLE001 - the document may be between loads
                return None

        try:
            return wait_until(run, timeout, interval=PROBE_INTERVAL_S, what=script)
        except AssertionError:
            raise TimeoutError(f"the bare Chromium did not satisfy {script!r} within {timeout} s") from None

    def tree(self) -> set[int]:
        """The live processes of this browser (chromedriver and everything below it)."""
        self._note()
        return {pid for pid in self.pids if procs.alive(pid)}

    def _note(self) -> None:
        process = getattr(self.service, "process", None)
        if process is None:
            return
        for pid in {process.pid} | procs.descendants(process.pid):
            if pid not in self.pids and (start := start_time(pid)) is not None:
                self.pids[pid] = start

    def quit(self) -> list[int]:
        """Quit the driver and the service, kill what is left; the pids that would not die."""
        self._note()
        try:
            if self.driver is not None:
                self.driver.quit()
        except Exception as exc:  # noqa: BLE001
            logger.debug("bare driver.quit failed: %s", exc)
        finally:
            self.driver = None
            try:
                if self.service is not None:
                    self.service.stop()
            except Exception as exc:  # noqa: BLE001
                logger.debug("bare service.stop failed: %s", exc)
        alive = [pid for pid, start in self.pids.items() if start_time(pid) == start and procs.alive(pid)]
        return sorted(procs.kill_tree(alive, grace=1.0))


def start_time(pid: int) -> int | None:
    """The process's start time in ticks since boot (tells a pid apart from a reused one)."""
    return info.started if (info := procs.info(pid)) else None


class FloorServer:
    """bench/floor_app.py as a subprocess: the thinnest Flask-SocketIO app on eventlet serving one PNG."""

    def __init__(self, png: bytes, headers: dict[str, str], timeout: float = 20.0) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wa-bench-floor-"))
        (self.dir / "qr.png").write_bytes(png)
        (self.dir / "headers.json").write_text(json.dumps(headers))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "floor_app.py"), "--port", str(self.port),
                                      "--dir", str(self.dir)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._wait_up(png, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_up(self, png: bytes, timeout: float) -> None:
        with requests.Session() as http:
            http.trust_env = False

            def serves_the_png() -> bool:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the floor app exited: {self.proc.stderr.read().decode(errors='replace')}")
                try:
                    return http.get(self.url + "/qr.png", timeout=1).content == png
                except requests.ConnectionError:
                    return False

            try:
                wait_until(serves_the_png, timeout, what="the floor app to serve its PNG")
            except AssertionError:
                raise RuntimeError(f"the floor app did not answer within {timeout} s") from None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; remove its files."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()
        for name in ("qr.png", "headers.json"):
            (self.dir / name).unlink(missing_ok=True)
        os.rmdir(self.dir)
