"""The simulator's knobs: one dataclass, its defaults, the --fast preset and their validation."""
from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimConfig:
    """Timings and switches of the simulated WhatsApp Web (real timings by default)."""

    startup_s: float = 1.5
    first_ref_s: float = 60.0
    next_ref_s: float = 20.0
    refs_per_cycle: int = 6
    loading_s: float = 3.0
    pairing_code_s: float = 180.0
    pairing_codes_per_cycle: int = 5
    poll_ms: int = 100
    never_show_qr: bool = False
    # WhatsApp's modules (window.require) and the ways the real page drifts.
    modules: bool = True
    modules_delay_s: float = 0.3
    dom_drift: bool = False
    # Screens and variants.
    loading_theme: str = "stages"
    logout_style: str = "post_logout"
    logout_reason: int = 0
    screen: str = ""
    conflict_variant: str = "computer"
    stay_logged_in_default: bool = True
    payload_variant: str = "five"
    whats_new: bool = False
    # Messaging: who has WhatsApp, how acks advance, what the server refuses.
    not_on_whatsapp: tuple[str, ...] = ("15550000000",)  # numbers (digits) without WhatsApp
    lid_numbers: tuple[str, ...] = ()  # numbers whose queryWidExists answers an @lid id
    ack_delivered_after_s: float = 1.0
    ack_read_after_s: float | None = 3.0  # None: never read
    read_ack_event: bool = True  # False: the read ack changes without a change:ack event
    send_fails: bool = False  # the server rejects sends (ack -1)
    restricted: bool = False  # "Your account may be restricted soon…", and sends are rejected
    exists_delay_s: float = 0.0  # how long WhatsApp's server takes to answer queryWidExists
    # The late-2026 site (feature "site"): each knob's default is December 2026; the value in the comment
    # restores the site of mid-2026.
    debug_global: bool = False  # True: window.Debug.VERSION is set along with the loader
    modules_on_demand: bool = True  # False: every module is there as soon as window.require is
    late_modules_s: float = 0.4  # on demand: how long after the loader the late modules register
    logout_event: str = "logout_from_bridge"  # "logout": Cmd's old event; "none": Cmd fires nothing
    backend_event_bus: bool = True  # False: no WAWebBackendEventBus
    stream_model: bool = True  # False: no WAWebStreamModel (Stream.mode)
    passkey_check: bool = False  # True: "Quick security check with Passkey" after every link
    # Messaging, December 2026 (helper "chat"); each older behaviour is a knob value.
    msg_key_serialized: bool = False  # True: keys keep `_serialized` and ids are short (mid-2026)
    messaging_modules_delay_s: float = 3.0  # the messaging modules register this long after the chats show
    fn_shapes: str = "object"  # loadEarlierMsgs({chat}); "positional": (chat, msgs) (mid-2026); "rest": neither
    history_delay_s: float = 2.0  # a page that loads again gets its recent messages this long after the chats
    reachout_timelock_until_s: float = 0.0  # the reach-out time lock lasts this long from when it is set (0: none)
    lid_phone_known: bool = True  # WAWebApiContact.getPhoneNumber knows the number behind an @lid
    # Listen, don't poll: a heavy live page (300 chats, an open chat of 300 messages, presence every 0.5 s).
    heavy: bool = False

    def to_dict(self) -> dict[str, object]:
        """The knobs as a JSON-ready dict."""
        return asdict(self)

    def with_overrides(self, overrides: Mapping[str, object]) -> SimConfig:
        """A copy with `overrides` applied; raises ConfigError on unknown keys or wrong types.

        Switching `dom_drift` without naming `logout_style` also picks that mode's usual logout:
        a plain reload when the DOM drifts, the post_logout URL otherwise.
        """
        checked = {name: _checked(name, value) for name, value in overrides.items()}
        if "dom_drift" in checked and "logout_style" not in checked:
            checked["logout_style"] = "reload" if checked["dom_drift"] else "post_logout"
        return replace(self, **checked)


# The preset the tests and `make demo` use: a whole QR cycle in four seconds.
FAST: dict[str, object] = {
    "startup_s": 0.3,
    "first_ref_s": 2.0,
    "next_ref_s": 1.0,
    "refs_per_cycle": 3,
    "loading_s": 0.5,
    "pairing_code_s": 2.0,
    "pairing_codes_per_cycle": 3,
    "ack_delivered_after_s": 0.3,
    "ack_read_after_s": 0.8,
    "messaging_modules_delay_s": 0.5,
    "history_delay_s": 0.5,
}

#: The site as it was until mid-2026: every late-2026 knob at its old value (the default is December 2026).
MID_2026: dict[str, object] = {
    "debug_global": True,
    "modules_on_demand": False,
    "logout_event": "logout",
    "backend_event_bus": False,
    "stream_model": False,
    "msg_key_serialized": True,
    "messaging_modules_delay_s": 0.0,
    "fn_shapes": "positional",
}

KNOBS: dict[str, type] = {f.name: type(f.default) for f in fields(SimConfig)}
NUMBER_LISTS = frozenset({"not_on_whatsapp", "lid_numbers"})  # lists of digit strings (CLI: comma-separated)
NULLABLE = frozenset({"ack_read_after_s"})  # null means "never" (CLI: "none")

# Lifetimes of zero would rotate on every poll; counts of zero would never show anything.
_MINIMUM: dict[str, float] = {
    "first_ref_s": 0.05,
    "next_ref_s": 0.05,
    "pairing_code_s": 0.05,
    "refs_per_cycle": 1,
    "pairing_codes_per_cycle": 1,
    "poll_ms": 10,
}


# Knobs that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "loading_theme": ("stages", "classic"),
    "logout_style": ("post_logout", "reload"),
    "screen": ("", "offline", "tos_block", "smb_tos_block", "proxyblock", "deprecated_version", "unknown",
               "other_tab", "service_unavailable", "unknown_opening"),
    "conflict_variant": ("computer", "window"),
    "payload_variant": ("five", "six", "wa_me", "four"),
    "logout_event": ("logout_from_bridge", "logout", "none"),
    "fn_shapes": ("object", "positional", "rest"),
}


class ConfigError(ValueError):
    """A knob that does not exist or a value of the wrong type or range."""


def _checked(name: str, value: object) -> object:
    """`value` converted to the knob's type, or ConfigError."""
    kind = KNOBS.get(name)
    if kind is None:
        raise ConfigError(f"unknown knob {name!r}; known: {', '.join(KNOBS)}")
    if name in NUMBER_LISTS:
        if isinstance(value, str):  # the command line: "155500,155501"
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.isdigit() for v in value):
            raise ConfigError(f"{name} must be a list of phone numbers as digit strings")
        return tuple(value)
    if name in NULLABLE and (value is None or value == "none"):
        return None
    if name in NULLABLE and isinstance(value, str):  # the command line
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number or null") from None
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if kind is str:
        choices = CHOICES[name]
        if not isinstance(value, str) or value not in choices:
            shown = ", ".join(repr(choice) for choice in choices)
            raise ConfigError(f"{name} must be one of {shown}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number")
    if kind is int and not (isinstance(value, int) or float(value).is_integer()):
        raise ConfigError(f"{name} must be a whole number")
    if not math.isfinite(value) or value < _MINIMUM.get(name, 0):
        raise ConfigError(f"{name} must be at least {_MINIMUM.get(name, 0)}")
    return kind(value)


def _cli_bool(text: str) -> bool:
    """'true'/'false' (and friends) from the command line."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """One --knob-name flag per knob, plus --fast."""
    parser.add_argument("--fast", action="store_true", help="fast timings for tests and demos")
    for name, kind in KNOBS.items():
        flag = "--" + name.replace("_", "-")
        if name in NUMBER_LISTS or name in NULLABLE:
            parser.add_argument(flag, dest=name, type=str, default=None)
        elif kind is bool:
            parser.add_argument(flag, dest=name, type=_cli_bool, nargs="?", const=True, default=None)
        elif kind is str:
            parser.add_argument(flag, dest=name, choices=CHOICES[name], default=None)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None)


def overrides_from_cli(args: argparse.Namespace) -> dict[str, object]:
    """The knob overrides that the command line asks for (--fast first, explicit flags on top)."""
    overrides: dict[str, object] = dict(FAST) if args.fast else {}
    overrides.update({name: getattr(args, name) for name in KNOBS if getattr(args, name) is not None})
    return overrides
