"""The browser's temp dirs a hard-killed gateway left in /tmp: tagged with their profile, removed by its next start."""

from __future__ import annotations

import tempfile

from wa_client.browser import profile


def test_the_next_start_removes_only_this_profiles_strays(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ours, other = tmp_path / "clinic" / "profile", tmp_path / "another" / "profile"
    left = [tempfile.mkdtemp(prefix=profile.tmp_prefix(ours)) for _ in range(2)]
    (tmp_path / left[0] / "org.chromium.Chromium.x").mkdir()  # as Chromium leaves it
    kept = tempfile.mkdtemp(prefix=profile.tmp_prefix(other))
    unrelated = tempfile.mkdtemp(prefix=profile.TMP_PREFIX)  # an older gateway's, untagged: not provably ours

    assert profile.remove_stray_tmp(ours, sleep=lambda s: None) == 2

    assert not any((tmp_path / name).exists() for name in left)
    assert (tmp_path / kept).is_dir() and (tmp_path / unrelated).is_dir()


def test_a_profile_named_two_ways_has_one_tag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert profile.tmp_prefix("data/profile") == profile.tmp_prefix(tmp_path / "data" / "profile")
    assert profile.tmp_prefix("data/profile").startswith(profile.TMP_PREFIX)
