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
