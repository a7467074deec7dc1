"""The gateway's settings: one dataclass, read from the environment or the command line."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from wa_client import proxy, selectors
from wa_client.config.values import ConfigError, check_urls, load_timezone, parse_gap, parse_send_hours

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)


def _meta(env: str, help_text: str) -> dict[str, Any]:
    return {"env": env, "help": help_text}


@dataclass(frozen=True)
class Settings:
    """Every setting of the gateway; the environment names double as command-line flags."""

    wa_url: str = field(default="https://web.whatsapp.com/", metadata=_meta("WA_URL", "the page to drive"))
    host: str = field(default="127.0.0.1", metadata=_meta("HOST", "address to listen on"))
    port: int = field(default=3001, metadata=_meta("PORT", "port to listen on"))
    profile_dir: str = field(
        default="./data/profile", metadata=_meta("WA_PROFILE_DIR", "the Chromium profile (the saved login)")
    )
    headless: bool = field(default=True, metadata=_meta("WA_HEADLESS", "run Chromium headless (1/0)"))
    chrome_binary: str | None = field(
        default=None, metadata=_meta("CHROME_BINARY", "path to Chromium (found on the machine when unset)")
    )
    chromedriver: str | None = field(
        default=None, metadata=_meta("CHROMEDRIVER", "path to chromedriver (found on the machine when unset)")
    )
    user_agent: str = field(
        default=DEFAULT_USER_AGENT, metadata=_meta("WA_USER_AGENT", "User-Agent sent instead of the headless one")
    )
    qr_timeout_s: float = field(default=300.0, metadata=_meta("WA_QR_TIMEOUT_S", "how long the QR state may last"))
    start_timeout_s: float = field(
        default=60.0, metadata=_meta("WA_START_TIMEOUT_S", "how long starting may last before failed")
    )
    api_token: str | None = field(
        default=None, metadata=_meta("WA_API_TOKEN", "when set, required by every endpoint but /healthz")
    )
    log_level: str = field(default="INFO", metadata=_meta("LOG_LEVEL", "logging level"))
    poll_interval_s: float = field(
        default=0.2, metadata=_meta("WA_POLL_INTERVAL_S", "how often the watcher reads the page (while it "
                                    "listens: the longest a command waits for the worker)")
    )
    listen: bool = field(
        default=True, metadata=_meta("WA_LISTEN", "listen to the page for changes instead of reading it every "
                                     "poll, once the QR or the chats show (1/0)")
    )
    probe_interval_s: float = field(
        default=2.5, metadata=_meta("WA_PROBE_INTERVAL_S", "while listening: how often the whole page is read "
                                    "anyway (the safety net)")
    )
    async_mode: str = field(
        default="eventlet", metadata=_meta("WA_ASYNC_MODE", "Socket.IO async mode: eventlet or threading")
    )
    cors_origins: str = field(
        default="", metadata=_meta("WA_CORS_ORIGINS", "comma-separated extra origins allowed to call the API")
    )
    trusted_proxies: str = field(
        default="",
        metadata=_meta("WA_TRUSTED_PROXIES", "reverse proxies (IPs or networks) whose X-Forwarded-Proto is believed"),
    )
    allow_insecure_remote: bool = field(
        default=False,
        metadata=_meta(
            "WA_I_UNDERSTAND_THE_QR_IS_EXPOSED",
            "listen on a non-loopback address without WA_API_TOKEN (not recommended)",
        ),
    )
    takeover_on_conflict: bool = field(
        default=True, metadata=_meta("WA_TAKEOVER_ON_CONFLICT", "click 'Use here' when WhatsApp is open elsewhere")
    )
    proxy_url: str | None = field(
        default=None,
        metadata=_meta("WA_PROXY_URL", "send Chromium's traffic to WhatsApp through this proxy (http://, https:// or "
                       "socks5://host:port; no credentials)"),
    )
    remote_url: str | None = field(
        default=None, metadata=_meta("WA_REMOTE_URL", "run Chromium on a Selenium Grid / chromedriver server")
    )
    remote_capabilities: str | None = field(
        default=None,
        metadata=_meta("WA_REMOTE_CAPABILITIES", 'extra capabilities for WA_REMOTE_URL as JSON, e.g. '
                       '{"clinic:node": "reception-1"} (pins the session to the Grid node with that stereotype)'),
    )
    webhook_url: str | None = field(
        default=None, metadata=_meta("WA_WEBHOOK_URL", "receives a POST for every state change and QR")
    )
    webhook_secret: str | None = field(
        default=None, metadata=_meta("WA_WEBHOOK_SECRET", "HMAC-SHA256 key for the X-Signature header")
    )
    selectors_file: str | None = field(
        default=None,
        metadata=_meta("WA_SELECTORS_FILE", "JSON file overriding WhatsApp Web selectors and texts (no code change)"),
    )
    autostart: bool = field(
        default=False, metadata=_meta("WA_AUTOSTART", "on service start, reconnect a saved login (never shows a QR)")
    )
    restart_on_crash: bool = field(
        default=False, metadata=_meta("WA_RESTART_ON_CRASH", "start the browser again after it crashed (backoff)")
    )
    restart_backoff_s: float = field(
        default=5.0, metadata=_meta("WA_RESTART_BACKOFF_S", "first wait before a restart after a crash (doubles)")
    )
    notify_urls: str = field(
        default="", metadata=_meta("WA_NOTIFY_URLS", "Apprise URLs told when WhatsApp is lost (space-separated)")
    )
    log_format: str = field(default="text", metadata=_meta("LOG_FORMAT", "log lines: text or json"))
    data_dir: str | None = field(
        default=None,
        metadata=_meta("WA_DATA_DIR", "the gateway's own files that outlive a reset: the message outbox "
                       "(default: the directory holding WA_PROFILE_DIR)"),
    )
    send_gap_s: str = field(
        default="15-45",
        metadata=_meta("WA_SEND_GAP_S", "seconds between two sends: a number, or MIN-MAX drawn at random; 0 for none"),
    )
    send_per_minute: int = field(
        default=4, metadata=_meta("WA_SEND_PER_MINUTE", "at most this many sends in any 60 s (0: no cap)")
    )
    send_per_day: int = field(
        default=200, metadata=_meta("WA_SEND_PER_DAY", "at most this many sends in any 24 h (0: no cap)")
    )
    send_pause_after_failures: int = field(
        default=3,
        metadata=_meta("WA_SEND_PAUSE_AFTER_FAILURES", "pause sending (and tell a person) after this many failed "
                       "sends in a row; POST /outbox/resume resumes (0: never pause on failures)"),
    )
    contact_cache_s: float = field(
        default=86400.0, metadata=_meta("WA_CONTACT_CACHE_S", "how long GET /contacts/{phone} remembers an answer")
    )
    # -- reminders: quiet hours and opt-outs (wa_client/messaging/policy.py, wa_client/messaging/opt_outs.py) --
    send_hours: str = field(
        default="",
        metadata=_meta("WA_SEND_HOURS", "when messages may go out: HH:MM-HH:MM, or per weekday like "
                       "'Mon-Fri 08:00-19:00,Sat 08:00-12:00'; outside them messages wait (empty: any hour)"),
    )
    timezone: str = field(
        default="", metadata=_meta("WA_TIMEZONE", "the clinic's time zone for WA_SEND_HOURS, an IANA name like "
                                   "America/Sao_Paulo (empty: the machine's)"),
    )
    opt_out_words: str = field(
        default="STOP,UNSUBSCRIBE,PARAR,SAIR,BAJA",
        metadata=_meta("WA_OPT_OUT_WORDS", "a patient whose whole message is one of these words (comma-separated; "
                       "case and accents ignored) gets no more messages"),
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables, then apply keyword overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if name in env and env[name] != "":
                values[f.name] = _parse(f, env[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a mapping of field names (or env names) to values."""
        by_env = {f.metadata["env"]: f.name for f in fields(cls)}
        known = {f.name: f for f in fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            name = by_env.get(key, key)
            if name not in known:
                raise ConfigError(f"unknown setting {key!r}")
            clean[name] = _parse(known[name], value) if isinstance(value, str) else value
        settings = cls(**clean)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError for values that cannot work."""
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be between 1 and 65535, not {self.port}")
        for name in ("qr_timeout_s", "start_timeout_s", "poll_interval_s", "probe_interval_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env_name(name)} must be a positive number of seconds")
        if self.async_mode not in ("eventlet", "threading"):
            raise ConfigError("WA_ASYNC_MODE must be 'eventlet' or 'threading'")
        if self.proxy_url and (problem := proxy.problem(self.proxy_url)):
            raise ConfigError(problem)
        if not self.wa_url.startswith(("http://", "https://")):
            raise ConfigError("WA_URL must start with http:// or https://")
        if self.restart_backoff_s <= 0:
            raise ConfigError("WA_RESTART_BACKOFF_S must be a positive number of seconds")
        if self.log_format not in ("text", "json"):
            raise ConfigError("LOG_FORMAT must be 'text' or 'json'")
        if self.notify_urls.strip():
            check_urls(self.notify_urls)
        self._validate_sending()
        self.remote_capability_map  # noqa: B018 - raises ConfigError for bad JSON
        try:
            selectors.load(self.selectors_file)
        except selectors.SelectorsError as exc:
            raise ConfigError(str(exc)) from None

    def _validate_sending(self) -> None:
        parse_gap(self.send_gap_s)
        for name in ("send_per_minute", "send_per_day", "send_pause_after_failures"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_env_name(name)} must be 0 (none) or a positive whole number")
        if self.contact_cache_s < 0:
            raise ConfigError("WA_CONTACT_CACHE_S must be 0 or a positive number of seconds")
        parse_send_hours(self.send_hours)
        load_timezone(self.timezone)

    @property
    def remote_capability_map(self) -> dict[str, Any]:
        """WA_REMOTE_CAPABILITIES as a dict (empty when unset); ConfigError when it is not a JSON object."""
        if not self.remote_capabilities:
            return {}
        try:
            caps = json.loads(self.remote_capabilities)
        except ValueError as exc:
            raise ConfigError(f"WA_REMOTE_CAPABILITIES is not valid JSON ({exc}); write it like "
                              '{"clinic:node": "reception-1"}') from None
        if not isinstance(caps, dict) or not caps:
            raise ConfigError('WA_REMOTE_CAPABILITIES must be a JSON object, like {"clinic:node": "reception-1"}')
        if "goog:chromeOptions" in caps:
            raise ConfigError("WA_REMOTE_CAPABILITIES must not set goog:chromeOptions: the gateway sets Chromium's "
                              "options itself")
        return caps

    @property
    def cors_origin_list(self) -> list[str]:
        """The extra allowed origins, as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def _env_name(field_name: str) -> str:
    return next(f.metadata["env"] for f in fields(Settings) if f.name == field_name)


def _parse(f: dataclasses.Field, raw: str) -> Any:
    kind = str(f.type)
    try:
        if "bool" in kind:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        raise ConfigError(f"{f.metadata['env']}={raw!r} is not a valid {kind.split(' ')[0]}") from None
    return raw

