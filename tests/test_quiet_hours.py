"""Quiet hours: WA_SEND_HOURS and WA_TIMEZONE hold messages `queued` outside the clinic's hours; /outbox says until."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.gateway import run_app
from tests.helpers import holds_for, wait_until
from tests.reminder_fakes import START, Clock, Session, drain, make_outbox
from wa_client import ConfigError, Settings
from wa_client.clock import iso
from wa_client.config.values import load_timezone, parse_send_hours

UTC_ZONE = ZoneInfo("UTC")
FRIDAY_0800 = START  # 2027-01-15 08:00 UTC is a Friday


def at(day_offset: int, hh: int, mm: int = 0) -> float:
    return FRIDAY_0800 + day_offset * 86400 + (hh - 8) * 3600 + mm * 60


@pytest.mark.parametrize(("raw", "now", "opens"), [
    ("", at(0, 3), at(0, 3)),                                     # empty: always
    ("08:00-20:00", at(0, 8), at(0, 8)),                          # the first minute is open
    ("08:00-20:00", at(0, 19, 59), at(0, 19, 59)),
    ("08:00-20:00", at(0, 20), at(1, 8)),                         # the end is closed
    ("08:00-20:00", at(0, 7, 30), at(0, 8)),
    ("Mon-Fri 08:00-19:00,Sat 08:00-12:00", at(0, 19, 30), at(1, 8)),   # Friday evening -> Saturday
    ("Mon-Fri 08:00-19:00,Sat 08:00-12:00", at(1, 12, 0), at(3, 8)),    # Saturday noon -> Monday
    ("mon-fri 08:00-19:00, sat 08:00-12:00", at(2, 10), at(3, 8)),      # Sunday -> Monday
    ("22:00-06:00", at(0, 23), at(0, 23)),                        # past midnight
    ("22:00-06:00", at(1, 5), at(1, 5)),
    ("22:00-06:00", at(1, 7), at(1, 22)),
    ("Sat-Mon 09:00-10:00", at(0, 9), at(1, 9)),                  # a range over the week's end
])
def test_send_hours_say_when_sending_opens(raw, now, opens):
    assert parse_send_hours(raw).next_open(now, UTC_ZONE) == opens


def test_send_hours_follow_the_clinic_time_zone():
    hours = parse_send_hours("08:00-20:00")
    sao_paulo = load_timezone("America/Sao_Paulo")  # UTC-3: 08:00 UTC is 05:00 there
    assert hours.next_open(FRIDAY_0800, sao_paulo) == FRIDAY_0800 + 3 * 3600


@pytest.mark.parametrize("raw", ["8-20", "08:00", "25:00-26:00", "08:00-08:00", "Xyz 08:00-10:00", "08:00-20:00,",
                                 "always"])
def test_bad_send_hours_are_refused_in_words(raw):
    with pytest.raises(ConfigError, match="WA_SEND_HOURS"):
        Settings(send_hours=raw).validate()


def test_a_bad_time_zone_is_refused_in_words():
    with pytest.raises(ConfigError, match="WA_TIMEZONE.*IANA"):
        Settings(timezone="Mars/Olympus").validate()


def test_a_bad_value_stops_the_start_with_words():
    for env, words in (({"WA_SEND_HOURS": "9 to 5"}, "WA_SEND_HOURS"),
                       ({"WA_TIMEZONE": "Nowhere/City"}, "WA_TIMEZONE")):
        result = run_app(**env)
        assert result.returncode == 2 and words in result.stderr, result.stderr


def test_outside_the_hours_messages_wait_and_the_outbox_says_until(tmp_path):
    clock = Clock(at(0, 20, 30))
    session = Session(clock)
    outbox = make_outbox(tmp_path, session, clock, send_hours="Mon-Fri 08:00-19:00,Sat 08:00-12:00")
    queued, _ = outbox.submit("5511999990000", "lembrete")
    drain(outbox)
    assert session.sends == [] and outbox.message(queued["id"])["status"] == "queued"
    assert outbox.summary()["quiet_until"] == iso(at(1, 8))
    clock.now = at(1, 8)
    drain(outbox)
    assert [s[1] for s in session.sends] == ["lembrete"] and outbox.summary()["quiet_until"] is None


# -- end to end ---------------------------------------------------------------------------------------------

NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


@pytest.mark.e2e
@pytest.mark.browser
def test_a_message_waits_for_the_hours_and_goes_when_they_open(gateway_factory, simulator):
    now = datetime.now(UTC)
    ahead = 2 if now.second > 40 else 1  # the hours open at a whole minute, at least ~20 s from now
    opens = (now + timedelta(minutes=ahead)).replace(second=0, microsecond=0)
    closes = opens + timedelta(minutes=10)
    gateway = gateway_factory(WA_SEND_HOURS=f"{opens:%H:%M}-{closes:%H:%M}", WA_TIMEZONE="UTC", **NO_SAFEGUARDS)
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)
    queued = gateway.post("/messages", json={"phone": "+55 11 99999 0000", "text": "quiet"}).json()
    assert gateway.get("/outbox").json()["quiet_until"] == iso(opens.timestamp())
    if time.time() < opens.timestamp() - 2:
        assert holds_for(lambda: simulator.sent_messages() == [], min(3.0, opens.timestamp() - time.time() - 1))
    sent = simulator.sent_once_there_are(1, timeout=150)
    assert [m["text"] for m in sent] == ["quiet"] and sent[0]["time"] >= int(opens.timestamp())
    wait_until(lambda: gateway.get(f"/messages/{queued['id']}").json()["status"] != "queued", 20,
               what="the message to leave the queue")
    assert gateway.get("/outbox").json()["quiet_until"] is None
