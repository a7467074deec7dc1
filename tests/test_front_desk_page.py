"""Our front-desk page (templates/, static/): served with its assets, and in a real Chromium against
`python app.py`, what the front desk sees and clicks. (WhatsApp's own page: test_whatsapp_screens.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.gateway import OUTPUT_DIR, Gateway, commands_recorded
from tests.helpers import PAIRING_CODE, PHONE, decode_qr, wait_until

SHOTS = OUTPUT_DIR / "page"
PHONE_SIZE = (420, 900)
TOKEN = "front-desk-token"


class FrontDesk:
    """The receptionist's view of the page: read the words, look at the QR, click the buttons."""

    def __init__(self, driver: WebDriver, gateway: Gateway) -> None:
        self.driver = driver
        self.gateway = gateway
        driver.set_window_size(*PHONE_SIZE)
        driver.get(gateway.url + "/")

    def element(self, element_id: str) -> Any:
        return self.driver.find_element(By.ID, element_id)

    def state(self) -> str:
        return self.element("status-card").get_attribute("data-state")

    def headline(self) -> str:
        return self.element("headline").text

    def wait(self, condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: condition())
        except Exception as exc:
            raise AssertionError(f"page never showed {what}: state {self.state()!r}, headline {self.headline()!r}"
                                 f"\n{self.gateway.log_tail()}") from exc

    def wait_state(self, state: str, timeout: float = 30.0) -> None:
        self.wait(lambda: self.state() == state, timeout, what=f"state {state!r}")

    def qr(self) -> tuple[int, str] | None:
        """(version, decoded payload) of the QR image on screen, or None while there is none."""
        img = self.element("qr-img")
        if not img.is_displayed() or not img.get_attribute("data-version"):
            return None
        payload = decode_qr(img.screenshot_as_png)
        return (int(img.get_attribute("data-version")), payload) if payload else None

    def click(self, element_id: str) -> None:
        button = self.element(element_id)
        self.wait(button.is_enabled, 10, what=f"#{element_id} enabled")
        button.click()

    def log_lines(self) -> list[str]:
        return [li.text for li in self.driver.find_elements(By.CSS_SELECTOR, "#log li")]

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture
def front_desk(make_driver, gateway) -> FrontDesk:
    return FrontDesk(make_driver(), gateway)


def scan_from_screen(desk: FrontDesk, simulator: Any) -> str:
    """The phone camera reads the QR on the screen and the phone links."""
    return desk.wait(lambda: (qr := desk.qr()) and simulator.scan(qr[1]).status_code == 200 and qr[1],
                     20, what="a QR the phone can scan")


def test_front_desk_links_sees_logout_and_resets(front_desk, simulator):
    desk = front_desk
    desk.wait_state("idle")
    assert "Generate QR" in desk.headline()
    assert desk.element("generate").is_enabled()
    assert not desk.element("qr-img").is_displayed()
    desk.shot("01-idle")

    desk.click("generate")
    desk.wait_state("qr")
    assert desk.headline() == "Scan this code with WhatsApp on the clinic phone"
    version, payload = desk.wait(desk.qr, what="a readable QR image")
    wait_until(lambda: (qr := desk.qr()) and qr[1] in simulator.live_payloads(), 10,
               what="the QR on screen to be the simulator's live code")
    assert not desk.element("generate").is_enabled()
    qr_shot = desk.shot("02-qr")

    # The code rotates on the page without a reload.
    desk.driver.execute_script("window.__samePage = true;")
    newer = desk.wait(lambda: (qr := desk.qr()) and qr[0] > version and qr[1] != payload and qr, 15,
                      what="a rotated QR")
    assert newer[1] in simulator.live_payloads() + [r["payload"] for r in simulator.state()["recent_refs"]]
    assert desk.driver.execute_script("return window.__samePage === true;")

    scan_from_screen(desk, simulator)
    desk.wait_state("connected")
    connected_as = "Connected as +55 11 99999 0000 (Clinic Reception)"  # the simulator's account
    desk.wait(lambda: desk.headline() == connected_as, 10, what=connected_as)
    assert not desk.element("qr-img").is_displayed()
    desk.shot("03-connected")

    assert simulator.logout().status_code == 200
    desk.wait_state("disconnected")
    assert desk.headline() == "Logged out from the phone — click Generate QR"
    assert desk.element("generate").is_enabled()
    desk.shot("04-logged-out")

    desk.click("reset")
    desk.wait(lambda: desk.state() == "idle" and "Reset done" in desk.headline(), what="the reset")
    assert any("Force Reset done" in line for line in desk.log_lines())
    assert all(line[:2].isdigit() for line in desk.log_lines())  # each entry starts with its time
    desk.shot("05-reset")
    assert not desk.gateway.browser_pids()
    assert desk.driver.execute_script("return window.__samePage === true;")

    assert qr_shot.stat().st_size < 200_000  # small enough for the README (`make screenshot` copies it there)


def test_page_asks_for_the_token_once_and_uses_it(make_driver, gateway_factory, simulator):
    desk = FrontDesk(make_driver(), gateway_factory(token=TOKEN))
    desk.wait(lambda: desk.element("token-form").is_displayed(), what="the token form")
    assert not desk.element("generate").is_enabled()
    desk.element("token-input").send_keys(TOKEN)
    desk.element("token-form").submit()
    desk.wait_state("idle")
    desk.wait(lambda: desk.element("link").text == "Live", 10, what="the live socket")
    desk.shot("06-token-accepted")

    desk.driver.refresh()  # the token is remembered: no second question
    desk.wait_state("idle")
    assert not desk.element("token-form").is_displayed()

    desk.click("generate")
    desk.wait_state("qr")
    wait_until(lambda: (qr := desk.qr()) and qr[1] in simulator.live_payloads(), 15, what="the QR behind the token")
    desk.click("reset")
    desk.wait_state("idle")


def test_page_falls_back_to_polling_without_socketio(make_driver, gateway, simulator):
    driver = make_driver()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*socket.io*"]})
    desk = FrontDesk(driver, gateway)
    desk.wait_state("idle")
    assert driver.execute_script("return typeof window.io;") == "undefined"
    desk.wait(lambda: desk.element("link").text == "Updating every few seconds", 10, what="the polling note")

    desk.click("generate")
    desk.wait_state("qr")
    wait_until(lambda: (qr := desk.qr()) and qr[1] in simulator.live_payloads(), 15, what="the QR while polling")
    scan_from_screen(desk, simulator)
    desk.wait_state("connected")
    desk.shot("07-polling-connected")
    gateway.post("/force-reset")
    desk.wait_state("idle")


def test_page_explains_a_failure_in_plain_words(make_driver, gateway_factory):
    desk = FrontDesk(make_driver(), gateway_factory(WA_URL="http://127.0.0.1:9/"))
    desk.wait_state("idle")
    desk.click("generate")
    desk.wait_state("failed")
    status = desk.gateway.status()
    assert status["reason"] == "unreachable"
    assert desk.headline() == f"Something went wrong: {status['error']}"
    assert desk.element("generate").is_enabled() and desk.element("reset").is_enabled()
    assert not desk.element("qr-img").is_displayed()
    desk.shot("08-failed")
    wait_until(lambda: not desk.gateway.browser_pids(), 15, what="the browser quit after the failure")


def test_page_says_when_the_gateway_has_no_connection_to_whatsapp(make_driver, gateway_factory, simulator):
    desk = FrontDesk(make_driver(), gateway_factory())
    desk.wait_state("idle")
    desk.click("generate")
    desk.wait_state("qr")
    simulator.configure(screen="offline")
    desk.wait(lambda: desk.headline() == "No connection to WhatsApp", 20, what="the offline headline")
    assert "no connection to WhatsApp" in desk.element("detail").text
    assert not desk.element("qr-img").is_displayed()
    desk.shot("09-offline")
    simulator.configure(screen="")
    desk.wait(lambda: desk.headline().startswith("Scan this code"), 20, what="the QR again")


def test_page_is_served_with_its_assets(http):
    page = http.get("/")
    assert page.status_code == 200
    assert b"Generate QR" in page.data and b"Force Reset" in page.data
    for asset in ("/static/app.js", "/static/words.js", "/static/app.css", "/static/socket.io.min.js"):
        with http.get(asset) as response:
            assert response.status_code == 200, asset
    assert b"http://" not in page.data and b"https://" not in page.data  # no CDN


def test_page_and_assets_load_without_the_token(app_factory):
    client = app_factory(api_token=TOKEN).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert b'data-token-required="yes"' in page.data
    assert TOKEN.encode() not in page.data
    with client.get("/static/app.js") as script:
        assert script.status_code == 200


def test_page_offers_the_integrator_controls(http):
    page = http.get("/").get_data(as_text=True)
    for text in ("Link with phone number instead", "Log out of WhatsApp", "Use here",
                 "WhatsApp → Linked devices → Link with phone number"):
        assert text in page


@pytest.mark.e2e
@pytest.mark.browser
def test_front_desk_links_by_phone_number_uses_here_and_logs_out(make_driver, gateway_factory, simulator):
    simulator.configure(pairing_code_s=60)
    desk = FrontDesk(make_driver(), gateway_factory(WA_TAKEOVER_ON_CONFLICT="0"))
    desk.wait_state("idle")
    assert not desk.element("logout").is_enabled() and not desk.element("phone-form").is_displayed()
    desk.click("generate")
    desk.wait_state("qr")
    desk.wait(desk.element("phone-form").is_displayed, 10, what="the phone number field")
    assert "Link with phone number instead" in desk.element("phone-form").text

    desk.element("phone-input").send_keys("12")
    desk.click("phone-submit")
    desk.wait(lambda: "digits" in desk.element("phone-error").text, 30, what="the refusal of a short number")
    desk.element("phone-input").clear()
    desk.element("phone-input").send_keys(PHONE)
    desk.click("phone-submit")
    code = desk.wait(lambda: PAIRING_CODE.match(text := desk.element("pairing-code").text) and text,
                     60, what="the pairing code")
    assert "WhatsApp → Linked devices → Link with phone number" in desk.element("pairing").text
    assert not desk.element("phone-form").is_displayed() and not desk.element("qr-img").is_displayed()
    desk.shot("integrators-01-pairing-code")

    assert simulator.confirm_pairing_code(code).status_code == 200
    desk.wait_state("connected", timeout=60)
    assert desk.element("logout").is_enabled() and not desk.element("use-here").is_displayed()

    assert simulator.conflict().status_code == 200
    desk.wait_state("conflict")
    desk.wait(desk.element("use-here").is_displayed, 10, what="the Use here button")
    desk.shot("integrators-02-conflict")
    desk.click("use-here")
    desk.wait_state("connected", timeout=60)

    desk.driver.execute_script("window.confirm = function () { return true; };")
    desk.click("logout")
    desk.wait_state("disconnected", timeout=60)
    assert "Logged out of WhatsApp from the gateway" in desk.headline()
    assert not desk.element("logout").is_enabled() and desk.element("generate").is_enabled()
    desk.shot("integrators-03-logged-out")
    wait_until(lambda: not desk.gateway.browser_pids() and not desk.gateway.profile_dir.exists(), 20,
               what="no browser and no profile left")


def test_the_bundled_page_shows_as_the_page(gateway_factory, simulator, make_driver):
    gateway = gateway_factory()
    driver = make_driver()
    driver.get(gateway.url + "/")
    wait_until(lambda: driver.find_element(By.ID, "generate").is_enabled(), 20, what="the Generate QR button")
    driver.find_element(By.ID, "generate").click()
    gateway.wait_status("qr", timeout=60)
    assert commands_recorded(gateway) == [("start_session", {"via": "page", "address": "127.0.0.1", "token": None})]
    assert gateway.post("/force-reset").status_code == 200
