"""The profile directory and its locks: created private, deleted safely, a stale Chromium lock never blocks
a start, and one profile belongs to one process at a time."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway import REPO_ROOT, free_port
from tests.helpers import (
    wait_state,
    wait_until,
)
from tests.processes import generate_qr_works
from wa_client import Settings, WhatsAppClient
from wa_client.browser import procs, profile
from wa_client.browser.chromium import chrome_options, find_chromium
from wa_client.browser.profile import PID_FILE
from wa_client.browser.profile_lock import ProfileBusy, ProfileLock, lock_path


def test_profile_is_created_private(tmp_path):
    path = profile.ensure(tmp_path / "a" / "profile")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_existing_profile_is_tightened(tmp_path):
    loose = tmp_path / "profile"
    loose.mkdir(mode=0o755)
    profile.ensure(loose)
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700


def test_stale_lock_of_a_dead_chromium_is_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.symlink(f"somehost-{dead.pid}", tmp_path / "SingletonLock")
    os.symlink("/tmp/nonexistent/SingletonSocket", tmp_path / "SingletonSocket")
    (tmp_path / "SingletonCookie").write_text("x")
    assert profile.clear_stale_locks(tmp_path) is True
    assert not any((tmp_path / n).is_symlink() or (tmp_path / n).exists() for n in profile.LOCK_FILES)


def test_no_lock_means_nothing_to_do(tmp_path):
    assert profile.clear_stale_locks(tmp_path) is False


def test_delete_removes_the_whole_profile(tmp_path):
    target = profile.ensure(tmp_path / "profile")
    (target / "Default").mkdir()
    (target / "Default" / "Local Storage").write_text("secret")
    assert profile.delete(target) is True
    assert not target.exists()
    assert profile.delete(target) is True  # idempotent


def test_delete_moves_the_profile_aside_then_removes_it(tmp_path):
    target = profile.ensure(tmp_path / "profile")
    (target / "Default").mkdir()
    (target / "Default" / "Cookies").write_text("secret")
    assert profile.delete(target) is True
    assert os.listdir(tmp_path) == []  # neither the profile nor a "profile.deleting-..." is left


def test_delete_refuses_a_directory_that_the_gateway_did_not_create(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "x-ray.png").write_bytes(b"\x89PNG")
    assert profile.delete(foreign) is False
    assert (foreign / "x-ray.png").exists()
    with pytest.raises(profile.ProfileRefused, match="did not create"):
        profile.ensure(foreign)


def test_an_empty_directory_is_adopted(tmp_path):
    empty = tmp_path / "profile"
    empty.mkdir()
    profile.ensure(empty)
    assert (empty / profile.MARKER).exists()


def test_a_file_or_a_symlink_is_not_a_profile(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(profile.ProfileRefused, match="is a file"):
        profile.check_contents(tmp_path / "file")
    with pytest.raises(profile.ProfileRefused, match="symbolic link"):
        profile.check_location(tmp_path / "link")
    assert profile.delete(tmp_path / "link") is False and (tmp_path / "real").is_dir()


def test_what_an_interrupted_delete_left_is_removed_by_the_next_owner(tmp_path):
    aside = profile.ensure(tmp_path / f"profile{profile.DELETING}0badcafe")
    (aside / "Default").mkdir()
    stranger = tmp_path / f"profile{profile.DELETING}notours"
    stranger.mkdir()
    (stranger / "keep").write_text("x")  # no marker: not the gateway's
    assert profile.remove_leftovers(tmp_path / "profile") == 1
    assert sorted(os.listdir(tmp_path)) == [stranger.name]


@pytest.mark.parametrize("path", ["/", "/tmp", "/home", "/usr", "/var/lib", "/proc/self", "~", "."])
def test_places_a_reset_must_never_delete_are_refused(path):
    with pytest.raises(profile.ProfileRefused, match="WA_PROFILE_DIR"):
        profile.check_location(path)


@pytest.mark.parametrize("path", ["/var/lib/wa-gateway/profile", "/srv/clinic/profile", "./data/profile"])
def test_ordinary_profile_places_are_accepted(path):
    profile.check_location(path)


def test_stale_lock_from_a_crashed_chromium_does_not_block_the_start(make_client):
    client = make_client()
    profile_dir = client.settings.profile_dir
    profile.ensure(profile_dir)  # a profile this gateway made, where a Chromium then crashed
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.symlink(f"{socket.gethostname()}-{dead.pid}", os.path.join(profile_dir, "SingletonLock"))
    os.symlink("/tmp/gone-socket-dir/SingletonSocket", os.path.join(profile_dir, "SingletonSocket"))
    client.start_session()
    wait_state(client, "qr")


def test_profile_directory_is_private(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    assert stat.S_IMODE(os.stat(client.settings.profile_dir).st_mode) == 0o700



def _crash_a_chromium_on(profile_dir: Path, tmp: Path) -> None:
    """Run a real Chromium on `profile_dir` and SIGKILL it: it leaves SingletonLock/Socket/Cookie behind."""
    profile.ensure(profile_dir)  # the gateway's own profile, where a Chromium crashed
    settings = Settings.from_env()
    flags = chrome_options(settings, str(profile_dir), None).arguments  # the gateway's own flags
    browser = subprocess.Popen(
        [find_chromium(settings) or "chromium", *flags, "about:blank"],
        env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_until(lambda: (profile_dir / "SingletonLock").is_symlink(), 30, what="Chromium to lock its profile")
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait(10)
    wait_until(lambda: not procs.browsers_using(str(profile_dir)), 10, what="the crashed Chromium to be gone")


def _lock_from_another_machine(profile_dir: Path, tmp: Path) -> None:
    """Locks as a Chromium on another host (a profile copied over, or a shared disk) leaves them."""
    profile.ensure(profile_dir)  # the gateway's profile, copied from another machine with its locks
    os.symlink("clinic-old-pc-4242", profile_dir / "SingletonLock")
    os.symlink(str(tmp / "org.chromium.Chromium.gone" / "SingletonSocket"), profile_dir / "SingletonSocket")
    os.symlink("1234567890", profile_dir / "SingletonCookie")


@pytest.mark.browser
@pytest.mark.parametrize("leave_locks", [_crash_a_chromium_on, _lock_from_another_machine],
                         ids=["crashed-chromium", "another-machine"])
def test_a_stale_profile_lock_does_not_block_the_start(gateway_factory, simulator, tmp_path, private_tmp,
                                                       leave_locks):
    profile_dir = tmp_path / "profile"
    leave_locks(profile_dir, private_tmp)
    assert (profile_dir / "SingletonLock").is_symlink()
    gateway = gateway_factory(profile_dir=profile_dir, TMPDIR=str(private_tmp))
    generate_qr_works(gateway)


@pytest.mark.e2e
def test_the_session_client_refuses_a_profile_that_another_process_holds(tmp_path):
    profile_dir = tmp_path / "profile"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(profile_dir)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        settings = Settings.from_mapping({"wa_url": "http://127.0.0.1:9/", "profile_dir": str(profile_dir)})
        client = WhatsAppClient(settings)
        assert client.start_session()[1] is True
        failed = wait_state(client, "failed", timeout=30)
        assert failed["reason"] == "start_error"
        assert "belongs to another gateway" in failed["error"] and f"pid {holder.pid}" in failed["error"]
        assert not profile_dir.exists(), "the refused client touched the profile"
        assert not client.profile_lock.held
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()


@pytest.mark.e2e
def test_the_profile_lock_is_one_per_process_and_names_its_owner(tmp_path):
    first, again = ProfileLock(tmp_path / "profile"), ProfileLock(tmp_path / "profile")
    first.acquire()
    again.acquire()  # the same process: it holds the profile already
    assert first.held and again.held and first.owner_pid() == os.getpid()
    first.release()
    again.release()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "profile")], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ProfileBusy, match=f"pid {holder.pid}"):
            first.acquire()
        assert not first.held and first.owner_pid() == holder.pid
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()
    first.acquire()
    assert first.owner_pid() == os.getpid()
    first.release()
    assert lock_path(tmp_path / "profile").parent == tmp_path  # beside the profile, not inside it


# -- what WA_PROFILE_DIR may name -------------------------------------------------------------------------------------
def _refused_profile(value: str, tmp_path: Path) -> tuple[int, str]:
    """Start `python app.py` with WA_PROFILE_DIR=`value`; its exit code and stderr (it must not start)."""
    env = {k: v for k, v in os.environ.items() if k != "WA_API_TOKEN"}
    env.update({"WA_URL": "http://127.0.0.1:9/", "HOST": "127.0.0.1", "PORT": str(free_port()),
                "WA_PROFILE_DIR": value, "HOME": os.environ.get("HOME", "/root")})
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    return done.returncode, done.stderr


def _symlink_to_a_directory(tmp_path: Path) -> str:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    return str(tmp_path / "link")


def _regular_file(tmp_path: Path) -> str:
    (tmp_path / "profile").write_text("not a directory")
    return str(tmp_path / "profile")


def _someone_elses_files(tmp_path: Path) -> str:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "x-ray.png").write_bytes(b"\x89PNG")
    return str(tmp_path / "photos")


@pytest.mark.parametrize(("make_value", "words"), [
    (lambda _: "/", "system directory"),
    (lambda _: "~", "home directory"),
    (lambda _: "/tmp", "system directory"),
    (lambda _: "/etc", "system directory"),
    (lambda _: "/var", "system directory"),
    (lambda _: ".", "project directory"),
    (lambda _: str(REPO_ROOT), "project directory"),
    # a clone in /tmp has a system directory for a parent: then that is what the refusal names
    (lambda _: str(REPO_ROOT.parent),
     "system directory" if REPO_ROOT.parent in profile.SYSTEM_DIRS else "parent of the project directory"),
    (_symlink_to_a_directory, "symbolic link"),
    (_regular_file, "is a file"),
    (_someone_elses_files, "did not create"),
], ids=["root", "home", "tmp", "etc", "var", "dot", "project", "project-parent", "symlink", "file", "foreign"])
@pytest.mark.e2e
def test_a_profile_path_that_reset_must_not_delete_is_refused_at_startup(tmp_path, make_value, words):
    value = make_value(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, err = _refused_profile(value, tmp_path)
    assert code == 2, err
    assert words in err and "WA_PROFILE_DIR" in err, err
    assert sorted(os.listdir(tmp_path)) == before, "a refused start changed something"
    if make_value is _symlink_to_a_directory:
        assert os.listdir(tmp_path / "real") == []


@pytest.mark.e2e
@pytest.mark.browser
def test_the_profile_directory_is_private(gateway_factory, tmp_path):
    profile_dir = tmp_path / "profile"
    profile_dir.mkdir(mode=0o755)
    os.chmod(profile_dir, 0o755)  # as a careless copy would leave it
    gateway = gateway_factory(profile_dir=profile_dir)
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    assert stat.S_IMODE(os.stat(profile_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(profile_dir / PID_FILE).st_mode) == 0o600
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"


HOLD_LOCK = """
import sys, time
from wa_client.browser.profile_lock import ProfileLock
ProfileLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(120)
"""
