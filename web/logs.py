"""LOG_FORMAT: text (the default) or json, one object per line for log collectors (journald, Loki, ELK).

A JSON line: {"time": UTC ISO-8601, "level", "logger", "message"} plus "session" (the state and
reason when the line was written) for the session's own loggers, and "exception" when there is one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from wa_client import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SESSION_LOGGERS = ("wa_client", "wa_gateway", "web")

SessionFields = Callable[[], dict]


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self, session_fields: SessionFields | None = None) -> None:
        super().__init__()
        self.session_fields = session_fields

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (never more than one line: newlines are escaped by JSON)."""
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.session_fields is not None and record.name.split(".", 1)[0] in SESSION_LOGGERS:
            try:
                line["session"] = self.session_fields()
            except Exception:  # noqa: BLE001 - a log line must never fail
                pass
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """Set up the root logger as LOG_LEVEL and LOG_FORMAT say."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())


def attach_session(session_fields: SessionFields) -> None:
    """Let JSON lines carry the session's state from now on (no effect on text logs)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.session_fields = session_fields
