"""The command line: `python app.py --help`, refusals before binding, and the async mode read before imports."""

from __future__ import annotations

import tempfile

import pytest

import app as app_module
from tests.gateway import run_app
from wa_client.config import Settings
from web.server import guards, lifecycle


def test_help_lists_every_setting_with_its_default():
    result = run_app("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for field in Settings.__dataclass_fields__.values():
        env = field.metadata["env"]
        assert f"--{env.lower().replace('_', '-')}" in text
        assert f"env {env}, default:" in text


def test_refuses_a_remote_host_without_a_token():
    result = run_app("--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 2
    assert "WA_API_TOKEN" in result.stderr


def test_bad_setting_exits_2_with_a_message():
    result = run_app(PORT="not-a-port")
    assert result.returncode == 2
    assert "PORT" in result.stderr


# -- configuration and the command line --------------------------------------------------------
@pytest.mark.parametrize("argv, env, expected", [
    ([], {}, "eventlet"), ([], {"WA_ASYNC_MODE": "threading"}, "threading"),
    (["--wa-async-mode", "threading"], {}, "threading"), (["--wa-async-mode=Threading"], {}, "threading"),
    (["--wa-async-mode", "eventlet"], {"WA_ASYNC_MODE": "threading"}, "eventlet"),
])
def test_async_mode_is_read_before_imports(argv, env, expected):
    assert app_module._wanted_async_mode(argv, env) == expected


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
    ("192.168.1.10", False), ("::", False), ("clinic-server", False),
])
def test_loopback_detection(host, loopback):
    assert lifecycle.is_loopback(host) is loopback


def test_create_app_accepts_settings_and_env_names():
    with tempfile.TemporaryDirectory() as home:
        flask_app = app_module.create_app({"WA_API_TOKEN": "x", "WA_PROFILE_DIR": f"{home}/p",
                                           "async_mode": "threading"})
        assert flask_app.config[guards.SETTINGS_KEY].api_token == "x"
        settings = Settings.from_mapping({"profile_dir": f"{home}/q", "async_mode": "threading"})
        assert app_module.create_app(settings).config[guards.SETTINGS_KEY] is settings
