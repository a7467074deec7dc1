"""The settings on the command line (one --flag per setting) and as the .env.example text."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from wa_client.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one --flag per setting, named after its environment variable (e.g. --wa-url)."""
    for f in fields(Settings):
        env = f.metadata["env"]
        flag = "--" + env.lower().replace("_", "-")
        default = f.default if f.default is not None else "unset"
        parser.add_argument(flag, dest=f.name, default=None, metavar=env,
                            help=f"{f.metadata['help']} (env {env}, default: {default})")


def from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment with command-line flags taking precedence."""
    overrides = {f.name: getattr(args, f.name, None) for f in fields(Settings)}
    base = dict(os.environ if env is None else env)
    for f in fields(Settings):
        if overrides[f.name] is not None:
            base[f.metadata["env"]] = overrides[f.name]
    return Settings.from_env(base)


ENV_EXAMPLE_HEADER = """\
# The WhatsApp gateway's settings, each with its default (made by `python app.py --print-env-example`).
# Copy to .env (or /etc/wa-gateway/env for deploy/wa-gateway.service) and change what you need;
# every name is also a command-line flag of app.py (WA_QR_TIMEOUT_S -> --wa-qr-timeout-s).
"""


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return f'"{text}"' if " " in text else text


def env_example() -> str:
    """The .env.example text: every setting, its meaning and its default (unset ones commented out)."""
    lines = [ENV_EXAMPLE_HEADER]
    for f in fields(Settings):
        env = f.metadata["env"]
        lines.append(f"# {f.metadata['help']}")
        lines.append(f"# {env}=" if f.default is None else f"{env}={_env_value(f.default)}")
        lines.append("")
    return "\n".join(lines)
