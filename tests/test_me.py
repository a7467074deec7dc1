"""Who is linked: GET /me, `account` in /status and the ready event, the page's words, the profile's record."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from tests.gateway import SocketEvents
from tests.helpers import phone_scans, wait_state, wait_until
from tests.receivers import Receiver
from wa_client.browser import profile
from wa_client.page import account as accounts
from wa_client.page.probe import ModuleSigns, Observation

SIM_NUMBER = "+5511999990000"  # the simulator's Conn.wid is 5511999990000:N@c.us
SIM_NAME = "Clinic Reception"
SIM_DISPLAY = "+55 11 99999 0000"


@pytest.mark.parametrize(("number", "shown"), [
    ("+15550001111", "+1 555 000 1111"),
    ("+5511999990000", "+55 11 99999 0000"),
    ("+442071838750", "+44 20 7183 8750"),
    ("+999123456", "+999123456"),  # no such country: left as it is
])
def test_numbers_are_grouped_as_their_country_writes_them(number, shown):
    assert accounts.display_number(number) == shown


@pytest.mark.parametrize(("wid", "number"), [
    ('"14165550142:12@c.us"', "+14165550142"),  # localStorage['last-wid-md'] is JSON-quoted
    ("5511999990000:3@c.us", "+5511999990000"),
    ("5511999990000@c.us", "+5511999990000"),
    ("", None), (None, None), ('"abc:1@c.us"', None), ("123@c.us", None),
])
def test_the_number_comes_from_the_wid(wid, number):
    assert accounts.number_from_wid(wid) == number


def test_the_modules_win_and_last_wid_md_is_the_fallback():
    modules = ModuleSigns(linked=True, number="5511999990000", name=SIM_NAME)
    both = Observation(linked_wid='"15550001111:2@c.us"', modules=modules)
    assert accounts.seen(both) == (SIM_NUMBER, SIM_NAME)
    assert accounts.seen(Observation(linked_wid='"15550001111:2@c.us"')) == ("+15550001111", None)
    assert accounts.seen(Observation()) is None


def test_an_account_keeps_its_linked_since_and_learns_its_name():
    first = accounts.update(None, Observation(linked_wid='"5511999990000:2@c.us"'))
    named = accounts.update(first, Observation(modules=ModuleSigns(linked=True, number="5511999990000",
                                                                   name=SIM_NAME)))
    assert (named.number, named.name, named.linked_since) == (SIM_NUMBER, SIM_NAME, first.linked_since)
    assert accounts.update(named, Observation()) is named  # the page says nothing: nothing changes
    other = accounts.update(named, Observation(linked_wid='"15550001111:2@c.us"'))
    assert (other.number, other.name) == ("+15550001111", None)


def test_the_profile_record_is_private_and_goes_with_the_profile(tmp_path):
    account = accounts.Account(SIM_NUMBER, SIM_NAME, "2026-05-04T12:00:00.000Z")
    accounts.save(tmp_path, account)
    record = tmp_path / accounts.ACCOUNT_FILE
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert accounts.load(tmp_path) == account
    accounts.forget(tmp_path)
    assert accounts.load(tmp_path) is None
    accounts.save(tmp_path / "gone", account)  # a deleted profile is not created again
    assert not (tmp_path / "gone").exists()


def test_me_is_409_in_words_when_nothing_is_linked(http):
    answer = http.get("/me")
    assert answer.status_code == 409
    assert "no WhatsApp account is linked" in answer.get_json()["error"]
    assert http.get("/status").get_json()["account"] is None


@pytest.mark.e2e
@pytest.mark.browser
def test_me_status_ready_and_the_page_name_the_account_and_a_restart_knows_it(gateway_factory, simulator,
                                                                                 make_driver):
    hooks = Receiver()
    first = gateway_factory(WA_WEBHOOK_URL=hooks.url)
    events = SocketEvents(first.url)
    try:
        assert first.post("/start-session").status_code == 202
        first.wait_status("qr")
        first.phone_scans(simulator)
        first.wait_status(lambda s: s["state"] == "connected" and s["account"])
        me = first.get("/me").json()
        assert {k: me[k] for k in ("number", "name", "display_number")} == {
            "number": SIM_NUMBER, "name": SIM_NAME, "display_number": SIM_DISPLAY}
        assert me["linked_since"].endswith("Z")
        assert first.status()["account"] == me
        assert events.wait_for("ready")["account"] == me
        delivered = {(e["event"], json.dumps(e["data"].get("account"))) for e in hooks.events()}
        wait_until(lambda: {("ready", json.dumps(me)), ("status", json.dumps(me))} <= {
            (e["event"], json.dumps(e["data"].get("account"))) for e in hooks.events()}, 10,
            what=f"ready and status webhooks naming the account; got {delivered}")
    finally:
        events.close()
        hooks.close()
    driver = make_driver()
    driver.get(first.url + "/")
    headline = f"Connected as {SIM_DISPLAY} ({SIM_NAME})"
    wait_until(lambda: driver.find_element("id", "headline").text == headline, 15, what=headline)
    record = first.profile_dir / accounts.ACCOUNT_FILE
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert first.stop(check=True, keep_home=True) == 0

    # Restarted without WhatsApp's modules: the record names the account before the page can (no scan).
    simulator.configure(modules=False)
    second = gateway_factory(profile_dir=first.profile_dir)
    try:
        assert second.get("/me").status_code == 409  # idle: nothing is linked in this session yet
        assert second.post("/start-session").status_code == 202
        linked = second.wait_status(lambda s: s["state"] in ("authenticating", "connected"))
        assert linked["account"] == me
        assert second.get("/me").json() == me
        assert second.post("/force-reset").status_code == 200
        assert second.get("/me").status_code == 409
        assert not record.exists()
    finally:
        second.stop(check=True)
        shutil.rmtree(first.home, ignore_errors=True)


@pytest.mark.browser
def test_a_qr_means_nothing_is_linked_and_a_stale_record_goes(make_client, simulator):
    client = make_client()
    profile.ensure(client.profile_dir)  # a profile this gateway made (its marker inside)
    stale = accounts.Account("+15550001111", "Another Clinic", "2020-01-01T00:00:00.000Z")
    accounts.save(client.profile_dir, stale)  # a login the phone has since removed
    client.start_session()
    assert wait_state(client, "qr")["account"] is None
    wait_until(lambda: accounts.load(client.profile_dir) is None, 10, what="the stale record forgotten")
    phone_scans(client, simulator)
    wait_until(lambda: (client.status()["account"] or {}).get("name") == SIM_NAME, 30, what="the new account")
    assert client.account()["number"] == SIM_NUMBER and client.account()["linked_since"] != stale.linked_since
    assert accounts.load(client.profile_dir).number == SIM_NUMBER
