"""Tell a person when WhatsApp is lost: Apprise notifications (mail, chat, JSON...) in plain words.

Sent from a background worker (the session never waits on a mail server), at most one message per
kind of event every 10 minutes, and never with a QR payload or a token in it: the words are fixed
sentences plus the session's own `error` text, which never holds either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from wa_client.config.values import apprise_module, split_urls
from wa_client.names import Event
from wa_client.notify.queue import BackgroundQueue
from wa_client.states import Reason, State

logger = logging.getLogger(__name__)

RATE_LIMIT_S = 600.0
#: At most this many messages wait to be sent (the oldest falls out past it).
QUEUE_SIZE = 20
TITLE = "Clinic WhatsApp gateway: {what}"
BLOCKS = frozenset({Reason.TOS_BLOCK, Reason.SMB_TOS_BLOCK, Reason.PROXYBLOCK, Reason.BLOCKED})

#: kind -> (title, first sentence)
MESSAGES = {
    "logout": ("WhatsApp was logged out", "WhatsApp was logged out ({how}). Nothing reconnects by itself: open the "
               "gateway's page and click Generate QR, then scan the code with the clinic phone."),
    "not_linked": ("WhatsApp is not linked", "The gateway started without a valid WhatsApp login, so WhatsApp is "
                   "not connected. Open the gateway's page and click Generate QR, then scan the code."),
    "webhook_dropped": ("webhook events dropped", "The gateway dropped events meant for the CRM's webhook "
                        "receiver (WA_WEBHOOK_URL): it could not deliver them. Check that the receiver is up and "
                        "answers 2xx; the CRM can read missed replies with GET /messages?direction=in&after=SEQ, "
                        "and wa_webhook_events_dropped_total in /metrics counts the drops by reason."),
    "blocked": ("WhatsApp is blocked", "WhatsApp refused the session."),
    "passkey_required": ("WhatsApp asks for a passkey check", "WhatsApp asked the gateway's browser for a passkey "
                         "check after the phone linked it, and the link could not finish."),
    "failed": ("the WhatsApp session failed", "The WhatsApp session stopped with an error."),
    "gave_up": ("gave up restarting", "The gateway's browser kept crashing and the gateway stopped restarting it."),
    "reachout_timelocked": ("new conversations locked", "WhatsApp put the clinic's number under its reach-out time "
                            "lock: first messages to patients who never wrote to the clinic wait until the lock ends "
                            "(replies in existing conversations still go). Check WhatsApp on the clinic phone."),
    "sending_paused": ("sending paused", "The gateway stopped sending WhatsApp messages to protect the clinic's "
                       "number. Messages wait in the queue until someone resumes sending."),
}


def kind_of(status: dict, restart_on_crash: bool) -> str | None:
    """Which notification a status asks for, or None (most statuses ask for none)."""
    state, reason = status["state"], status["reason"]
    if state == State.DISCONNECTED and reason in (Reason.LOGOUT, Reason.LOGOUT_REQUESTED):
        return "logout"
    if state == State.IDLE and reason == Reason.NOT_LINKED:
        return "not_linked"
    if state != State.FAILED:
        return None
    if reason in BLOCKS:
        return "blocked"
    if reason == Reason.PASSKEY_REQUIRED:
        return "passkey_required"
    if reason == Reason.BROWSER_CRASHED and restart_on_crash:
        return None  # the gateway restarts it; a give-up is told on its own
    return "failed"


def words(kind: str, status: dict | None) -> tuple[str, str]:
    """(title, body) of a notification."""
    title, text = MESSAGES[kind]
    status = status or {}
    how = "from the CRM or the gateway's page" if status.get("reason") == Reason.LOGOUT_REQUESTED else "from the phone"
    body = text.format(how=how)
    if status.get("error"):
        body += "\n\n" + status["error"]
    if status.get("since"):
        body += f"\n\n(state {status['state']}, reason {status['reason']}, since {status['since']})"
    return TITLE.format(what=title), body


class Notifier:
    """A client listener: queues a message when WhatsApp is lost; a background worker sends it."""

    def __init__(self, urls: str, spawn: Callable[..., Any], restart_on_crash: bool = False,
                 clock: Callable[[], float] = time.monotonic, rate_limit_s: float = RATE_LIMIT_S) -> None:
        apprise = apprise_module()
        asset = apprise.AppriseAsset(async_mode=False, storage_mode="memory")  # sequential: eventlet-friendly
        self.apprise = apprise.Apprise(asset=asset)
        for url in split_urls(urls):
            self.apprise.add(url)
        self.spawn, self.clock, self.rate_limit_s = spawn, clock, rate_limit_s
        self.restart_on_crash = restart_on_crash
        self._queue: BackgroundQueue[tuple[str, str]] = BackgroundQueue(spawn, self._send, maxlen=QUEUE_SIZE)
        self._last: dict[str, float] = {}
        self._seen: tuple | None = None
        self._lock = threading.Lock()
        self.counts = {"sent": 0, "failed": 0, "suppressed": 0}

    def __call__(self, event: str, payload: dict) -> None:
        """React to the session's events: never blocks, never raises."""
        if event == Event.RECOVERY_GAVE_UP:
            self.tell("gave_up", None)
        elif event == Event.WEBHOOK_DROPPED:  # fixed words: never an event's content
            self.tell("webhook_dropped", None)
        elif event == Event.OUTBOX_PAUSED:  # its words are fixed sentences: no phone number, no message text
            self.tell("sending_paused", {"error": payload.get("error")})
        elif event == Event.OUTBOX_TIMELOCKED:  # fixed sentences and the lock's end: no number, no text
            until = payload.get("until") or "at a time WhatsApp did not say"
            self.tell("reachout_timelocked", {"error": f"The lock ends {until}."})
        elif event == Event.STATUS and (kind := kind_of(payload, self.restart_on_crash)):
            with self._lock:
                ending = (payload["since"], payload["state"], payload["reason"])
                if ending == self._seen:
                    return  # the same ending again (new words for it)
                self._seen = ending
            self.tell(kind, payload)

    def tell(self, kind: str, status: dict | None) -> bool:
        """Queue a `kind` message unless one went out less than 10 minutes ago; True when queued."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.rate_limit_s:
                self.counts["suppressed"] += 1
                logger.info("notification %r not sent: one went out %.0f s ago", kind, now - last)
                return False
            self._last[kind] = now
            self._queue.add(words(kind, status))  # under the lock: messages wait in the order they were allowed
        self._queue.kick()
        return True

    def _send(self, message: tuple[str, str]) -> None:
        """The background worker's step: send one message through Apprise and count the outcome."""
        title, body = message
        try:
            sent = bool(self.apprise.notify(title=title, body=body))
        except Exception:  # noqa: BLE001 - a broken notifier must not stop the worker
            logger.exception("notification failed")
            sent = False
        with self._lock:
            self.counts["sent" if sent else "failed"] += 1
        (logger.info if sent else logger.warning)("notification %r %s", title, "sent" if sent else "failed")
