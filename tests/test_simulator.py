"""The WhatsApp Web simulator, seen as the gateway's scraper sees it: real headless Chromium."""
from __future__ import annotations

import base64
import io
import time

import pytest
import requests
import zxingcpp
from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.fake_whatsapp.codes import new_qr_payload
from tests.sim import Simulator

QR_CANVAS = 'canvas[aria-label="Scan this QR code to link a device!"]'
QR_BOX_OF_CANVAS = "ancestor::*[@data-ref][1]"
EXPIRED_BUTTON = "[data-ref] button"
CHAT_LIST = '#pane-side[aria-label="Chat list"]'
DIALOG = '[data-animate-modal-popup="true"][role="dialog"]'
POST_LOGOUT = "post_logout=1&logout_reason=0"
HEADLESS_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "HeadlessChrome/156.0.0.0 Safari/537.36")


def wait(driver: WebDriver, timeout: float = 10.0) -> WebDriverWait:
    """A WebDriverWait that polls often."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,))


def wait_css(driver: WebDriver, css: str, timeout: float = 10.0) -> WebElement:
    """The first element matching `css`, once there is one."""
    return wait(driver, timeout).until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, css)), None))


def qr_box(driver: WebDriver) -> WebElement:
    """The nearest ancestor with data-ref of the QR canvas, once the QR is shown."""
    return wait_css(driver, QR_CANVAS).find_element(By.XPATH, QR_BOX_OF_CANVAS)


def by_text(driver: WebDriver, tag: str, text: str) -> WebElement:
    """The visible element `tag` whose whole text is `text`, once there is one."""
    xpath = f"//{tag}[normalize-space()='{text}']"
    return wait(driver).until(
        lambda d: next((found for found in d.find_elements(By.XPATH, xpath) if found.is_displayed()), None))


def storage(driver: WebDriver) -> dict:
    """The page's localStorage."""
    return driver.execute_script("return Object.assign({}, window.localStorage);")


def databases(driver: WebDriver) -> list[str]:
    """The names of the page's IndexedDB databases."""
    return driver.execute_async_script(
        "const done = arguments[0]; indexedDB.databases().then(dbs => done(dbs.map(db => db.name)));")


def events(state: dict, name: str) -> list[dict]:
    """The simulator's recent events called `name`."""
    return [event for event in state["events"] if event["event"] == name]


def link_by_scan(driver: WebDriver, sim: Simulator) -> str:
    """Open WhatsApp, scan the QR on screen, wait for the chat list; the payload scanned."""
    driver.get(sim.url)
    payload = qr_box(driver).get_attribute("data-ref")
    assert sim.scan(payload).status_code == 200
    wait_css(driver, CHAT_LIST)
    return payload


@pytest.mark.browser
def test_startup_screen_comes_first_then_the_qr(simulator: Simulator, make_driver) -> None:
    simulator.configure(startup_s=1.0)
    driver = make_driver()
    driver.get(simulator.url)
    startup = driver.find_element(By.ID, "wa_web_initial_startup")
    assert startup.find_elements(By.TAG_NAME, "progress")
    assert "WhatsApp" in startup.text and "End-to-end encrypted" in startup.text
    canvas = wait_css(driver, QR_CANVAS)
    assert not driver.find_elements(By.ID, "wa_web_initial_startup")
    assert (canvas.get_attribute("width"), canvas.get_attribute("height")) == ("228", "228")
    state = simulator.state()
    opened, issued = events(state, "connection_opened")[0]["t"], events(state, "ref_issued")[0]["t"]
    assert issued - opened >= 0.9
    assert by_text(driver, "*", "Log in with phone number")


@pytest.mark.browser
def test_qr_payload_is_a_live_five_field_ref_drawn_as_a_real_qr(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    fields = payload.split(",")
    assert len(fields) == 5 and len(payload) > 200
    assert fields[0].startswith("2@") and len(fields[0]) >= 80
    assert all(len(key) == 44 and key.endswith("=") for key in fields[1:4]) and fields[4] == "1"
    assert simulator.live_payloads() == [payload]
    assert simulator.state()["live_refs"][0]["issued_at"] <= time.time()
    png = driver.execute_script("return arguments[0].toDataURL('image/png');", wait_css(driver, QR_CANVAS))
    image = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [payload]


@pytest.mark.browser
def test_qr_rotates_on_the_same_node(simulator: Simulator, make_driver) -> None:
    simulator.configure(first_ref_s=1.0, next_ref_s=0.6, refs_per_cycle=3)
    driver = make_driver()
    driver.get(simulator.url)
    box = qr_box(driver)
    driver.execute_script(
        "const box = arguments[0]; window.seenRefs = [box.getAttribute('data-ref')];"
        "new MutationObserver(() => seenRefs.push(box.getAttribute('data-ref')))"
        ".observe(box, {attributes: true, attributeFilter: ['data-ref']});", box)
    assert box.get_attribute("data-ref") in simulator.live_payloads()
    wait_css(driver, EXPIRED_BUTTON, timeout=5)
    seen = driver.execute_script("return window.seenRefs;")
    assert len(seen) == 3 and len(set(seen)) == 3
    assert box == driver.find_element(By.CSS_SELECTOR, "[data-ref]")  # never re-created
    refs = simulator.state()["recent_refs"]
    assert [ref["payload"] for ref in refs] == seen and [ref["index"] for ref in refs] == [1, 2, 3]
    assert [ref["expires_at"] - ref["issued_at"] for ref in refs] == pytest.approx([1.0, 0.6, 0.6])
    gaps = [b["issued_at"] - a["expires_at"] for a, b in zip(refs, refs[1:], strict=False)]
    assert all(0 <= gap < 0.5 for gap in gaps), gaps  # each ref replaced as soon as the last one expired


@pytest.mark.browser
def test_expired_qr_keeps_the_old_ref_is_not_live_and_reloads(simulator: Simulator, make_driver) -> None:
    simulator.configure(first_ref_s=0.6, next_ref_s=0.4, refs_per_cycle=2)
    driver = make_driver()
    driver.get(simulator.url)
    box = qr_box(driver)
    button = wait_css(driver, EXPIRED_BUTTON, timeout=5)
    assert button.find_elements(By.CSS_SELECTOR, 'span[data-icon="refresh-large"]')
    assert "Click to reload QR code" in button.text
    assert box.find_element(By.TAG_NAME, "canvas").value_of_css_property("opacity") == "0.04"
    stale = box.get_attribute("data-ref")
    assert stale == simulator.state()["recent_refs"][-1]["payload"]
    assert simulator.live_payloads() == []
    response = simulator.scan(stale)
    assert response.status_code == 409 and "not live" in response.json()["error"]
    button.click()
    wait(driver).until(lambda d: box.get_attribute("data-ref") != stale and not d.find_elements(
        By.CSS_SELECTOR, EXPIRED_BUTTON))
    fresh = box.get_attribute("data-ref")
    assert simulator.live_payloads() == [fresh]
    assert simulator.state()["live_refs"][0]["index"] == 1
    assert box.find_element(By.TAG_NAME, "canvas").value_of_css_property("opacity") == "1"


@pytest.mark.browser
def test_scan_shows_loading_then_the_chat_list(simulator: Simulator, make_driver) -> None:
    simulator.configure(loading_s=1.0)
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    assert simulator.scan(payload).json() == {"ok": True}
    progress = wait_css(driver, "progress")
    assert progress.is_displayed() and "Loading your chats" in driver.find_element(By.TAG_NAME, "body").text
    wait_css(driver, CHAT_LIST)
    assert driver.find_elements(By.CSS_SELECTOR, "#side #pane-side")
    assert driver.find_elements(By.CSS_SELECTOR, ".two[tabindex]")
    assert not driver.find_elements(By.CSS_SELECTOR, "progress")
    assert storage(driver)["last-wid-md"] == '"5511999990000:1@c.us"'
    assert "wawc" in databases(driver)
    state = simulator.state()
    assert state["linked_devices"] == 1 and state["live_refs"] == []
    assert simulator.scan(payload).status_code == 409


@pytest.mark.browser
def test_stale_altered_and_unknown_payloads_are_rejected(simulator: Simulator, make_driver) -> None:
    simulator.configure(first_ref_s=0.8, next_ref_s=5.0)
    driver = make_driver()
    driver.get(simulator.url)
    box = qr_box(driver)
    first = box.get_attribute("data-ref")
    altered = first[:10] + ("A" if first[10] != "A" else "B") + first[11:]
    for payload in (altered, first + ",", first.rsplit(",", 1)[0], new_qr_payload()):
        assert simulator.scan(payload).status_code == 409
    wait(driver).until(lambda d: box.get_attribute("data-ref") != first)
    assert simulator.scan(first).status_code == 409
    assert simulator.scan(box.get_attribute("data-ref")).status_code == 200
    assert len(events(simulator.state(), "scan_rejected")) == 5


@pytest.mark.browser
def test_login_survives_a_browser_restart_on_the_same_profile(simulator: Simulator, make_driver) -> None:
    first = make_driver()
    link_by_scan(first, simulator)
    make_driver.quit(first)
    second = make_driver()
    second.get(simulator.url)
    wait_css(second, CHAT_LIST)
    state = simulator.state()
    assert len(events(state, "link")) == 1 and len(events(state, "ref_issued")) == 1
    assert [e["device_status"] for e in events(state, "connection_opened")] == ["none", "linked"]


@pytest.mark.browser
def test_phone_logout_clears_storage_then_shows_a_fresh_qr(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    old = link_by_scan(driver, simulator)
    assert simulator.logout().json() == {"ok": True, "devices": 1}
    wait(driver).until(lambda d: POST_LOGOUT in d.current_url)
    fresh = qr_box(driver).get_attribute("data-ref")
    assert fresh != old and simulator.live_payloads() == [fresh]
    kept = storage(driver)
    assert kept.get("old-logout-cred") == "1"
    assert "last-wid-md" not in kept and "WASecretBundle" not in kept
    assert "wawc" not in databases(driver)
    assert simulator.state()["linked_devices"] == 0
    assert simulator.logout().status_code == 409


@pytest.mark.browser
def test_logout_while_the_browser_was_closed_shows_post_logout_on_restart(
        simulator: Simulator, make_driver) -> None:
    first = make_driver()
    link_by_scan(first, simulator)
    make_driver.quit(first)
    assert simulator.logout().status_code == 200
    second = make_driver()
    second.get(simulator.url)
    wait(second).until(lambda d: POST_LOGOUT in d.current_url)
    assert qr_box(second).get_attribute("data-ref") in simulator.live_payloads()
    assert storage(second).get("old-logout-cred") == "1"


@pytest.mark.browser
def test_conflict_dialog_and_use_here(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    assert simulator.conflict().status_code == 200
    dialog = wait_css(driver, DIALOG)
    assert ('WhatsApp is open on another computer or browser. '
            'Click "Use here" to use WhatsApp in this window.') in dialog.text
    assert [b.text for b in dialog.find_elements(By.TAG_NAME, "button")] == ["Close", "Use here"]
    by_text(driver, "button", "Use here").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, DIALOG))
    assert driver.find_elements(By.CSS_SELECTOR, CHAT_LIST)
    assert events(simulator.state(), "takeover")


@pytest.mark.browser
def test_web_logout_from_the_menu(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    driver.find_element(By.CSS_SELECTOR, '[aria-label="Menu"] span[data-icon="menu"]').click()
    by_text(driver, "li", "Log out").click()
    dialog = wait_css(driver, DIALOG)
    dialog.find_element(By.XPATH, ".//button[normalize-space()='Log out']").click()
    wait(driver).until(lambda d: POST_LOGOUT in d.current_url)
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()
    state = simulator.state()
    assert state["linked_devices"] == 0 and events(state, "web_logout")


@pytest.mark.browser
def test_pairing_code_links_the_device(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    by_text(driver, "*[@role='button']", "Log in with phone number").click()
    phone = wait_css(driver, 'input[aria-label="Type your phone number."]')
    assert payload not in simulator.live_payloads()
    by_text(driver, "button", "Next").click()
    assert by_text(driver, "*[@role='alert']", "Please enter a valid phone number.")
    phone.send_keys("+55 11 99999-0000")
    by_text(driver, "button", "Next").click()
    box = wait_css(driver, "[data-link-code]")
    chars = box.get_attribute("data-link-code").split(",")
    assert len(chars) == 8 and all(c.isupper() or c.isdigit() for c in chars)
    assert [span.text for span in box.find_elements(By.TAG_NAME, "span")] == chars
    code = "".join(chars)
    live = simulator.state()["pairing_codes"]
    assert [(c["code"], c["phone"]) for c in live] == [(code, "5511999990000")]
    assert simulator.confirm_pairing_code(code[:4] + "-" + code[4:].lower()).json() == {"ok": True}
    wait_css(driver, CHAT_LIST)
    assert storage(driver)["last-wid-md"] == '"5511999990000:1@c.us"'
    assert simulator.confirm_pairing_code(code).status_code == 409


@pytest.mark.browser
def test_pairing_codes_rotate_expire_and_reload(simulator: Simulator, make_driver) -> None:
    simulator.configure(pairing_code_s=0.6, pairing_codes_per_cycle=2)
    driver = make_driver()
    driver.get(simulator.url)
    by_text(driver, "*[@role='button']", "Log in with phone number").click()
    wait_css(driver, 'input[aria-label="Type your phone number."]').send_keys("5511999990000")
    by_text(driver, "button", "Next").click()
    first = wait_css(driver, "[data-link-code]").get_attribute("data-link-code")
    wait(driver).until(lambda d: (found := d.find_elements(By.CSS_SELECTOR, "[data-link-code]"))
                       and found[0].get_attribute("data-link-code") != first)
    reload = wait_css(driver, 'button span[data-icon="refresh-large"]', timeout=5)
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-link-code]")
    state = simulator.state()
    assert state["pairing_codes"] == [] and len(state["recent_codes"]) == 2
    assert simulator.confirm_pairing_code(state["recent_codes"][-1]["code"]).status_code == 409
    reload.click()
    fresh = wait_css(driver, "[data-link-code]").get_attribute("data-link-code").replace(",", "")
    assert [c["code"] for c in simulator.state()["pairing_codes"]] == [fresh]
    by_text(driver, "*[@role='button']", "Log in with QR code").click()
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()
    assert simulator.state()["pairing_codes"] == []


@pytest.mark.browser
def test_headless_user_agent_gets_the_unsupported_browser_page(simulator: Simulator, make_driver) -> None:
    driver = make_driver(user_agent=HEADLESS_USER_AGENT)
    driver.get(simulator.url)
    assert driver.find_elements(By.CSS_SELECTOR, "body.page-version")
    title = driver.find_element(By.CSS_SELECTOR, ".version-title")
    assert title.text == "WhatsApp works with Google Chrome 100+"
    assert driver.find_elements(By.CSS_SELECTOR, 'a[href="https://support.google.com/chrome/answer/95414"]')
    assert not driver.find_elements(By.CSS_SELECTOR, "canvas")


@pytest.mark.browser
def test_navigating_away_ends_the_live_ref(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    driver.get("about:blank")
    simulator.wait_for(lambda s: not s["live_refs"] and not s["connections"], timeout=2.0)
    assert simulator.scan(payload).status_code == 409


@pytest.mark.browser
def test_never_show_qr_keeps_the_startup_screen(simulator: Simulator, make_driver) -> None:
    simulator.configure(never_show_qr=True)
    driver = make_driver()
    driver.get(simulator.url)
    simulator.wait_for(lambda s: s["connections"], timeout=5)
    time.sleep(1.0)  # many times startup_s: nothing may happen in the meantime
    assert driver.find_elements(By.ID, "wa_web_initial_startup")
    assert not driver.find_elements(By.CSS_SELECTOR, "canvas")
    assert simulator.state()["recent_refs"] == []
    simulator.configure(never_show_qr=False)
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()


def test_a_page_that_stops_polling_is_dropped_with_its_ref(simulator: Simulator) -> None:
    with requests.Session() as page:
        page.trust_env = False
        conn = page.post(simulator.url + "_wa/hello", json={"token": None}).json()["connection"]
        poll = {"connection": conn, "view": "qr"}
        ref = page.post(simulator.url + "_wa/poll", json=poll).json()["qr"]
        assert simulator.live_payloads() == [ref["payload"]] and len(ref["matrix"]) >= 21
        simulator.wait_for(lambda s: not s["connections"], timeout=4.0)
        assert simulator.scan(ref["payload"]).status_code == 409
        assert page.post(simulator.url + "_wa/poll", json=poll).status_code == 410


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "phone/scan", {}, 400),
    ("POST", "phone/scan", {"payload": 42}, 400),
    ("POST", "phone/scan", b"{not json", 400),
    ("POST", "phone/scan", [1, 2], 400),
    ("POST", "phone/scan", {"payload": "2@nope"}, 409),
    ("GET", "phone/scan", None, 405),
    ("DELETE", "phone/state", None, 405),
    ("GET", "phone/nowhere", None, 404),
    ("GET", "nowhere", None, 404),
    ("POST", "phone/logout", None, 409),
    ("POST", "phone/conflict", None, 409),
    ("POST", "phone/pairing-code", {"code": "ABCD-EFGH"}, 409),
    ("POST", "phone/pairing-code", {"code": None}, 400),
    ("POST", "phone/config", {"no_such_knob": 1}, 400),
    ("POST", "phone/config", {"startup_s": "fast"}, 400),
    ("POST", "phone/config", {"refs_per_cycle": 0}, 400),
    ("POST", "phone/config", {"never_show_qr": 1}, 400),
    ("POST", "phone/config", b"[]", 400),
    ("POST", "phone/reset", b"{oops", 400),
])
def test_phone_api_errors_are_json(simulator: Simulator, method: str, path: str, body: object,
                                   status: int) -> None:
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    response = simulator.http.request(method, simulator.url + path, timeout=5, **kwargs)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["error"], str)


def test_config_and_reset_restore_the_startup_knobs(simulator: Simulator) -> None:
    fast = simulator.state()["config"]
    assert simulator.configure(startup_s=2, never_show_qr=True)["startup_s"] == 2.0
    simulator.reset()
    assert simulator.state()["config"] == fast and fast["first_ref_s"] == 2.0 and fast["refs_per_cycle"] == 3


@pytest.mark.browser
def test_phone_page_scans_the_qr_on_screen(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    whatsapp = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(simulator.url + "phone")
    wait(driver).until(lambda d: payload in d.find_element(By.ID, "refs").text)
    driver.find_element(By.XPATH, "//button[normalize-space()='Scan the QR code on screen']").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "result").text.startswith("200"))
    driver.switch_to.window(whatsapp)
    wait_css(driver, CHAT_LIST)
    assert events(simulator.state(), "scan")[0]["payload"] == payload
