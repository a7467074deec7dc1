"""The Chromium profile directory: the saved WhatsApp login, kept private and removable."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wa_client.browser import procs
from wa_client.config import ConfigError, Settings

logger = logging.getLogger(__name__)

LOCK_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")


class ProfileInUse(RuntimeError):
    """Another live Chromium holds the profile directory."""


class ProfileRefused(ConfigError, ProfileInUse):
    """WA_PROFILE_DIR names a place the gateway must not use (nor ever delete); the message says why."""


#: Written by ensure() into every profile the gateway creates (or adopts empty): only those are ever deleted.
MARKER = ".wa-gateway-profile"
MARKER_TEXT = "This directory is a WhatsApp gateway profile; Force Reset and logout delete it.\n"
DELETING = ".deleting-"


def ensure(path: str | os.PathLike) -> Path:
    """Create the profile directory (and its parents) with mode 0700 and its marker; tighten an existing one."""
    check_location(path)
    profile = Path(path).resolve()
    check_contents(profile)
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(profile, 0o700)
    marker = profile / MARKER
    if not marker.exists():
        marker.write_text(MARKER_TEXT)
    return profile


#: Directories that are never a profile (a profile may live below most of them, e.g. /var/lib/wa-gateway/profile).
SYSTEM_DIRS = frozenset(map(Path, (
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share", "/var/lib", "/var/log", "/var/tmp",
    "/var/cache", "/var/spool")))
#: Virtual filesystems: nothing below them is a profile.
VIRTUAL_TREES = tuple(map(Path, ("/proc", "/sys", "/dev")))
PROJECT_DIR = Path(__file__).resolve().parents[2]  # the checkout: wa_client/browser/profile.py -> ../..


def check_location(path: str | os.PathLike) -> None:
    """Raise ProfileRefused for a profile path whose deletion would hurt: a root, home, system dir, symlink, ..."""
    named = Path(os.path.abspath(Path(path).expanduser()))
    if named.is_symlink():
        raise ProfileRefused(f"WA_PROFILE_DIR={path} is a symbolic link (to {os.path.realpath(named)}); "
                             "Force Reset would delete its target: name the real directory")
    real = named.resolve()
    why = _why_not_a_profile(real)
    if why:
        raise ProfileRefused(f"WA_PROFILE_DIR={path} is {why}, which Force Reset would delete; "
                             "name a directory of its own, e.g. ./data/profile")


def _why_not_a_profile(real: Path) -> str | None:
    places = (("home directory", Path.home().resolve()), ("project directory", PROJECT_DIR),
              ("current directory", Path.cwd().resolve()))
    for name, place in places:
        if real == place:
            return f"the {name}"
    if real in SYSTEM_DIRS or len(real.parts) <= 1:
        return "a system directory"
    if any(real.is_relative_to(tree) for tree in VIRTUAL_TREES):
        return "inside a system directory"
    if os.path.ismount(real):
        return "the root of a filesystem"
    for name, place in places:
        if place.is_relative_to(real):
            return f"a parent of the {name} ({place})"
    return None


def check_contents(path: str | os.PathLike) -> None:
    """Raise ProfileRefused unless `path` is missing, empty, or a directory that the gateway created."""
    profile = Path(path)
    if profile.is_symlink():
        raise ProfileRefused(f"WA_PROFILE_DIR={profile} is a symbolic link; name the real directory")
    if profile.exists() and not profile.is_dir():
        raise ProfileRefused(f"WA_PROFILE_DIR={profile} is a file, not a directory; name a new directory")
    if profile.is_dir() and not (profile / MARKER).exists() and any(profile.iterdir()):
        raise ProfileRefused(
            f"WA_PROFILE_DIR={profile} already holds files that this gateway did not create, and Force Reset "
            f"would delete them; name a new or empty directory (a profile of an older gateway version: "
            f"create an empty file {MARKER} in it to keep using it)")


def clear_stale_locks(path: str | os.PathLike) -> bool:
    """Remove Singleton* files left by a dead Chromium; raise ProfileInUse if a live one owns them."""
    profile = Path(path)
    users = procs.browsers_using(str(profile))
    if users:
        raise ProfileInUse(
            f"another Chromium (pid {min(users)}) is using the profile {profile}; "
            "stop it or set WA_PROFILE_DIR to another directory"
        )
    removed = False
    for name in LOCK_FILES:
        target = profile / name
        if target.is_symlink() or target.exists():
            try:
                target.unlink()
                removed = True
            except FileNotFoundError:
                pass
    if removed:
        logger.warning("removed a stale Chromium lock from %s (its browser had died)", profile)
    return removed


def delete(path: str | os.PathLike, attempts: int = 5, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Delete a profile the gateway created: renamed aside at once (the path is free), then removed by `rm -rf`.

    `rm` runs as a child process: under eventlet its wait is green, so a big profile never freezes the server.
    """
    profile = Path(path)
    if not profile.exists() and not profile.is_symlink():
        return True
    try:
        check_contents(profile)
    except ProfileRefused as exc:
        logger.error("the profile was not deleted: %s", exc)
        return False
    aside = profile.with_name(f"{profile.name}{DELETING}{secrets.token_hex(4)}")
    for attempt in range(1, attempts + 1):
        try:
            os.rename(profile, aside)
            break
        except FileNotFoundError:
            return True
        except OSError as exc:
            logger.warning("moving %s aside, attempt %d/%d, failed: %s", profile, attempt, attempts, exc)
            sleep(0.2 * attempt)
    else:
        logger.error("could not delete the profile directory %s", profile)
        return False
    if not _remove_aside(aside, attempts, sleep):
        logger.error("the old profile %s could not be removed; delete it by hand", aside)
    return not profile.exists()


def remove_leftovers(path: str | os.PathLike, sleep: Callable[[float], None] = time.sleep) -> int:
    """Remove profiles that a killed gateway had moved aside for deletion (`<profile>.deleting-*`)."""
    profile = Path(path)
    removed = 0
    for aside in profile.parent.glob(f"{profile.name}{DELETING}*"):
        if aside.is_dir() and not aside.is_symlink() and (aside / MARKER).exists():
            logger.warning("removing %s, left by a deletion that did not finish", aside)
            removed += _remove_aside(aside, sleep=sleep)
    return removed


def _remove_aside(aside: Path, attempts: int = 5, sleep: Callable[[float], None] = time.sleep) -> bool:
    """`rm -rf` a directory moved aside, retrying while a dying process still writes into it."""
    rm = shutil.which("rm")
    for attempt in range(1, attempts + 1):
        if not aside.exists():
            return True
        if rm is None:
            shutil.rmtree(aside, ignore_errors=True)
            continue
        done = subprocess.run([rm, "-rf", "--", str(aside)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        if done.returncode != 0:
            logger.warning("rm -rf %s, attempt %d/%d, failed: %s", aside, attempt, attempts,
                           done.stderr.decode(errors="replace").strip()[:200])
            sleep(0.2 * attempt)
    return not aside.exists()


PID_FILE = "wa-gateway-pids.json"
TMP_PREFIX = "wa-gateway-browser-"


def tmp_prefix(path: str | os.PathLike) -> str:
    """The prefix of this profile's browser temp dirs (tagged: one gateway per profile, so its strays are ours)."""
    return f"{TMP_PREFIX}{hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:8]}-"


def remove_stray_tmp(path: str | os.PathLike, sleep: Callable[[float], None] = time.sleep) -> int:
    """Remove the browser temp dirs a hard-killed run of this profile left (call with the profile lock held)."""
    strays = list(Path(tempfile.gettempdir()).glob(tmp_prefix(path) + "*"))
    for stray in strays:
        remove_tree(str(stray), sleep=sleep)
    return len(strays)


def record_pids(path: str | os.PathLike, pids: set[int], tmp_dir: str | None = None) -> None:
    """Write down the browser processes (and temp dir) this gateway started, for a later run to reap."""
    record = {"pids": {str(p): info.started for p in pids if (info := procs.info(p)) is not None},
              "tmp_dir": tmp_dir}
    target = Path(path) / PID_FILE
    try:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.chmod(tmp, 0o600)
        tmp.replace(target)
    except OSError as exc:
        logger.warning("could not record the browser's pids: %s", exc)


def kill_recorded(path: str | os.PathLike, sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """Kill what a previous gateway run recorded and left alive (same pid, same start time).

    Returns the recorded processes that would not die (the record is kept for them); empty when done.
    """
    target = Path(path) / PID_FILE
    try:
        record = json.loads(target.read_text())
        table, tmp_dir = dict(record["pids"]), record.get("tmp_dir")
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    alive = {int(pid) for pid, started in table.items()
             if (info := procs.info(int(pid))) is not None and info.started == started and procs.alive(int(pid))}
    left: set[int] = set()
    if alive:
        logger.warning("a previous run left %d browser process(es) on the profile; stopping them", len(alive))
        left = procs.kill_tree(alive, grace=0, sleep=sleep)
    if left:
        logger.error("recorded browser processes would not die: %s", sorted(left))
        return left
    if isinstance(tmp_dir, str) and os.path.basename(tmp_dir).startswith(TMP_PREFIX):
        remove_tree(tmp_dir, sleep=sleep)
    target.unlink(missing_ok=True)
    return set()


def forget_pids(path: str | os.PathLike) -> None:
    """The recorded processes are gone: drop the record."""
    (Path(path) / PID_FILE).unlink(missing_ok=True)


def remove_tree(path: str | os.PathLike, attempts: int = 5, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Delete a directory tree, retrying while a dying process still writes into it."""
    target = Path(path)
    for attempt in range(1, attempts + 1):
        if not target.exists() and not target.is_symlink():
            return True
        try:
            shutil.rmtree(target)
        except FileNotFoundError:
            return True
        except OSError as exc:
            logger.warning("delete of %s, attempt %d/%d, failed: %s", target, attempt, attempts, exc)
            sleep(0.2 * attempt)
    return not target.exists()


def profile_path(settings: Settings) -> Path:
    """The configured profile directory as an absolute path."""
    return Path(settings.profile_dir).expanduser().resolve()
