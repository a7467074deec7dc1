"""Tests that kill the mutants a mutation sample of the messaging code left alive (issue 24, "Tests that can fail").

Each test names the change it catches; each was checked once by applying that change by hand.
The outbox's tests reuse tests/test_outbox.py's fake session (pure logic, no browser).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from pathlib import Path

import pytest

from tests.gateway import connected
from tests.helpers import wait_until
from tests.receivers import Receiver
from tests.reminder_fakes import hear
from tests.test_outbox import Clock, FakeSession, SendError, clock, make_outbox, session  # noqa: F401 - fixtures
from wa_client.notify.webhooks import WebhookSender, sign, verify
from web.openapi import document

MESSAGING_DOC = Path(__file__).resolve().parent.parent / "docs" / "messaging.md"  # the webhook recipe lives there
PHONE = "5511999990000"
#: The statuses a CRM may read (docs/messaging.md, contract "Third wave"); anything else is the outbox's own business.
PUBLIC_STATUSES = frozenset({"queued", "sending", "sent", "delivered", "read", "failed", "cancelled"})

# -- the webhook's signature: a known answer ------------------------------------------------------------
KAT_SECRET = "clinic-shared-secret"
KAT_TIMESTAMP = "1767225600"
KAT_BODY = b'{"id":"0","event":"ready","data":{}}'
#: `printf '%s' '1767225600.{"id":"0","event":"ready","data":{}}' | openssl dgst -sha256 -hmac clinic-shared-secret`
KAT_SIGNATURE = "sha256=e5f2eeab91045140826493ed347da050c3dea886cae26619e0124030afff1d2c"


def test_the_messaging_doc_states_the_signature_recipe_this_known_answer_follows():
    text = " ".join(MESSAGING_DOC.read_text(encoding="utf-8").split())
    assert '`X-Signature: sha256=HEX`, the HMAC-SHA256 of `TIMESTAMP + "." + BODY`' in text


def test_the_signature_is_the_documented_recipe_known_answer():
    """Mutant: another separator between the timestamp and the body (or none)."""
    independent = "sha256=" + hmac.new(KAT_SECRET.encode(), f"{KAT_TIMESTAMP}.".encode() + KAT_BODY,
                                       hashlib.sha256).hexdigest()
    assert independent == KAT_SIGNATURE  # the recipe as docs/messaging.md words it, computed apart from the gateway
    assert sign(KAT_SECRET, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE
    assert verify(KAT_SECRET, KAT_TIMESTAMP, KAT_BODY, KAT_SIGNATURE)
    assert not verify(KAT_SECRET, KAT_TIMESTAMP, KAT_BODY, KAT_SIGNATURE.replace("e5f2", "e5f3"))


def test_a_delivered_webhook_carries_the_documented_signature():
    hook = Receiver()
    try:
        sender = WebhookSender(hook.url, KAT_SECRET, spawn)
        sender("ready", {})
        wait_until(lambda: hook.calls, 10, what="the delivery")
        headers, body = hook.calls[0]["headers"], hook.calls[0]["body"]
        expected = hmac.new(KAT_SECRET.encode(), headers["X-Timestamp"].encode() + b"." + body, hashlib.sha256)
        assert headers["X-Signature"] == "sha256=" + expected.hexdigest()
        assert re.fullmatch(r"\d{10}", headers["X-Timestamp"])
    finally:
        hook.close()


# -- what the receiver answers -----------------------------------------------------------------------
def spawn(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


@pytest.mark.parametrize("code", [408, 429])
def test_408_and_429_are_retried_not_final(code):
    """Mutant: 408 or 429 treated as a refusal (the event dropped at once)."""
    hook = Receiver(codes=[code, code])
    try:
        sender = WebhookSender(hook.url, KAT_SECRET, spawn, backoff_s=0.01)
        sender("status", {"state": "qr"})
        wait_until(lambda: sender.delivered == 1, 10, what=f"delivery after two {code}")
        assert len(hook.calls) == 3 and len({c["body"] for c in hook.calls}) == 1
        assert sender.failed == 0 and not any(sender.dropped.values())
    finally:
        hook.close()


@pytest.mark.parametrize("code", [300, 301, 302, 303, 304, 307, 308])
def test_a_3xx_is_not_delivered_and_the_event_is_posted_again(code):
    """Mutant: a 3xx answer counted as delivered (docs/messaging.md: only a 2xx is success)."""
    hook = Receiver(codes=[code])
    try:
        sender = WebhookSender(hook.url, KAT_SECRET, spawn, backoff_s=0.01)
        sender("status", {"state": "qr"})
        wait_until(lambda: sender.delivered == 1, 10, what=f"delivery after a {code}")
        assert len(hook.calls) == 2 and hook.calls[0]["body"] == hook.calls[1]["body"]
    finally:
        hook.close()


def test_another_4xx_drops_the_event_at_once():
    hook = Receiver(codes=[422])
    try:
        sender = WebhookSender(hook.url, KAT_SECRET, spawn, backoff_s=0.01)
        sender("status", {"state": "qr"})
        wait_until(lambda: sender.failed == 1, 10, what="the refused event dropped")
        assert len(hook.calls) == 1 and sender.dropped["refused"] == 1 and sender.delivered == 0
    finally:
        hook.close()


# -- the outbox's pause -------------------------------------------------------------------------------
def test_resume_starts_the_count_of_failures_in_a_row_afresh(make_outbox, session):  # noqa: F811 - fixtures
    """Mutant: `Outbox.resume()` no longer clearing the failure count (one more failure re-paused at once)."""
    outbox = make_outbox(send_pause_after_failures=3)
    for n in range(6):
        outbox.submit(PHONE, f"m{n}")
    session.failures = [SendError("rejected")] * 3
    for _ in range(3):
        outbox.step()
    assert outbox.paused
    outbox.resume()
    session.failures = [SendError("rejected")] * 2
    outbox.step(), outbox.step()
    assert not outbox.paused  # two in a row since a person resumed: below the three allowed
    session.failures = [SendError("rejected")]
    outbox.step()
    assert outbox.paused and outbox.summary()["pause_reason"] == "failures"


def test_resumed_while_the_restriction_notice_still_shows_sending_goes_on(make_outbox, session):  # noqa: F811
    """Mutant: re-pausing at once when resumed while the notice still shows.

    docs/messaging.md: the notice pauses sending and nothing resumes by itself; a person looks at the phone, then
    resumes. Their resume holds while the same notice stays up; the notice showing again pauses again.
    """
    outbox = make_outbox()
    for n in range(3):
        outbox.submit(PHONE, f"m{n}")
    hear(outbox, (), (), True)
    assert outbox.paused and outbox.summary()["pause_reason"] == "restricted"
    outbox.resume()
    hear(outbox, (), (), True)  # the next poll still sees the notice
    outbox.step()
    assert not outbox.paused and len(session.sends) == 1
    hear(outbox, (), (), False)
    hear(outbox, (), (), True)  # it went away and came back: a new warning
    outbox.step()
    assert outbox.paused and len(session.sends) == 1


# -- what the API shows ---------------------------------------------------------------------------------
class SlowSession(FakeSession):
    """A fake session whose send lets the test read the message, as GET /messages/{id} would, mid-send."""

    def __init__(self, clock, read) -> None:  # noqa: F811 - the argument, not the fixture
        super().__init__(clock)
        self.read = read
        self.seen: list[str] = []

    def send_message(self, phone: str, text: str, *args, **kwargs):
        self.seen.append(self.read()["status"])
        return super().send_message(phone, text, *args, **kwargs)


def test_a_message_being_sent_shows_only_a_public_status(tmp_path):
    """Mutant: the API showing the outbox's internal status while the send is under way."""
    from wa_client import Settings
    from wa_client.messaging.outbox import Outbox

    holder: dict = {}
    fake = SlowSession(Clock(), lambda: holder["outbox"].message(holder["id"]))
    settings = Settings(profile_dir=str(tmp_path / "profile"), send_gap_s="0", send_per_minute=0, send_per_day=0)
    outbox = holder["outbox"] = Outbox(fake, settings, clock=fake.clock).open()
    try:
        holder["id"] = outbox.submit(PHONE, "lembrete")[0]["id"]
        outbox.step()
        documented = set(document()["components"]["schemas"]["Message"]["properties"]["status"]["enum"])
        assert fake.seen and set(fake.seen) <= documented & PUBLIC_STATUSES, fake.seen
        assert outbox.message(holder["id"])["status"] in documented & PUBLIC_STATUSES
    finally:
        outbox.store.close()


@pytest.mark.e2e
@pytest.mark.browser
def test_get_message_shows_only_documented_public_statuses_while_whatsapp_is_slow_to_send(gateway_factory,
                                                                                         simulator):
    """The same mutant over real HTTP: `python app.py`, the simulator's server slow to answer the send."""
    gateway = gateway_factory(WA_SEND_GAP_S="0", WA_SEND_PER_MINUTE="0", WA_SEND_PER_DAY="0")
    connected(gateway, simulator)
    simulator.configure(exists_delay_s=3.0)  # the send waits about 3 s in the page
    documented = set(gateway.get("/openapi.json").json()["components"]["schemas"]["Message"]["properties"]
                     ["status"]["enum"])
    answer = gateway.post("/messages", json={"phone": "+55 11 99999 0000", "text": "lembrete"})
    assert answer.status_code == 202, answer.text
    message_id, seen = answer.json()["id"], []

    def settled() -> bool:
        seen.append(gateway.get(f"/messages/{message_id}").json()["status"])
        return seen[-1] in ("sent", "delivered", "read", "failed")

    wait_until(settled, 60, interval=0.05, what="the message settled")
    assert seen[-1] in ("sent", "delivered", "read") and len(seen) > 10  # read all through the slow send
    assert set(seen) <= documented & PUBLIC_STATUSES, seen
