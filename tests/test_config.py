"""Settings: defaults in one place, environment names, command-line flags, clear errors."""

import argparse
from pathlib import Path

import pytest

from wa_client.config import ConfigError, Settings
from wa_client.config.cli import add_arguments, from_args


def test_defaults_match_the_contract():
    s = Settings.from_env({})
    assert (s.wa_url, s.host, s.port) == ("https://web.whatsapp.com/", "127.0.0.1", 3001)
    assert (s.profile_dir, s.headless, s.qr_timeout_s, s.start_timeout_s) == ("./data/profile", True, 300, 60)
    assert s.api_token is None and s.log_level == "INFO"
    assert "HeadlessChrome" not in s.user_agent and "Chrome/" in s.user_agent


def test_environment_names_are_read():
    s = Settings.from_env({"WA_URL": "http://127.0.0.1:9/", "PORT": "4000", "WA_HEADLESS": "0",
                           "WA_QR_TIMEOUT_S": "12.5", "WA_API_TOKEN": "t0k"})
    assert (s.wa_url, s.port, s.headless) == ("http://127.0.0.1:9/", 4000, False)
    assert (s.qr_timeout_s, s.api_token) == (12.5, "t0k")


@pytest.mark.parametrize(
    ("env", "message"),
    [({"PORT": "eighty"}, "PORT"), ({"PORT": "0"}, "PORT"), ({"WA_HEADLESS": "maybe"}, "WA_HEADLESS"),
     ({"WA_QR_TIMEOUT_S": "-1"}, "WA_QR_TIMEOUT_S"), ({"WA_URL": "ftp://x"}, "WA_URL"),
     ({"WA_ASYNC_MODE": "gevent"}, "WA_ASYNC_MODE")],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_flags_override_the_environment():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "5000", "--wa-url", "http://127.0.0.1:1/"])
    s = from_args(args, env={"PORT": "4000", "HOST": "127.0.0.2"})
    assert (s.port, s.wa_url, s.host) == (5000, "http://127.0.0.1:1/", "127.0.0.2")


def test_every_setting_has_a_flag_named_after_its_variable():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    help_text = parser.format_help()
    for flag in ("--wa-url", "--host", "--port", "--wa-profile-dir", "--wa-headless", "--chrome-binary",
                 "--chromedriver", "--wa-user-agent", "--wa-qr-timeout-s", "--wa-start-timeout-s",
                 "--wa-api-token", "--log-level"):
        assert flag in help_text


def test_mapping_accepts_env_names_and_rejects_unknown_keys():
    assert Settings.from_mapping({"WA_URL": "http://127.0.0.1:2/"}).wa_url == "http://127.0.0.1:2/"
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.from_mapping({"WA_NOPE": "1"})


@pytest.mark.parametrize(("content", "words"), [
    ("{not json", "not valid JSON"),
    ('["QR_CANVAS"]', "JSON object"),
    ('{"QR_CANVAS_TYPO": "canvas"}', "unknown name 'QR_CANVAS_TYPO'"),
    ('{"QR_CANVAS": ""}', "non-empty string"),
    ('{"LOADING_TEXTS": "loading"}', "list of texts"),
])
def test_a_bad_selectors_file_is_refused_in_words(tmp_path, content, words):
    path = tmp_path / "selectors.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=words):
        Settings.from_mapping({"WA_SELECTORS_FILE": str(path)})


def test_a_missing_selectors_file_stops_the_service_with_exit_2(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "app.py", "--wa-selectors-file", str(tmp_path / "none.json")],
                          capture_output=True, text=True, timeout=60, cwd=str(Path(__file__).resolve().parent.parent))
    assert done.returncode == 2
    assert "WA_SELECTORS_FILE" in done.stderr and "cannot be read" in done.stderr


def test_selector_overrides_replace_only_what_they_name(tmp_path):
    from wa_client import selectors

    path = tmp_path / "selectors.json"
    path.write_text('{"CHAT_LIST": "#chat-pane", "LOADING_TEXTS": ["Preparing"]}')
    signs = selectors.load(str(path))
    assert signs["CHAT_LIST"] == "#chat-pane" and signs["LOADING_TEXTS"] == ["preparing"]
    assert signs["QR_CANVAS"] == selectors.DEFAULTS["QR_CANVAS"]
