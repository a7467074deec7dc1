"""One gateway per profile: an exclusive flock on `<profile>.lock`, beside the profile, for the life of the process."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

from wa_client.browser.profile import ProfileInUse

logger = logging.getLogger(__name__)

BUSY = ("the WhatsApp profile {profile} belongs to another gateway (pid {pid}); stop that gateway, "
        "or give this one its own WA_PROFILE_DIR")

# A process holds a profile once, however many ProfileLock objects name it (flock would refuse a second open).
_held: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, how many ProfileLock objects hold it)
_guard = threading.Lock()


class ProfileBusy(ProfileInUse):
    """Another live gateway holds the profile's lock; the message names its pid."""


def lock_path(profile_dir: str | os.PathLike) -> Path:
    """The lock file beside the profile (deleting the profile does not drop the lock)."""
    profile = Path(profile_dir).expanduser().absolute()
    return profile.parent / f"{profile.name or 'wa-gateway-profile'}.lock"  # '/' has no name (and is refused)


class ProfileLock:
    """`acquire()` makes the profile this process's until `release()` or exit; a second gateway gets ProfileBusy."""

    def __init__(self, profile_dir: str | os.PathLike) -> None:
        self.profile_dir = Path(profile_dir)
        self.path = lock_path(profile_dir)
        self.held = False

    def acquire(self) -> None:
        """Take the lock (idempotent) and write our pid in it; raise ProfileBusy when another process has it."""
        with _guard:
            if self.held:
                return
            fd, count = _held.get(self.path, (None, 0))
            if fd is None:
                fd = self._lock_file()
            _held[self.path] = (fd, count + 1)
            self.held = True

    def _lock_file(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            owner = self.owner_pid()
            raise ProfileBusy(BUSY.format(profile=self.profile_dir, pid=owner or "unknown")) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        logger.info("this gateway (pid %d) holds the profile %s (lock %s)", os.getpid(), self.profile_dir, self.path)
        return fd

    def owner_pid(self) -> int | None:
        """The pid written in the lock file by its holder (ours while we hold it), or None."""
        try:
            return int(self.path.read_text().strip() or "x")
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        """Let go of the profile (the last holder in this process unlocks the file); idempotent."""
        with _guard:
            if not self.held:
                return
            self.held = False
            fd, count = _held.pop(self.path)
            if count > 1:
                _held[self.path] = (fd, count - 1)
                return
            os.close(fd)  # closing the descriptor drops the flock; the file stays for the next holder
