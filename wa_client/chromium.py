"""Which Chromium and chromedriver to start, and with which flags (a desktop User-Agent, offline-friendly)."""

from __future__ import annotations

import os
import shutil

from selenium.webdriver.chrome.options import Options

from . import proxy
from .config import Settings


class BrowserError(RuntimeError):
    """The browser could not be started or driven; the message is meant for people."""


SYSTEM_DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
BROWSER_COMMANDS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

OFFLINE_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-quic",
)


def find_chromedriver(settings: Settings) -> str:
    """CHROMEDRIVER first, then the system's chromedriver, then webdriver-manager's download."""
    if settings.chromedriver:
        if not os.access(settings.chromedriver, os.X_OK):
            raise BrowserError(f"CHROMEDRIVER={settings.chromedriver} is not an executable file")
        return settings.chromedriver
    found = shutil.which("chromedriver") or next((p for p in SYSTEM_DRIVERS if os.access(p, os.X_OK)), None)
    if found:
        return found
    try:  # machines with internet and no system driver
        from webdriver_manager.chrome import ChromeDriverManager

        return ChromeDriverManager().install()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no driver"
        raise BrowserError(
            "chromedriver was not found: install Debian's chromium-driver or set CHROMEDRIVER"
        ) from exc


def find_chromium(settings: Settings) -> str | None:
    """CHROME_BINARY first, then Chromium or Chrome on the PATH (None: let chromedriver look)."""
    if settings.chrome_binary:
        if not os.access(settings.chrome_binary, os.X_OK):
            raise BrowserError(f"CHROME_BINARY={settings.chrome_binary} is not an executable file")
        return settings.chrome_binary
    return next((p for p in map(shutil.which, BROWSER_COMMANDS) if p), None)


def chrome_options(settings: Settings, profile_dir: str, binary: str | None) -> Options:
    """Chromium's flags: a normal desktop User-Agent, offline-friendly, root-friendly."""
    opts = Options()
    if binary:
        opts.binary_location = binary
    opts.page_load_strategy = "none"  # driver.get returns at once; the watcher reads the page
    if settings.headless:
        opts.add_argument("--headless=new")
    for flag in OFFLINE_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile_dir}")
    opts.add_argument(f"--user-agent={settings.user_agent}")
    opts.add_argument("--disable-blink-features=AutomationControlled")
    opts.add_argument("--disable-gpu")
    opts.add_argument("--disable-dev-shm-usage")
    opts.add_argument("--window-size=1280,900")
    for flag in proxy.chromium_flags(settings.proxy_url):
        opts.add_argument(flag)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    opts.add_experimental_option("excludeSwitches", ["enable-automation"])
    return opts
