"""Webhook events kept: written to the journal before delivery, in order per receiver, through restarts, bounded.

The sender posts to real HTTP servers on loopback; only the clock (24 hours) and the worker's start are steered.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.receivers import Hook, Receiver
from wa_client.notify.journal import EventJournal
from wa_client.notify.webhooks import KEEP_S, MAX_BACKOFF_S, QR_KEEP_S, WebhookSender

SECRET = "journal-secret-for-tests"


def spawn(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


def no_worker(fn, *args):
    """A spawn that starts nothing: the events stay in the journal (as while a process dies)."""


class Clock:
    """Wall-clock seconds the test moves; `sleep` moves it too (the worker's backoff passes at once)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def build(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield build
    for r in made:
        r.close()


@pytest.fixture
def journal_path(tmp_path):
    return tmp_path / "data" / "webhooks.sqlite3"


def kept(path) -> list[dict]:
    """What a second reader of the file finds waiting, oldest first."""
    other = EventJournal(path)
    try:
        found = []
        while (entry := other.head("WA_WEBHOOK_URL")) is not None:
            found.append(json.loads(entry.body))
            other.remove(entry.seq)
        return found
    finally:
        other.close()


def test_an_event_is_on_disk_before_any_delivery_is_tried(journal_path):
    sender = WebhookSender("http://127.0.0.1:9/hook", SECRET, no_worker, journal=EventJournal(journal_path))
    sender("status", {"state": "qr"})
    sender("browser_started", {"seconds": 1})  # internal events are not webhooks: not kept either
    assert [(e["event"], e["data"]) for e in kept(journal_path)] == [("status", {"state": "qr"})]
    assert stat.S_IMODE(os.stat(journal_path).st_mode) == 0o600  # message texts and phone numbers inside


def test_what_waited_when_the_process_died_is_delivered_in_order_by_the_next_one(journal_path):
    hook = Hook()  # down
    first = WebhookSender(hook.url, SECRET, no_worker, journal=EventJournal(journal_path))
    for n in range(5):
        first("message.status", {"n": n})
    first.journal.close()  # the process is gone; its worker never ran
    hook.up()
    try:
        second = WebhookSender(hook.url, SECRET, spawn, journal=EventJournal(journal_path))
        second.start()
        wait_until(lambda: second.delivered == 5, 10, what="the five kept events")
        assert [e["n"] for e in hook.events("message.status")] == [0, 1, 2, 3, 4]
        assert second.waiting() == (0, None)
    finally:
        hook.down()


def test_each_receiver_has_its_own_order(tmp_path):
    journal = EventJournal(tmp_path / "webhooks.sqlite3")
    journal.add("crm", "a1", "status", b"1", 1.0)
    journal.add("other", "b1", "status", b"2", 2.0)
    journal.add("crm", "a2", "status", b"3", 3.0)
    assert journal.head("crm").event_id == "a1" and journal.head("other").event_id == "b1"
    journal.remove(journal.head("crm").seq)
    assert journal.head("crm").event_id == "a2" and journal.waiting("other") == 1


def test_a_new_event_waits_behind_an_older_one_that_is_not_delivered(receiver):
    hook = receiver(codes=[503, 503, 503])
    clock = Clock()
    sender = WebhookSender(hook.url, SECRET, spawn, sleep=clock.sleep, clock=clock)
    sender("status", {"n": 1})
    sender("status", {"n": 2})
    wait_until(lambda: sender.delivered == 2, 10, what="both events")
    assert [e["data"]["n"] for e in hook.events()] == [1, 1, 1, 1, 2]


def test_a_failing_event_is_retried_for_24_hours_then_dropped_and_told(receiver):
    hook = receiver(codes=[503] * 10_000)
    clock = Clock()
    told: list[tuple[str, int]] = []
    sender = WebhookSender(hook.url, SECRET, spawn, sleep=clock.sleep, clock=clock, max_backoff_s=3600,
                           on_drop=lambda reason, n: told.append((reason, n)))
    written = clock.now
    sender("message.received", {"text": "private words"})
    wait_until(lambda: told, 60, what="the event dropped after 24 hours")
    assert told == [("expired", 1)] and sender.dropped["expired"] == 1 and sender.delivered == 0
    assert clock.now - written > KEEP_S  # not a second before the 24 hours
    assert clock.now - written - clock.sleeps[-1] <= KEEP_S  # and tried until then
    assert len(hook.calls) == len(clock.sleeps) and sender.waiting() == (0, None)


def test_the_wait_between_attempts_doubles_from_half_a_second_up_to_a_minute(receiver):
    hook = receiver(codes=[503] * 1000)
    clock = Clock()
    sender = WebhookSender(hook.url, SECRET, spawn, sleep=clock.sleep, clock=clock, keep_s=900)
    sender("status", {"state": "qr"})
    wait_until(lambda: sender.dropped["expired"], 60, what="the event dropped after 15 minutes")
    assert clock.sleeps[:8] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, MAX_BACKOFF_S]
    assert set(clock.sleeps[7:]) == {MAX_BACKOFF_S}  # a receiver back up is reached within a minute


def test_an_event_younger_than_24_hours_is_still_delivered(receiver):
    hook = receiver()
    clock = Clock()
    sender = WebhookSender(hook.url, SECRET, no_worker, sleep=clock.sleep, clock=clock)
    sender("status", {"state": "qr"})
    clock.now += KEEP_S - 60
    assert sender.waiting() == (1, KEEP_S - 60)
    restarted = WebhookSender(hook.url, SECRET, spawn, sleep=clock.sleep, clock=clock, journal=sender.journal)
    restarted.start()
    wait_until(lambda: restarted.delivered == 1, 10, what="the day-old event delivered")
    assert restarted.dropped["expired"] == 0 and len(hook.calls) == 1


def test_the_journal_is_bounded_the_oldest_making_room_counted_and_told(tmp_path):
    told: list[tuple[str, int]] = []
    sender = WebhookSender("http://127.0.0.1:9/hook", SECRET, no_worker,
                           journal=EventJournal(tmp_path / "webhooks.sqlite3", max_waiting=3),
                           on_drop=lambda reason, n: told.append((reason, n)))
    for n in range(5):
        sender("message.status", {"n": n})
    assert [e["data"]["n"] for e in kept(tmp_path / "webhooks.sqlite3")] == [2, 3, 4]
    assert told == [("full", 1), ("full", 1)] and sender.dropped["full"] == 2 and sender.failed == 2


def test_a_file_that_cannot_be_opened_keeps_events_in_memory_and_says_so(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    journal = EventJournal.open(blocker / "webhooks.sqlite3")
    assert journal.path is None
    journal.add("crm", "a1", "status", b"{}", 1.0)
    assert journal.waiting("crm") == 1
    assert "kept in memory only" in caplog.text and "make the data folder writable" in caplog.text


def test_after_a_stop_longer_than_a_day_the_expired_events_are_dropped_together_and_the_rest_delivered(receiver):
    hook = receiver()
    clock = Clock()
    told: list[tuple[str, int]] = []
    stopped = WebhookSender(hook.url, SECRET, no_worker, clock=clock)
    for n in range(3):
        stopped("message.status", {"n": n})
    clock.now += KEEP_S + 3600  # the gateway was stopped for 25 hours; one more event at its start
    stopped("message.status", {"n": 3})
    started = WebhookSender(hook.url, SECRET, spawn, clock=clock, journal=stopped.journal,
                            on_drop=lambda reason, n: told.append((reason, n)))
    started.start()
    wait_until(lambda: started.delivered == 1, 10, what="the fresh event")
    assert told == [("expired", 3)] and [e["data"]["n"] for e in hook.events()] == [3]


def test_what_a_killed_process_wrote_is_read_by_the_next_one(journal_path):
    """SIGKILL: the writer never closes the file, and the next process still finds every event in order."""
    code = ("import sys; from wa_client.notify.journal import EventJournal; j = EventJournal(sys.argv[1]); "
            "[j.add('WA_WEBHOOK_URL', str(n), 'status', b'{\"n\": %d}' % n, 1.0) for n in range(50)]; "
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    killed = subprocess.run([sys.executable, "-c", code, str(journal_path)], cwd=Path(__file__).parent.parent,
                            timeout=60, check=False)
    assert killed.returncode == -9
    assert [e["n"] for e in kept(journal_path)] == list(range(50))
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(journal_path) + suffix)
        assert not side.exists() or stat.S_IMODE(os.stat(side).st_mode) == 0o600, suffix


def test_a_qr_that_waited_past_its_life_is_never_delivered_but_what_follows_is(receiver):
    hook = receiver()
    clock = Clock()
    sender = WebhookSender(hook.url, SECRET, no_worker, sleep=clock.sleep, clock=clock)
    sender("qr", {"version": 1, "qr": "2@dead-code"})
    sender("status", {"state": "qr"})
    clock.now += QR_KEEP_S + 1  # the receiver was down while the code expired
    restarted = WebhookSender(hook.url, SECRET, spawn, sleep=clock.sleep, clock=clock, journal=sender.journal)
    restarted.start()
    wait_until(lambda: restarted.delivered == 1, 10, what="the status behind the dead QR")
    assert [e["event"] for e in hook.events()] == ["status"]
    assert sum(restarted.dropped.values()) == 0  # a dead code is not a lost event: nobody is told
