"""wa_client/browser/procs.py with real processes: descendants, process groups, kill_tree, zombies."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wa_client.browser import procs


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
    proc.stdout.close()


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
