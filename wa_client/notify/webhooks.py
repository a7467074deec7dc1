"""Webhooks: every state change, QR and message event kept on disk, then POSTed to WA_WEBHOOK_URL, signed, in order."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from wa_client.names import PUBLIC_EVENTS, Event
from wa_client.notify.journal import Entry, EventJournal
from wa_client.notify.queue import BackgroundQueue

logger = logging.getLogger(__name__)



def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature value: HMAC-SHA256 of 'TIMESTAMP.BODY' under the shared secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """True when `signature` is what `sign` gives (a receiver's check, in constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


#: Delivery: how long an event is retried, the longest wait between two attempts, 4xx answers that are retried.
KEEP_S = 24 * 3600.0
#: A QR lives about a minute (docs/whatsapp-web.md, "The QR payload"): one still waiting after this is dead, and a
#: dead QR is never served, so it is removed unsent (not a drop: the newer QR or status behind it says the rest).
QR_KEEP_S = 60.0
MAX_BACKOFF_S = 60.0
RETRIED_4XX = frozenset({408, 429})
#: The receiver the events of WA_WEBHOOK_URL are kept for (what waits goes to the URL set now).
RECEIVER = "WA_WEBHOOK_URL"
#: Why an event was dropped (the `reason` of wa_webhook_events_dropped_total), in words for the log.
DROP_WORDS = {
    "expired": "not delivered within 24 hours",
    "refused": "the receiver refused it (a 4xx answer other than 408 or 429)",
    "full": "too many events were waiting: the oldest made room",
    "unwritable": "it could not be written to the data folder",
    "attempts": "the attempts allowed ran out",
}
DROP_REASONS = tuple(DROP_WORDS)


class WebhookSender:
    """Keeps every session event in the journal, then delivers them in order from a background worker.

    A slow or dead receiver never blocks the session: the listener only writes the event down. The
    worker retries one event with a growing backoff (0.5 s doubling, at most a minute) until the
    receiver answers `2xx`, and drops it (counted, logged, told) only once it is older than `keep_s`
    (24 h), the receiver refused it (a `4xx` other than `408`/`429`), or the bound pushed it out.
    """

    def __init__(self, url: str, secret: str | None, spawn: Callable[..., Any],
                 sleep: Callable[[float], None] = time.sleep, attempts: int | None = None, backoff_s: float = 0.5,
                 timeout_s: float = 5.0, max_backoff_s: float = MAX_BACKOFF_S, keep_s: float = KEEP_S,
                 journal: EventJournal | None = None, receiver: str = RECEIVER,
                 on_drop: Callable[[str, int], None] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.url, self.secret = url, secret or ""
        self.spawn, self.sleep, self.clock = spawn, sleep, clock
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self.max_backoff_s, self.keep_s = max_backoff_s, keep_s
        self.journal = journal if journal is not None else EventJournal()
        self.receiver, self.on_drop = receiver, on_drop
        self._lock = threading.Lock()
        self._queue: BackgroundQueue[Entry] = BackgroundQueue(spawn, self._deliver, take=self._next,
                                                              on_error=self._stopped)
        self._failures = 0  # failed attempts in a row (the backoff grows with them); back to 0 when a worker ends
        self._http = requests.Session()
        self.delivered = 0
        self.failed = 0  # dropped, for every reason (the old name of the count)
        self.dropped = dict.fromkeys(DROP_REASONS, 0)

    def __call__(self, event: str, payload: dict) -> None:
        """The client listener: write the event down, then make sure the worker runs."""
        if event not in PUBLIC_EVENTS:
            return
        event_id = uuid.uuid4().hex
        body = json.dumps({"id": event_id, "event": event, "data": payload,
                           "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds")},
                          separators=(",", ":")).encode("utf-8")
        try:
            pushed_out = self.journal.add(self.receiver, event_id, event, body, self.clock())
        except (OSError, sqlite3.Error) as exc:
            logger.error("webhook event %s could not be kept (%s)", event, type(exc).__name__)
            self._drop("unwritable", 1)
            return
        if pushed_out:
            self._drop("full", pushed_out)
        self.start()

    def keep_in(self, journal: EventJournal) -> None:
        """Keep events in `journal` from now on (what waited in the old one moves over, in order), then deliver."""
        with self._lock:
            old, self.journal = self.journal, journal
        while (entry := old.head(self.receiver)) is not None:
            journal.add(self.receiver, entry.event_id, entry.event, entry.body, entry.created)
            old.remove(entry.seq)
        self.start()

    def start(self) -> None:
        """Run the worker unless it runs (at start-up: deliver what a previous run left waiting)."""
        self._queue.kick()

    def waiting(self) -> tuple[int, float | None]:
        """(events waiting, seconds the oldest has waited or None)."""
        oldest = self.journal.oldest(self.receiver)
        return self.journal.waiting(self.receiver), None if oldest is None else max(0.0, self.clock() - oldest)

    def _next(self) -> Entry | None:
        """The oldest kept event (the worker's next), or None: then the worker ends and the next starts afresh."""
        entry = self.journal.head(self.receiver)
        if entry is None:
            self._failures = 0
        return entry

    def _stopped(self, exc: Exception) -> None:
        """The worker stopped on an error: a journal that fails waits for the next event."""
        self._failures = 0
        if not isinstance(exc, OSError | sqlite3.Error):
            logger.error("webhook delivery stopped", exc_info=exc)
            return
        logger.error("webhook delivery stopped: the kept events cannot be read or updated (%s: %s); "
                     "it starts again with the next event", type(exc).__name__, exc)

    def _deliver(self, entry: Entry) -> None:
        """The worker's step on the oldest kept event: drop it when dead, else one attempt (and a backoff)."""
        if self.clock() - entry.created > self.keep_s:  # all that expired at once (after a long stop)
            expired = self.journal.expire(self.receiver, self.clock() - self.keep_s)
            if not expired:
                self.journal.remove(entry.seq)
            self._drop("expired", expired or 1)
            return
        if entry.event == Event.QR and self.clock() - entry.created > QR_KEEP_S:
            self.journal.remove(entry.seq)
            logger.info("a QR event older than %g s was not delivered: that code has expired", QR_KEEP_S)
            return
        outcome = self._post(entry.body, self._failures)
        if outcome == "delivered":
            self.journal.remove(entry.seq)
            self.delivered += 1
            if self._failures:
                logger.info("webhook receiver answers again (after %d failed attempts)", self._failures)
            self._failures = 0
        elif outcome == "refused":
            self._forget(entry, "refused")
        else:
            self.journal.attempted(entry.seq, self.clock())
            self._failures += 1
            if self.attempts is not None and entry.attempts + 1 >= self.attempts:
                self._forget(entry, "attempts")
                self._failures = 0  # (a cap on attempts is per event: the next one starts afresh)
                return
            self.sleep(min(self.backoff_s * 2 ** (self._failures - 1), self.max_backoff_s))

    def _post(self, body: bytes, failures: int) -> str:
        """One attempt: 'delivered' (2xx), 'refused' (a 4xx but 408/429) or 'retry' (anything else)."""
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Timestamp": timestamp, "User-Agent": "wa-gateway-webhook/1"}
        if self.secret:
            headers["X-Signature"] = sign(self.secret, timestamp, body)
        say = logger.warning if failures % 60 == 0 else logger.debug  # the first, then about hourly while down
        try:  # a redirect is not followed: the body is signed for this receiver, and a 3xx is not delivery
            response = self._http.post(self.url, data=body, headers=headers, timeout=self.timeout_s,
                                       allow_redirects=False)
        except requests.RequestException as exc:
            say("webhook delivery failed (attempt %d): %s", failures + 1, type(exc).__name__)
            return "retry"
        code = response.status_code
        if 200 <= code < 300:
            return "delivered"
        if 400 <= code < 500 and code not in RETRIED_4XX:
            logger.error("webhook receiver refused an event with %d: dropped (fix the receiver)", code)
            return "refused"
        say("webhook receiver answered %d (attempt %d): retrying", code, failures + 1)
        return "retry"

    def _forget(self, entry: Entry, reason: str) -> None:
        self.journal.remove(entry.seq)
        self._drop(reason, 1)

    def _drop(self, reason: str, count: int) -> None:
        """Count and tell a drop (the words name no event's content)."""
        with self._lock:
            self.dropped[reason] += count
            self.failed += count
        logger.error("%d webhook event(s) dropped: %s", count, DROP_WORDS[reason])
        if self.on_drop is not None:
            try:
                self.on_drop(reason, count)
            except Exception:  # noqa: BLE001 - telling must not stop the delivery
                logger.exception("telling a webhook drop failed")
