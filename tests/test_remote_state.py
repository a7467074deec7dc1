"""wa_client/browser/remote.py without a browser: the link's node-side profile path and the origins a reset clears."""

from __future__ import annotations

import os

import pytest

from wa_client import ConfigError, Settings
from wa_client.browser import remote


def test_a_link_keeps_its_node_profile_until_it_ends(tmp_path):
    first = remote.node_profile(tmp_path)
    assert first.startswith(str(tmp_path) + os.sep + remote.LINK_PREFIX)
    assert remote.node_profile(tmp_path) == first  # a restart reuses it
    assert oct((tmp_path / remote.STATE_FILE).stat().st_mode & 0o777) == "0o600"
    assert remote.end_link(Settings(), tmp_path, cleared=False) is None  # never used: nothing to clear
    assert remote.node_profile(tmp_path) != first


def test_a_used_link_that_could_not_be_cleared_is_reported_and_still_forgotten(tmp_path):
    path = remote.node_profile(tmp_path)
    remote.mark_used(tmp_path, path)
    unreachable = Settings(remote_url="http://127.0.0.1:9", wa_url="http://127.0.0.1:9/")
    words = remote.end_link(unreachable, tmp_path, cleared=False)
    assert words and path in words and "could not be cleared" in words
    assert remote.node_profile(tmp_path) != path


def test_the_origins_cleared_include_wa_url_the_page_and_whatsapp():
    origins = remote.origins_to_clear("http://127.0.0.1:3002/", "http://127.0.0.1:3002/?post_logout=1")
    assert origins[0] == "http://127.0.0.1:3002"
    assert "https://web.whatsapp.com" in origins
    assert len(origins) == len(set(origins))


@pytest.mark.parametrize("value", ["{not json", "[1]", "{}", '{"goog:chromeOptions": {}}'])
def test_bad_remote_capabilities_are_refused(value):
    with pytest.raises(ConfigError, match="WA_REMOTE_CAPABILITIES"):
        Settings.from_mapping({"remote_capabilities": value})
