"""The browser's side of a session's life, with no state of its own: launch it on the profile, tear it down,
and leave a clean slate. The SessionRunner (runner.py) calls these and records what they lead to."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from wa_client.browser import profile, remote
from wa_client.browser.driver import Browser
from wa_client.browser.profile_lock import ProfileLock
from wa_client.config import Settings

logger = logging.getLogger(__name__)

UNEXPECTED_START = ("the browser could not be started (an unexpected error; the gateway log has the details); "
                    "click Generate QR to try again")


class ResetError(RuntimeError):
    """force_reset could not leave a clean slate (the message says what is left)."""


def launch(browser: Browser, settings: Settings, profile_dir: Path, profile_lock: ProfileLock,
           sleep: Callable[[float], None]) -> float:
    """Take the profile, clear what a killed gateway left, and open WhatsApp Web; the seconds the launch took.

    Raises BrowserCancelled (a reset quit it meanwhile), BrowserError, ProfileInUse or OSError.
    """
    profile_lock.acquire()  # one gateway per profile: ProfileBusy (a ProfileInUse) -> failed, in words
    profile.ensure(profile_dir)  # before anything is written into it (its marker first)
    node_dir = remote.node_profile(profile_dir) if browser.remote else profile_dir
    browser.profile_dir = str(node_dir)
    profile.kill_recorded(profile_dir, sleep)  # left by a gateway killed hard
    profile.remove_stray_tmp(profile_dir, sleep)  # and its browser's temp dirs, even unrecorded ones
    profile.clear_stale_locks(profile_dir)
    launched = time.monotonic()
    browser.launch(settings.wa_url)
    if browser.remote:
        remote.mark_used(profile_dir, node_dir)
    return time.monotonic() - launched


def start_error_words(exc: BaseException, profile_dir: Path) -> str:
    """What a failed launch says to the front desk."""
    if isinstance(exc, OSError):
        return (f"the profile directory {profile_dir} cannot be used ({(exc.strerror or 'error').lower()}); "
                "check WA_PROFILE_DIR, then click Generate QR")
    return str(exc)


def tear_down(browser: Browser | None, settings: Settings, profile_dir: Path, delete_profile: bool,
              sleep: Callable[[float], None]) -> None:
    """Quit an ended session's browser; delete the profile (and its link on a Grid node) when asked to."""
    cleared = bool(delete_profile and browser is not None and browser.remote
                   and remote.clear_live(browser, settings.wa_url))
    if browser is not None:
        browser.quit(graceful=False)
    if delete_profile:
        if settings.remote_url:  # the login is on the node: clear it there, and use a new path
            remote.end_link(settings, profile_dir, cleared)
        profile.delete(profile_dir, sleep=sleep)
    else:
        try:
            profile.clear_stale_locks(profile_dir)
        except profile.ProfileInUse as exc:
            logger.error("after the session ended: %s", exc)


def clear_live(browser: Browser | None, settings: Settings) -> bool:
    """Before a Force Reset quits a Grid browser: clear the login it holds (True when done)."""
    return browser is not None and browser.remote and remote.clear_live(browser, settings.wa_url)


def clean_slate(settings: Settings, profile_dir: Path, cleared: bool,
                sleep: Callable[[float], None]) -> tuple[str | None, set[int], bool]:
    """After a Force Reset quit the browser: kill what is left, end a Grid link, delete the profile.

    Returns (the Grid node's problem or None, the processes that would not stop, whether the profile is gone).
    """
    left = profile.kill_recorded(profile_dir, sleep)  # left by a gateway killed hard
    on_node = remote.end_link(settings, profile_dir, cleared) if settings.remote_url else None
    deleted = not left and profile.delete(profile_dir, sleep=sleep)
    return on_node, left, deleted


def reset_problem(on_node: str | None, left: set[int], deleted: bool, profile_dir: Path) -> str | None:
    """What a Force Reset could not do, in words (None: a clean slate)."""
    if on_node:
        return on_node
    if left:
        return f"browser processes {sorted(left)} would not stop; the profile was kept"
    if not deleted:
        return f"the profile directory {profile_dir} could not be deleted"
    return None
