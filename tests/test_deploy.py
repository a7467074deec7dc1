"""deploy/wa-gateway.service passes `systemd-analyze verify`, and .env.example lists every setting with its default."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import fields

import pytest

from tests.gateway import REPO_ROOT
from wa_client import Settings
from wa_client.config.cli import env_example

UNIT = REPO_ROOT / "deploy" / "wa-gateway.service"


def _verify(unit_text: str, tmp_path) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed on this machine (apt-get install systemd)")
    unit = tmp_path / "wa-gateway.service"
    unit.write_text(unit_text.replace("/opt/wa-gateway", str(REPO_ROOT)))  # ExecStart must exist to verify
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


def test_the_systemd_unit_verifies(tmp_path):
    text = UNIT.read_text()
    done = _verify(text, tmp_path)
    assert done.returncode == 0 and "wa-gateway.service" not in done.stderr, done.stderr
    for line in ("Restart=on-failure", "RestartPreventExitStatus=2", "StateDirectory=wa-gateway",
                 "EnvironmentFile=-/etc/wa-gateway/env", "User=wa-gateway", "KillMode=mixed"):
        assert line in text.splitlines()


def test_systemd_analyze_catches_a_broken_unit(tmp_path):
    done = _verify(UNIT.read_text().replace("Restart=on-failure", "Restart=sometimes"), tmp_path)
    assert "sometimes" in done.stderr  # a warning the good unit must not produce


def test_env_example_is_generated_from_the_settings():
    assert (REPO_ROOT / ".env.example").read_text() == env_example(), \
        "regenerate it: .venv/bin/python app.py --print-env-example > .env.example"
    printed = subprocess.run([sys.executable, "app.py", "--print-env-example"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=60)
    assert printed.returncode == 0 and printed.stdout == env_example()


def test_env_example_lists_every_setting_with_its_default():
    settings = re.findall(r"^(?:# )?([A-Z_]+)=(.*)$", env_example(), flags=re.MULTILINE)
    values = {name: value.strip('"') for name, value in settings}
    assert set(values) == {f.metadata["env"] for f in fields(Settings)}
    assert Settings.from_env({k: v for k, v in values.items() if v}) == Settings()
