"""Process bookkeeping and the profile directory, with real processes and real files."""

import os
import stat
import subprocess
import sys

import pytest

from wa_client import procs, profile


@pytest.fixture
def sleeper():
    """A child that starts a grandchild, in its own process group, killed at teardown."""
    proc = subprocess.Popen([sys.executable, "-c", "import subprocess,time; subprocess.Popen(['sleep','60']); "
                             "print('ready', flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    yield proc
    procs.kill_tree(procs.group_members(proc.pid) | {proc.pid}, grace=0)
    proc.wait(5)


def test_descendants_and_group_find_the_grandchild(sleeper):
    below = procs.descendants(sleeper.pid)
    assert len(below) == 1
    assert below <= procs.group_members(sleeper.pid)


def test_kill_tree_leaves_nothing_alive(sleeper):
    tree = procs.descendants(sleeper.pid) | {sleeper.pid}
    assert procs.kill_tree(tree, grace=0.5) == set()
    sleeper.wait(5)
    assert not any(procs.alive(p) for p in tree)


def test_a_zombie_is_not_alive():
    child = subprocess.Popen(["true"])
    # not reaped yet: it stays a zombie until wait(); alive() must already say no
    procs.wait_gone([child.pid], timeout=5)
    assert not procs.alive(child.pid)
    child.wait()


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
