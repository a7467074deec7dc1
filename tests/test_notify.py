"""WA_NOTIFY_URLS: a person is told in plain words when WhatsApp is lost; real SMTP and HTTP receivers."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tests.gateway import REPO_ROOT, free_port
from tests.helpers import wait_until
from tests.receivers import JsonReceiver, Mailbox
from wa_client.notify.alerts import RATE_LIMIT_S, Notifier, kind_of

TOKEN = "notify-test-token-0123456789"


def _inline(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


@pytest.mark.e2e
@pytest.mark.browser
def test_a_logout_is_mailed_and_posted_in_words_without_secrets(gateway_factory, simulator):
    with Mailbox() as mailbox, JsonReceiver() as receiver:
        receiver.hold()  # a receiver that does not answer must not hold up the session
        gateway = gateway_factory(token=TOKEN, WA_NOTIFY_URLS=f"{mailbox.url()} {receiver.url()}")
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        payload = gateway.phone_scans(simulator)
        gateway.wait_status("connected", timeout=30)
        assert simulator.logout().status_code == 200
        gateway.wait_status("disconnected", timeout=30)

        assert receiver.arrived.wait(30), "no notification POST arrived"
        assert gateway.post("/start-session").status_code == 202  # the session goes on while it is held
        gateway.wait_status("qr", timeout=60)
        receiver.release.set()
        wait_until(lambda: receiver.bodies and mailbox.messages, 30, what="the JSON post and the mail")

    mail, posted = mailbox.messages[0], receiver.bodies[0]
    assert "Subject: Clinic WhatsApp gateway: WhatsApp was logged out" in mail
    assert "Generate QR" in mail and "from the phone" in mail
    assert posted["title"] == "Clinic WhatsApp gateway: WhatsApp was logged out"
    assert "Generate QR" in posted["message"]
    for text in (mail, str(posted), gateway.log_text()):
        assert payload not in text and TOKEN not in text
    metrics = gateway.get("/metrics").text
    assert 'wa_notifications_total{result="sent"} 1.0' in metrics


def test_one_message_per_kind_every_ten_minutes():
    now = [1000.0]
    with JsonReceiver() as receiver:
        notifier = Notifier(receiver.url(), _inline, clock=lambda: now[0])
        logout = {"state": "disconnected", "reason": "logout", "error": None, "since": "t1"}
        notifier("status", logout)
        notifier("status", {**logout, "since": "t2"})  # a second logout within 10 minutes
        notifier("status", {"state": "failed", "reason": "tos_block", "error": "WhatsApp has banned", "since": "t3"})
        now[0] += RATE_LIMIT_S
        notifier("status", {**logout, "since": "t4"})
        wait_until(lambda: len(receiver.bodies) == 3, 20, what="three messages")
    titles = [body["title"] for body in receiver.bodies]
    assert sorted(titles) == sorted(["Clinic WhatsApp gateway: WhatsApp was logged out",
                                     "Clinic WhatsApp gateway: WhatsApp is blocked",
                                     "Clinic WhatsApp gateway: WhatsApp was logged out"])
    assert notifier.counts == {"sent": 3, "failed": 0, "suppressed": 1}
    assert any("WhatsApp has banned" in body["message"] for body in receiver.bodies)


@pytest.mark.parametrize(("state", "reason", "restart_on_crash", "kind"), [
    ("disconnected", "logout", False, "logout"),
    ("disconnected", "logout_requested", False, "logout"),
    ("failed", "tos_block", False, "blocked"),
    ("failed", "proxyblock", False, "blocked"),
    ("failed", "start_timeout", False, "failed"),
    ("failed", "browser_crashed", False, "failed"),
    ("failed", "browser_crashed", True, None),  # the restart is tried; a give-up is told instead
    ("idle", "not_linked", False, "not_linked"),
    ("idle", "force_reset", False, None),
    ("idle", "qr_timeout", False, None),
    ("connected", None, False, None),
])
def test_which_endings_tell_a_person(state, reason, restart_on_crash, kind):
    assert kind_of({"state": state, "reason": reason}, restart_on_crash) == kind


@pytest.mark.parametrize("urls", ["nosuchscheme://user:hunter2@host", "json://ok.example/x not-a-url-hunter2"])
def test_a_bad_notify_url_is_a_configuration_error(urls):
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "WA_NOTIFY_URLS": urls, "PORT": str(free_port())})
    assert done.returncode == 2, done.stderr
    assert "WA_NOTIFY_URLS" in done.stderr and "Apprise" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


@pytest.mark.e2e
@pytest.mark.browser
def test_a_ban_is_told_in_words_and_nothing_restarts(gateway_factory, simulator):
    simulator.configure(screen="tos_block")
    with JsonReceiver() as receiver:
        gateway = gateway_factory(WA_NOTIFY_URLS=receiver.url(), WA_RESTART_ON_CRASH="1",
                                  WA_RESTART_BACKOFF_S="0.2")
        assert gateway.post("/start-session").status_code == 202
        status = gateway.wait_status("failed", timeout=60)
        assert status["reason"] == "tos_block"
        wait_until(lambda: receiver.bodies, 20, what="the notification")
        assert gateway.stays("failed", 1.0), "a ban is never restarted"
    assert receiver.bodies[0]["title"] == "Clinic WhatsApp gateway: WhatsApp is blocked"
    assert "banned" in receiver.bodies[0]["message"]
