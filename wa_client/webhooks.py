"""Webhooks: every state change, QR and message event POSTed to WA_WEBHOOK_URL, signed, retried, never blocking."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

logger = logging.getLogger(__name__)

#: The session events a webhook receives.
WEBHOOK_EVENTS = frozenset({"status", "qr", "authenticated", "ready", "disconnected",
                            "message.status", "message.received", "outbox.paused",
                            "message.cancelled", "contact.opted_out"})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature value: HMAC-SHA256 of 'TIMESTAMP.BODY' under the shared secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """True when `signature` is what `sign` gives (a receiver's check, in constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSender:
    """Queues session events and delivers them in order from a background worker.

    A slow or dead receiver never blocks the session: the listener only appends to a bounded
    queue (the oldest event is dropped, and logged, when it overflows).
    """

    def __init__(self, url: str, secret: str | None, spawn: Callable[..., Any],
                 sleep: Callable[[float], None] = time.sleep, attempts: int = 6, backoff_s: float = 0.5,
                 timeout_s: float = 5.0, max_queue: int = 500) -> None:
        self.url, self.secret = url, secret or ""
        self.spawn, self.sleep = spawn, sleep
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self._queue: deque[bytes] = deque(maxlen=max_queue)
        self._lock = threading.Lock()
        self._running = False
        self._http = requests.Session()
        self.delivered = 0
        self.failed = 0

    def __call__(self, event: str, payload: dict) -> None:
        """The client listener: queue the event and make sure the worker runs."""
        if event not in WEBHOOK_EVENTS:
            return
        body = json.dumps({"id": uuid.uuid4().hex, "event": event, "data": payload,
                           "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds")},
                          separators=(",", ":")).encode("utf-8")
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                logger.warning("webhook queue full: dropping the oldest event")
            self._queue.append(body)
            start = not self._running
            self._running = True
        if start:
            self.spawn(self._drain)

    def _drain(self) -> None:
        """Deliver queued events one by one until the queue is empty."""
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    return
                body = self._queue.popleft()
            if self._deliver(body):
                self.delivered += 1
            else:
                self.failed += 1

    def _deliver(self, body: bytes) -> bool:
        for attempt in range(1, self.attempts + 1):
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Timestamp": timestamp,
                       "User-Agent": "wa-gateway-webhook/1"}
            if self.secret:
                headers["X-Signature"] = sign(self.secret, timestamp, body)
            try:
                response = self._http.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
                if response.status_code < 300:
                    return True
                permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
                logger.warning("webhook answered %d (attempt %d/%d)", response.status_code, attempt, self.attempts)
                if permanent:
                    return False
            except requests.RequestException as exc:
                logger.warning("webhook delivery failed (attempt %d/%d): %s", attempt, self.attempts,
                               type(exc).__name__)
            if attempt < self.attempts:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
        logger.error("webhook event dropped after %d attempts", self.attempts)
        return False
