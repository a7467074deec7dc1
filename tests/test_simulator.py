"""The WhatsApp Web simulator, seen as the gateway's scraper sees it: real headless Chromium."""
from __future__ import annotations

import base64
import io
import re
import time

import pytest
import requests
import zxingcpp
from PIL import Image
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.browsers import HEADLESS_USER_AGENT
from tests.fake_whatsapp.codes import FAQ_FIELD, WA_ME_PREFIX, new_qr_payload
from tests.sim import Simulator

QR_ONLY = zxingcpp.BarcodeFormat.QRCode  # a camera looks for QR codes: no stray 1-D reading of the pattern

QR_CANVAS = 'canvas[aria-label="Scan this QR code to link a device!"]'
QR_BOX_OF_CANVAS = "ancestor::*[@data-ref][1]"
EXPIRED_BUTTON = "[data-ref] button"
CHAT_LIST = '#pane-side[aria-label="Chat list"]'
DIALOG = '[role="dialog"] [data-animate-modal-popup="true"]'
STARTUP = "wa_web_initial_startup"
POST_LOGOUT = "post_logout=1&logout_reason=0"
ACCOUNT = "5511999990000"


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


def script(driver: WebDriver, code: str, *args: object) -> object:
    """execute_script that answers None while the page is navigating."""
    try:
        return driver.execute_script(code, *args)
    except WebDriverException:
        return None


MODULE_STATE = """
if (typeof window.require !== 'function') return null;
let S, C;
try { S = require('WAWebSocketModel').Socket; C = require('WAWebConnModel').Conn; } catch (e) { return null; }
return {state: S.state, stream: S.stream, hasSynced: S.hasSynced, ref: C.ref, wid: C.wid, pushname: C.pushname};
"""


def modules(driver: WebDriver) -> dict | None:
    """Socket and Conn as the page's modules tell them, or None when window.require is absent."""
    return script(driver, MODULE_STATE)


def wait_modules(driver: WebDriver, predicate, timeout: float = 10.0) -> dict:
    """modules(driver), once it exists and satisfies `predicate`."""
    return wait(driver, timeout).until(lambda d: (m := modules(d)) is not None and predicate(m) and m)


def navigation(driver: WebDriver) -> str | None:
    """The URL the page was loaded with (its navigation entry), not location.href."""
    return script(driver, "return performance.getEntriesByType('navigation')[0].name;")


def text_of(driver: WebDriver) -> str:
    """The visible text of the page."""
    return driver.find_element(By.TAG_NAME, "body").text


def record_states(driver: WebDriver) -> None:
    """Record every Socket.state from now on in window.seenStates."""
    wait_modules(driver, lambda m: True)
    driver.execute_script("const S = require('WAWebSocketModel').Socket; window.seenStates = [S.state];"
                          "S.on('change:state', (model, value) => seenStates.push(value));")


def seen_states(driver: WebDriver) -> list[str]:
    """The Socket.state values recorded since record_states, without repeats."""
    states = driver.execute_script("return window.seenStates;")
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


# Every DOM sign of the page table (ids, attributes, ARIA, texts): none may show with dom_drift.
SPEC_SELECTORS = (
    "#wa_web_initial_startup", "#initial_startup", "progress", "[data-ref]", "canvas[aria-label]", "#pane-side",
    '[aria-label="Chat list"]', '[role="grid"]', "[data-link-code]", '[role="dialog"]',
    "[data-animate-modal-popup]", '[data-icon="refresh-large"]',
)
SPEC_TEXTS = (
    "end-to-end encrypted", "scan to log in", "log in with phone number", "log in with qr code",
    "click to reload qr code", "loading your chats", "connecting…", "downloading messages", "organizing messages",
    "don't close this window", "use here", "no internet connection", "connecting to whatsapp",
    "make sure your computer", "banned", "network", "update", "service unavailable",
    "another active whatsapp web tab", "enter code on phone", "code expired", "click to generate new code",
    "whatsapp works with google chrome",
)


def dom_signs(driver: WebDriver) -> list[str]:
    """The page table's DOM signs that the page shows now."""
    found = [css for css in SPEC_SELECTORS if driver.find_elements(By.CSS_SELECTOR, css)]
    text = driver.execute_script("return document.body.innerText.toLowerCase();")
    return found + [words for words in SPEC_TEXTS if words in text]


# ---- startup, QR, rotation, expiry, scan ----

@pytest.mark.browser
def test_startup_screen_comes_first_then_is_removed_for_the_qr(simulator: Simulator, make_driver) -> None:
    simulator.configure(startup_s=1.0)
    driver = make_driver()
    driver.get(simulator.url)
    startup = driver.find_element(By.ID, STARTUP)
    assert startup.find_elements(By.TAG_NAME, "progress")
    assert "WhatsApp" in startup.text and "End-to-end encrypted" in startup.text
    assert not driver.find_elements(By.ID, "initial_startup")
    canvas = wait_css(driver, QR_CANVAS)
    assert not driver.find_elements(By.ID, STARTUP)  # removed from the DOM, not hidden
    assert (canvas.get_attribute("width"), canvas.get_attribute("height")) == ("228", "228")
    assert canvas.get_attribute("role") == "img"
    state = simulator.state()
    opened, issued = events(state, "connection_opened")[0]["t"], events(state, "ref_issued")[0]["t"]
    assert issued - opened >= 0.9
    assert "Scan to log in" in text_of(driver)
    assert by_text(driver, "div[@role='button']", "Log in with phone number")


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
    assert [code.text for code in zxingcpp.read_barcodes(image, formats=QR_ONLY)] == [payload]


@pytest.mark.browser
@pytest.mark.parametrize(("variant", "shape"), [
    ("five", lambda p: len(p.split(",")) == 5 and p.endswith(",1")),
    ("six", lambda p: len(p.split(",")) == 6 and p.endswith(",1," + FAQ_FIELD)),
    ("wa_me", lambda p: p.startswith(WA_ME_PREFIX + "2@") and len(p.split(",")) == 5),
    ("four", lambda p: len(p.split(",")) == 4 and p.endswith("=")),
])
def test_payload_variants_are_scannable_exactly(simulator: Simulator, make_driver, variant, shape) -> None:
    simulator.configure(payload_variant=variant)
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    assert shape(payload), payload
    assert wait_modules(driver, lambda m: m["ref"])["ref"] == payload.split(",")[0]
    png = driver.execute_script("return arguments[0].toDataURL('image/png');", wait_css(driver, QR_CANVAS))
    image = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
    assert [code.text for code in zxingcpp.read_barcodes(image, formats=QR_ONLY)] == [payload]
    assert simulator.scan(payload.split(",", 1)[0]).status_code == 409  # opaque: the whole string or nothing
    assert simulator.scan(payload).status_code == 200
    wait_css(driver, CHAT_LIST)


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
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED_IDLE")["ref"] is None
    response = simulator.scan(stale)
    assert response.status_code == 409 and "not live" in response.json()["error"]
    button.click()
    wait(driver).until(lambda d: box.get_attribute("data-ref") != stale and not d.find_elements(
        By.CSS_SELECTOR, EXPIRED_BUTTON))
    fresh = box.get_attribute("data-ref")
    assert simulator.live_payloads() == [fresh]
    assert simulator.state()["live_refs"][0]["index"] == 1
    assert box.find_element(By.TAG_NAME, "canvas").value_of_css_property("opacity") == "1"
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED")["ref"] == fresh.split(",")[0]


@pytest.mark.browser
def test_scan_shows_loading_then_the_chat_list(simulator: Simulator, make_driver) -> None:
    simulator.configure(loading_s=1.0)
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    assert simulator.scan(payload).json() == {"ok": True}
    progress = wait_css(driver, "progress")
    assert progress.is_displayed()
    wait_css(driver, CHAT_LIST)
    assert driver.find_elements(By.CSS_SELECTOR, '#side #pane-side[role="grid"] [role="row"]')
    assert driver.find_elements(By.CSS_SELECTOR, ".two[tabindex]")
    assert not driver.find_elements(By.CSS_SELECTOR, "progress")
    empty = driver.find_elements(By.CSS_SELECTOR, '[role="dialog"]')  # as on the real page: one, unrelated
    assert len(empty) == 1 and empty[0].text == ""
    assert storage(driver)["last-wid-md"] == f'"{ACCOUNT}:1@c.us"'
    assert "wawc" in databases(driver)
    state = simulator.state()
    assert state["linked_devices"] == 1 and state["live_refs"] == []
    assert simulator.scan(payload).status_code == 409


LOADING_TEXTS = """
window.loadingTexts = [];
const note = () => {
  const title = document.querySelector('.loading-title');
  const text = title && title.textContent;
  if (text && loadingTexts[loadingTexts.length - 1] !== text) loadingTexts.push(text);
};
new MutationObserver(note).observe(document.body, {childList: true, subtree: true, characterData: true});
"""


@pytest.mark.browser
@pytest.mark.parametrize(("theme", "pattern", "extra"), [
    ("classic", r"^Loading your chats( \[\d{1,3}%\])?$", None),
    ("stages", r"^(Connecting…|Downloading messages: \d{1,3}%|Organizing messages)$",
     "Don't close this window. Your messages are downloading."),
])
def test_loading_themes(simulator: Simulator, make_driver, theme: str, pattern: str, extra: str | None) -> None:
    simulator.configure(loading_s=1.5, loading_theme=theme)
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    driver.execute_script(LOADING_TEXTS)
    began = time.monotonic()
    assert simulator.scan(payload).status_code == 200
    screen = wait_css(driver, ".loading-screen")
    assert screen.find_elements(By.TAG_NAME, "progress")
    buttons = [b.text for b in screen.find_elements(By.TAG_NAME, "button")]
    assert buttons == (["Log out"] if extra else [])  # the stages screen's trap, never clicked here
    if extra:
        assert extra in screen.text
    wait_css(driver, CHAT_LIST)
    assert 1.3 <= time.monotonic() - began <= 8.0  # loading_s is 1.5; generous for a busy machine
    texts = driver.execute_script("return window.loadingTexts;")
    assert all(re.match(pattern, text) for text in texts), texts
    if theme == "classic":
        assert texts[0] == "Loading your chats" and any("%]" in text for text in texts[1:])
    else:
        assert texts[0] == "Connecting…" and texts[-1] == "Organizing messages"
        assert any(text.startswith("Downloading messages: ") for text in texts)


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


# ---- WhatsApp's modules ----

@pytest.mark.browser
def test_modules_arrive_after_the_html_and_throw_for_unknown_names(simulator: Simulator, make_driver) -> None:
    simulator.configure(modules_delay_s=1.0, startup_s=1.5, debug_global=True, modules_on_demand=False)  # mid-2026
    driver = make_driver()
    driver.get(simulator.url)
    before = driver.execute_script(
        "return [typeof window.require, typeof window.Debug, !!document.getElementById(arguments[0])];", STARTUP)
    assert before == ["undefined", "undefined", True]
    wait(driver).until(lambda d: d.execute_script("return typeof window.require === 'function';"))
    assert driver.execute_script("return window.Debug.VERSION;") == "2.3000.1030000000"
    error = driver.execute_script("try { require('WAWebNoSuchModule'); return null; } catch (e) { return e.message; }")
    assert error == 'Requiring unknown module "WAWebNoSuchModule"'
    kinds = driver.execute_script(
        "const S = require('WAWebSocketModel').Socket, C = require('WAWebConnModel').Conn,"
        " M = require('WAWebCmd').Cmd;"
        "return [S, C, M].map(o => ['on', 'off', 'trigger'].every(k => typeof o[k] === 'function'))"
        ".concat([typeof S.takeover, typeof S.logout, typeof M.refreshQR]);")
    assert kinds == [True, True, True, "function", "function", "function"]
    assert modules(driver)["state"] in ("OPENING", "UNLAUNCHED")


@pytest.mark.browser
def test_socket_and_conn_follow_the_screens(simulator: Simulator, make_driver) -> None:
    simulator.configure(startup_s=1.0, first_ref_s=0.8, refs_per_cycle=1, loading_s=0.8)
    driver = make_driver()
    driver.get(simulator.url)
    record_states(driver)
    driver.execute_script("const C = require('WAWebConnModel').Conn; window.seenRefs = [];"
                          "C.on('change:ref', (model, ref) => seenRefs.push(ref));"
                          "const S = require('WAWebSocketModel').Socket; window.synced = [];"
                          "S.on('change:hasSynced', (model, value) => synced.push(value));")
    payload = qr_box(driver).get_attribute("data-ref")
    assert wait_modules(driver, lambda m: m["ref"])["ref"] == payload.split(",")[0]
    wait_css(driver, EXPIRED_BUTTON, timeout=5)
    wait_modules(driver, lambda m: m["state"] == "UNPAIRED_IDLE" and m["ref"] is None)
    driver.execute_script("require('WAWebCmd').Cmd.refreshQR();")
    wait(driver).until(lambda d: box_ref(d) != payload and not d.find_elements(By.CSS_SELECTOR, EXPIRED_BUTTON))
    fresh = box_ref(driver)
    assert simulator.scan(fresh).status_code == 200
    wait_css(driver, ".loading-screen")
    assert modules(driver)["stream"] == "SYNCING" and modules(driver)["hasSynced"] is False
    wait_css(driver, CHAT_LIST)
    final = wait_modules(driver, lambda m: m["hasSynced"])
    assert final["state"] == "CONNECTED" and final["stream"] == "CONNECTED"
    assert final["wid"] == {"user": ACCOUNT, "device": 1, "server": "c.us", "_serialized": f"{ACCOUNT}:1@c.us"}
    assert final["pushname"] == "Clinic Reception" and final["ref"] is None
    assert seen_states(driver)[-5:] == ["UNPAIRED", "UNPAIRED_IDLE", "UNPAIRED", "PAIRING", "CONNECTED"]
    refs = driver.execute_script("return window.seenRefs;")
    assert refs == [payload.split(",")[0], None, fresh.split(",")[0], None]
    assert driver.execute_script("return window.synced;") == [True]
    assert events(simulator.state(), "module_refresh_qr")


def box_ref(driver: WebDriver) -> str | None:
    """The data-ref of the QR holder now."""
    return script(driver, "const b = document.querySelector('[data-ref]'); return b && b.getAttribute('data-ref');")


@pytest.mark.browser
def test_modules_switched_off_never_exist(simulator: Simulator, make_driver) -> None:
    simulator.configure(modules=False, modules_delay_s=0.05)
    driver = make_driver()
    link_by_scan(driver, simulator)
    assert driver.execute_script("return [typeof window.require, typeof window.Debug];") == ["undefined"] * 2


# ---- keeping the login, logging out ----

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
    assert state["devices"][0]["stay_logged_in"] is True


@pytest.mark.browser
def test_unticked_stay_logged_in_loses_the_login_with_the_browser(simulator: Simulator, make_driver) -> None:
    simulator.configure(stay_logged_in_default=False)
    first = make_driver()
    first.get(simulator.url)
    payload = qr_box(first).get_attribute("data-ref")
    toggle = first.find_element(By.CSS_SELECTOR, "input#auto-logout-toggle[type=checkbox]")
    label = first.find_element(By.CSS_SELECTOR, 'label[for="auto-logout-toggle"]')
    assert label.text == "Stay logged in on this browser" and not toggle.is_selected()
    label.click()
    assert toggle.is_selected()
    first.execute_script("arguments[0].click();", toggle)
    assert not toggle.is_selected()
    simulator.wait_for(lambda s: len(events(s, "auto_logout_toggle")) == 2, timeout=5)
    assert [e["value"] for e in events(simulator.state(), "auto_logout_toggle")] == [True, False]
    assert simulator.scan(payload).status_code == 200
    wait_css(first, CHAT_LIST)
    assert "last-wid-md" not in storage(first) and "wawc" not in databases(first)
    assert first.execute_script("return sessionStorage.getItem('last-wid-md');") == f'"{ACCOUNT}:1@c.us"'
    first.refresh()  # the same tab keeps it
    wait_css(first, CHAT_LIST)
    make_driver.quit(first)
    second = make_driver()
    second.get(simulator.url)
    assert qr_box(second).get_attribute("data-ref") in simulator.live_payloads()
    state = simulator.state()
    assert events(state, "link")[0]["stay_logged_in"] is False
    assert [e["device_status"] for e in events(state, "connection_opened")] == ["none", "linked", "none"]


@pytest.mark.browser
def test_stay_logged_in_is_ticked_by_default(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    qr_box(driver)
    assert driver.find_element(By.ID, "auto-logout-toggle").is_selected()


@pytest.mark.browser
@pytest.mark.parametrize(("reason", "banner"), [
    (0, "A database error occurred on your browser. Please relink your device."),
    (3, "You have been logged out. To log back in, you will need to verify your phone number."),
])
def test_phone_logout_post_logout_url_is_replaced_on_boot(simulator: Simulator, make_driver, reason: int,
                                                          banner: str) -> None:
    simulator.configure(logout_reason=reason)
    driver = make_driver()
    old = link_by_scan(driver, simulator)
    driver.execute_script("sessionStorage.setItem('gateway-marker', 'kept');"
                          "require('WAWebCmd').Cmd.on('logout_from_bridge',"
                          " () => sessionStorage.setItem('cmd-logout', '1'));")
    assert simulator.logout().json() == {"ok": True, "devices": 1}
    wait(driver).until(lambda d: f"post_logout=1&logout_reason={reason}" in (navigation(d) or ""))
    fresh = qr_box(driver).get_attribute("data-ref")
    assert driver.current_url == simulator.url  # history.replaceState dropped the query
    assert driver.execute_script("return location.href;") == simulator.url
    assert banner in text_of(driver)
    assert fresh != old and simulator.live_payloads() == [fresh]
    kept = storage(driver)
    assert kept.get("old-logout-cred") == "1"
    assert "last-wid-md" not in kept and "WASecretBundle" not in kept
    assert "wawc" not in databases(driver)
    assert driver.execute_script("return [sessionStorage.getItem('gateway-marker'),"
                                 " sessionStorage.getItem('cmd-logout')];") == ["kept", "1"]
    assert simulator.state()["linked_devices"] == 0
    assert simulator.logout().status_code == 409


@pytest.mark.browser
def test_reload_logout_style_just_reloads(simulator: Simulator, make_driver) -> None:
    simulator.configure(logout_style="reload")
    driver = make_driver()
    link_by_scan(driver, simulator)
    driver.execute_script("require('WAWebCmd').Cmd.on('logout_from_bridge',"
                          " () => sessionStorage.setItem('cmd-logout', '1')); window.__oldPage = true;")
    assert simulator.logout().status_code == 200
    wait(driver).until(lambda d: script(d, "return document.readyState === 'complete' && !window.__oldPage;"))
    qr_box(driver)
    assert navigation(driver) == simulator.url and driver.current_url == simulator.url
    assert "last-wid-md" not in storage(driver) and "wawc" not in databases(driver)
    assert driver.execute_script("return sessionStorage.getItem('cmd-logout');") == "1"
    assert "database error" not in text_of(driver)


@pytest.mark.browser
def test_logout_while_the_browser_was_closed_shows_post_logout_on_restart(
        simulator: Simulator, make_driver) -> None:
    first = make_driver()
    link_by_scan(first, simulator)
    make_driver.quit(first)
    assert simulator.logout().status_code == 200
    second = make_driver()
    second.get(simulator.url)
    wait(second).until(lambda d: POST_LOGOUT in (navigation(d) or ""))
    assert qr_box(second).get_attribute("data-ref") in simulator.live_payloads()
    assert storage(second).get("old-logout-cred") == "1"


@pytest.mark.browser
def test_web_logout_from_the_menu(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    driver.find_element(By.CSS_SELECTOR, '[aria-label="Menu"] span[data-icon="menu"]').click()
    by_text(driver, "li[@role='menuitem']", "Log out").click()
    dialog = wait_css(driver, DIALOG)
    assert "Log out?" in dialog.text and "Are you sure you want to log out?" in dialog.text
    assert [b.text for b in dialog.find_elements(By.TAG_NAME, "button")] == ["Cancel", "Log out"]
    dialog.find_element(By.XPATH, ".//button[normalize-space()='Log out']").click()
    wait(driver).until(lambda d: POST_LOGOUT in (navigation(d) or ""))
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()
    state = simulator.state()
    assert state["linked_devices"] == 0 and events(state, "web_logout") and state["traps"] == []


@pytest.mark.browser
def test_socket_logout_unlinks_this_device(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    driver.execute_script("require('WAWebSocketModel').Socket.logout();")
    wait(driver).until(lambda d: POST_LOGOUT in (navigation(d) or ""))
    qr_box(driver)
    state = simulator.state()
    assert state["linked_devices"] == 0 and events(state, "module_logout")


# ---- conflict and traps ----

@pytest.mark.browser
@pytest.mark.parametrize(("variant", "text", "buttons"), [
    ("computer", 'WhatsApp is open on another computer or browser. Click "Use here" to use WhatsApp in this window.',
     ["Log out", "Use here"]),
    ("window", 'WhatsApp is open in another window. Click "Use here" to use WhatsApp in this window.',
     ["Close", "Use here"]),
])
def test_conflict_dialog_and_use_here(simulator: Simulator, make_driver, variant, text, buttons) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    assert simulator.conflict(variant).status_code == 200
    dialog = wait_css(driver, DIALOG)
    assert text in dialog.text
    assert [b.text for b in dialog.find_elements(By.TAG_NAME, "button")] == buttons
    assert wait_modules(driver, lambda m: m["state"] == "CONFLICT")
    by_text(driver, "button", "Use here").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, DIALOG))
    assert driver.find_elements(By.CSS_SELECTOR, CHAT_LIST)
    assert wait_modules(driver, lambda m: m["state"] == "CONNECTED")
    assert events(simulator.state(), "takeover")


@pytest.mark.browser
def test_conflict_variant_knob_and_socket_takeover(simulator: Simulator, make_driver) -> None:
    simulator.configure(conflict_variant="window")
    driver = make_driver()
    link_by_scan(driver, simulator)
    assert simulator.conflict().status_code == 200
    assert "another window" in wait_css(driver, DIALOG).text
    assert events(simulator.state(), "conflict")[0]["variant"] == "window"
    driver.execute_script("require('WAWebSocketModel').Socket.takeover();")
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, DIALOG))
    assert wait_modules(driver, lambda m: m["state"] == "CONNECTED")
    assert events(simulator.state(), "takeover")


def click(driver: WebDriver, element: WebElement, how: str) -> None:
    """A mouse click through WebDriver, or element.click() in the page."""
    if how == "mouse":
        element.click()
    else:
        driver.execute_script("arguments[0].click();", element)


def trap_button(driver: WebDriver, simulator: Simulator, trap: str) -> WebElement:
    """Bring the page to the screen of `trap`; its button."""
    if trap in ("conflict_log_out", "conflict_close"):
        link_by_scan(driver, simulator)
        assert simulator.conflict("computer" if trap == "conflict_log_out" else "window").status_code == 200
        return wait_css(driver, DIALOG).find_element(
            By.XPATH, ".//button[normalize-space()='%s']" % ("Log out" if trap == "conflict_log_out" else "Close"))
    if trap == "loading_log_out":
        simulator.configure(loading_s=30.0)
        driver.get(simulator.url)
        assert simulator.scan(qr_box(driver).get_attribute("data-ref")).status_code == 200
        return wait_css(driver, ".loading-screen").find_element(By.XPATH, ".//button[normalize-space()='Log out']")
    simulator.configure(screen="offline")  # connecting_log_out: the startup dialog while offline
    driver.get(simulator.url)
    return by_text(driver, "button", "Log out")


@pytest.mark.browser
@pytest.mark.clicks_traps
@pytest.mark.parametrize(("trap", "how"), [
    ("conflict_log_out", "mouse"), ("conflict_close", "script"), ("loading_log_out", "script"),
    ("connecting_log_out", "mouse"),
])
def test_traps_are_recorded_then_do_what_the_real_ones_do(simulator: Simulator, make_driver, trap, how) -> None:
    driver = make_driver()
    button = trap_button(driver, simulator, trap)
    assert simulator.traps() == []
    click(driver, button, how)
    state = simulator.wait_for(lambda s: s["traps"], timeout=5)
    assert [t["trap"] for t in state["traps"]] == [trap] and state["traps"][0]["t"] <= time.time()
    if trap == "conflict_close":  # the dialog goes, the page stays disconnected until a takeover
        wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, DIALOG))
        assert modules(driver)["state"] == "CONFLICT" and driver.find_elements(By.CSS_SELECTOR, CHAT_LIST)
        state = simulator.state()
        assert state["linked_devices"] == 1 and events(state, "conflict_closed")
        driver.execute_script("require('WAWebSocketModel').Socket.takeover();")
        wait_modules(driver, lambda m: m["state"] == "CONNECTED")
        return
    wait(driver).until(lambda d: POST_LOGOUT in (navigation(d) or ""))
    if trap == "connecting_log_out":
        simulator.configure(screen="")
    qr_box(driver)
    assert simulator.state()["linked_devices"] == 0


@pytest.mark.clicks_traps
def test_traps_are_never_truncated_and_reset_clears_them(simulator: Simulator) -> None:
    for _ in range(130):
        response = simulator.http.post(simulator.url + "_wa/trap", json={"trap": "loading_log_out"}, timeout=5)
        assert response.status_code == 200
    assert len(simulator.traps()) == 130
    assert simulator.http.post(simulator.url + "_wa/trap", json={"trap": "nope"}, timeout=5).status_code == 400
    simulator.reset()
    assert simulator.traps() == []


@pytest.mark.browser
@pytest.mark.parametrize("close_with", ["OK", "Close", "Escape"])
def test_whats_new_covers_the_menu_until_closed(simulator: Simulator, make_driver, close_with: str) -> None:
    simulator.configure(whats_new=True)
    driver = make_driver()
    link_by_scan(driver, simulator)
    dialog = wait_css(driver, '[role="dialog"] [data-animate-modal-popup="true"]')
    assert "What's new" in dialog.text and dialog.find_elements(By.CSS_SELECTOR, '[aria-label="Close"]')
    menu = driver.find_element(By.CSS_SELECTOR, '[aria-label="Menu"]')
    with pytest.raises(ElementClickInterceptedException):
        menu.click()
    driver.execute_script("arguments[0].click();", menu)
    assert not driver.find_elements(By.CSS_SELECTOR, '[role="menuitem"]')
    if close_with == "Escape":
        driver.find_element(By.TAG_NAME, "body").send_keys("\ue00c")
    elif close_with == "Close":
        dialog.find_element(By.CSS_SELECTOR, '[aria-label="Close"]').click()
    else:
        by_text(driver, "button", "OK").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, DIALOG))
    menu.click()
    assert by_text(driver, "li[@role='menuitem']", "Log out")
    assert simulator.wait_for(lambda s: events(s, "whats_new_closed"), timeout=5)


# ---- offline, blocked, unknown, other tab ----

@pytest.mark.browser
def test_offline_on_the_qr_page_then_back(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    box = qr_box(driver)
    old = box.get_attribute("data-ref")
    simulator.configure(screen="offline")
    button = wait_css(driver, "[data-ref] button")
    assert button.text == "No internet connection" and box.get_attribute("data-ref") == old
    assert wait_modules(driver, lambda m: m["state"] == "TIMEOUT")["ref"] is None
    simulator.wait_for(lambda s: s["live_refs"] == [], timeout=5)
    assert simulator.scan(old).status_code == 409
    simulator.configure(screen="")
    fresh = wait(driver).until(lambda d: (ref := box_ref(d)) != old and not d.find_elements(
        By.CSS_SELECTOR, "[data-ref] button") and ref)
    assert simulator.live_payloads() == [fresh]
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED")["ref"] == fresh.split(",")[0]


@pytest.mark.browser
def test_offline_during_startup_shows_the_connecting_dialog(simulator: Simulator, make_driver) -> None:
    simulator.configure(screen="offline")
    driver = make_driver()
    driver.get(simulator.url)
    dialog = wait_css(driver, '[role="dialog"]')
    assert "Connecting to WhatsApp" in dialog.text
    assert "Make sure your computer has an active internet connection." in dialog.text
    assert [b.text for b in dialog.find_elements(By.TAG_NAME, "button")] == ["Log out"]  # a trap: not clicked
    assert driver.find_elements(By.ID, STARTUP) and not driver.find_elements(By.TAG_NAME, "canvas")
    assert wait_modules(driver, lambda m: True)["state"] == "OPENING"
    assert simulator.state()["recent_refs"] == []
    simulator.configure(screen="")
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()
    assert not driver.find_elements(By.CSS_SELECTOR, '[role="dialog"]')


@pytest.mark.browser
@pytest.mark.parametrize(("screen", "texts", "socket"), [
    ("tos_block", ["Your account is banned", "This account is not allowed to use WhatsApp"], "TOS_BLOCK"),
    ("smb_tos_block", ["temporarily banned"], "SMB_TOS_BLOCK"),
    ("proxyblock", ["Your network blocks WhatsApp"], "PROXYBLOCK"),
    ("deprecated_version", ["WhatsApp Web needs to be updated"], "DEPRECATED_VERSION"),
    ("other_tab", ["There is already another active WhatsApp Web tab in this browser"], "UNLAUNCHED"),
])
def test_full_page_screens_at_run_time(simulator: Simulator, make_driver, screen, texts, socket) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    qr_box(driver)
    simulator.configure(screen=screen)
    wait(driver).until(lambda d: texts[0] in text_of(d))
    assert all(text in text_of(driver) for text in texts)
    assert not driver.find_elements(By.TAG_NAME, "canvas")
    assert wait_modules(driver, lambda m: m["state"] == socket)["ref"] is None
    simulator.wait_for(lambda s: s["live_refs"] == [], timeout=5)
    if screen == "other_tab":
        driver.execute_script("window.__oldPage = true;")
        by_text(driver, "button", "Refresh").click()
        wait(driver).until(lambda d: script(d, "return document.readyState === 'complete' && !window.__oldPage;"))
        wait(driver).until(lambda d: texts[0] in text_of(d))  # still another tab: the same page again
    simulator.configure(screen="")
    assert qr_box(driver).get_attribute("data-ref") in simulator.live_payloads()


@pytest.mark.browser
def test_block_screen_at_load_for_a_linked_profile(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    simulator.configure(screen="tos_block")
    driver.refresh()
    wait(driver).until(lambda d: "Your account is banned" in text_of(d))
    assert wait_modules(driver, lambda m: m["state"] == "TOS_BLOCK")
    simulator.configure(screen="")
    wait_css(driver, CHAT_LIST)
    assert wait_modules(driver, lambda m: m["state"] == "CONNECTED")


@pytest.mark.browser
def test_unknown_screen_has_no_modules_while_it_shows(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    wait_modules(driver, lambda m: m["ref"])
    simulator.configure(screen="unknown")
    wait(driver).until(lambda d: "Something new happened.\nTry again later." in text_of(d))
    assert driver.execute_script("return [typeof window.require, typeof window.Debug];") == ["undefined"] * 2
    assert dom_signs(driver) == []
    simulator.configure(screen="")
    qr_box(driver)
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED")


@pytest.mark.browser
def test_offline_while_linked_times_out_the_socket(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    link_by_scan(driver, simulator)
    simulator.configure(screen="offline")
    assert wait_modules(driver, lambda m: m["state"] == "TIMEOUT")
    assert "Computer not connected" in text_of(driver) and driver.find_elements(By.CSS_SELECTOR, CHAT_LIST)
    simulator.configure(screen="")
    wait_modules(driver, lambda m: m["state"] == "CONNECTED")
    assert "Computer not connected" not in text_of(driver)


# ---- DOM drift ----

@pytest.mark.browser
def test_dom_drift_hides_every_dom_sign_while_the_modules_work(simulator: Simulator, make_driver) -> None:
    config = simulator.configure(dom_drift=True, startup_s=1.0, first_ref_s=0.6, refs_per_cycle=1, loading_s=1.0)
    assert config["logout_style"] == "reload"
    driver = make_driver()
    driver.get(simulator.url)
    assert driver.find_elements(By.ID, "wa_web_startup_v2") and dom_signs(driver) == []
    ref = wait_modules(driver, lambda m: m["ref"])["ref"]
    holder = driver.find_element(By.CSS_SELECTOR, f'[data-qr-payload^="{ref}"]')
    payload = holder.get_attribute("data-qr-payload")
    assert payload.split(",")[0] == ref and dom_signs(driver) == []
    assert driver.find_elements(By.CSS_SELECTOR, "canvas:not([aria-label])")
    wait_modules(driver, lambda m: m["state"] == "UNPAIRED_IDLE")
    assert holder.get_attribute("data-qr-payload") == payload and dom_signs(driver) == []
    driver.execute_script("require('WAWebCmd').Cmd.refreshQR();")
    ref = wait_modules(driver, lambda m: m["ref"] and not payload.startswith(m["ref"]))["ref"]
    payload = driver.find_element(By.CSS_SELECTOR, f'[data-qr-payload^="{ref}"]').get_attribute("data-qr-payload")
    assert simulator.scan(payload).status_code == 200
    wait_modules(driver, lambda m: m["stream"] == "SYNCING")
    assert driver.find_elements(By.CSS_SELECTOR, '[role="progressbar"]') and dom_signs(driver) == []
    assert wait_modules(driver, lambda m: m["hasSynced"])["state"] == "CONNECTED"
    assert driver.find_elements(By.CSS_SELECTOR, '#chat-pane[role="list"]') and dom_signs(driver) == []
    assert simulator.conflict().status_code == 200
    wait_modules(driver, lambda m: m["state"] == "CONFLICT")
    wait_css(driver, "[data-modal-surface]")
    assert dom_signs(driver) == []
    driver.execute_script("require('WAWebSocketModel').Socket.takeover();")
    wait_modules(driver, lambda m: m["state"] == "CONNECTED")
    driver.execute_script("window.__oldPage = true; require('WAWebSocketModel').Socket.logout();")
    wait(driver).until(lambda d: script(d, "return document.readyState === 'complete' && !window.__oldPage;"))
    wait_modules(driver, lambda m: m["state"] == "UNPAIRED" and m["ref"])
    assert navigation(driver) == simulator.url and dom_signs(driver) == []
    assert simulator.state()["linked_devices"] == 0


@pytest.mark.browser
@pytest.mark.parametrize(("screen", "socket"), [
    ("offline", "TIMEOUT"), ("tos_block", "TOS_BLOCK"), ("smb_tos_block", "SMB_TOS_BLOCK"),
    ("proxyblock", "PROXYBLOCK"), ("deprecated_version", "DEPRECATED_VERSION"), ("other_tab", "UNLAUNCHED"),
])
def test_dom_drift_screens(simulator: Simulator, make_driver, screen: str, socket: str) -> None:
    simulator.configure(dom_drift=True)
    driver = make_driver()
    driver.get(simulator.url)
    wait_modules(driver, lambda m: m["ref"])
    simulator.configure(screen=screen)
    wait_modules(driver, lambda m: m["state"] == socket)
    assert dom_signs(driver) == []
    if screen == "offline":
        assert driver.find_elements(By.CSS_SELECTOR, "[data-qr-payload] button")


@pytest.mark.browser
def test_dom_drift_startup_offline_and_pairing(simulator: Simulator, make_driver) -> None:
    simulator.configure(dom_drift=True, screen="offline", pairing_code_s=0.5, pairing_codes_per_cycle=1)
    driver = make_driver()
    driver.get(simulator.url)
    wait_css(driver, '[role="alertdialog"]')
    assert wait_modules(driver, lambda m: True)["state"] == "OPENING" and dom_signs(driver) == []
    simulator.configure(screen="")
    wait_modules(driver, lambda m: m["ref"])
    by_text(driver, "div[@role='button']", "Use your phone number instead").click()
    assert dom_signs(driver) == []
    wait_css(driver, 'input[aria-label="Type your phone number."]').send_keys("5511999990000")
    by_text(driver, "button", "Next").click()
    wait_css(driver, "[data-pairing-code]")
    assert dom_signs(driver) == []
    wait_modules(driver, lambda m: m["state"] == "UNPAIRED_IDLE")
    assert driver.find_elements(By.CSS_SELECTOR, '[data-icon="refresh-xl"]') and dom_signs(driver) == []


@pytest.mark.browser
def test_dom_drift_unsupported_page(simulator: Simulator, make_driver) -> None:
    simulator.configure(dom_drift=True)
    driver = make_driver(user_agent=HEADLESS_USER_AGENT)
    driver.get(simulator.url)
    assert driver.find_elements(By.CSS_SELECTOR, "body.page-version") and dom_signs(driver) == []


# ---- pairing code, unsupported browser, pages, the phone API ----

@pytest.mark.browser
def test_pairing_code_links_the_device(simulator: Simulator, make_driver) -> None:
    driver = make_driver()
    driver.get(simulator.url)
    payload = qr_box(driver).get_attribute("data-ref")
    by_text(driver, "div[@role='button']", "Log in with phone number").click()
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
    assert storage(driver)["last-wid-md"] == f'"{ACCOUNT}:1@c.us"'
    assert simulator.confirm_pairing_code(code).status_code == 409
    assert events(simulator.state(), "link")[0]["method"] == "pairing_code"


@pytest.mark.browser
def test_pairing_codes_rotate_expire_and_reload(simulator: Simulator, make_driver) -> None:
    simulator.configure(pairing_code_s=0.6, pairing_codes_per_cycle=2)
    driver = make_driver()
    driver.get(simulator.url)
    by_text(driver, "div[@role='button']", "Log in with phone number").click()
    wait_css(driver, 'input[aria-label="Type your phone number."]').send_keys("5511999990000")
    by_text(driver, "button", "Next").click()
    first = wait_css(driver, "[data-link-code]").get_attribute("data-link-code")
    assert "Enter code on phone" in text_of(driver)
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED")["ref"] is None
    wait(driver).until(lambda d: (found := d.find_elements(By.CSS_SELECTOR, "[data-link-code]"))
                       and found[0].get_attribute("data-link-code") != first)
    reload = wait_css(driver, 'button span[data-icon="refresh-large"]', timeout=5)
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-link-code]")
    assert "Code expired" in text_of(driver) and "Click to generate new code" in text_of(driver)
    assert wait_modules(driver, lambda m: m["state"] == "UNPAIRED_IDLE")
    state = simulator.state()
    assert state["pairing_codes"] == [] and len(state["recent_codes"]) == 2
    assert simulator.confirm_pairing_code(state["recent_codes"][-1]["code"]).status_code == 409
    reload.click()
    fresh = wait_css(driver, "[data-link-code]").get_attribute("data-link-code").replace(",", "")
    assert [c["code"] for c in simulator.state()["pairing_codes"]] == [fresh]
    by_text(driver, "div[@role='button']", "Log in with QR code").click()
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
    assert driver.execute_script("return typeof window.require;") == "undefined"
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
    ("POST", "phone/config", {"screen": "bananas"}, 400),
    ("POST", "phone/config", {"loading_theme": 3}, 400),
    ("POST", "phone/config", {"payload_variant": "seven"}, 400),
    ("POST", "phone/config", {"logout_reason": -1}, 400),
    ("POST", "phone/config", {"dom_drift": "yes"}, 400),
    ("POST", "phone/conflict", {"variant": "tablet"}, 400),
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
    assert {name: fast[name] for name in NEW_KNOB_DEFAULTS} == NEW_KNOB_DEFAULTS


NEW_KNOB_DEFAULTS = {
    "modules": True, "modules_delay_s": 0.3, "dom_drift": False, "loading_theme": "stages",
    "logout_style": "post_logout", "logout_reason": 0, "screen": "", "conflict_variant": "computer",
    "stay_logged_in_default": True, "payload_variant": "five", "whats_new": False,
}


def test_dom_drift_picks_the_plain_reload_logout_unless_told_otherwise(simulator: Simulator) -> None:
    assert simulator.configure(dom_drift=True)["logout_style"] == "reload"
    assert simulator.configure(dom_drift=False)["logout_style"] == "post_logout"
    assert simulator.configure(dom_drift=True, logout_style="post_logout")["logout_style"] == "post_logout"


def test_simulator_start_passes_string_knobs_on_the_command_line() -> None:
    knobs = {"screen": "offline", "loading_theme": "classic", "dom_drift": True, "payload_variant": "wa_me",
             "logout_reason": 3}
    with Simulator.start(fast=True, **knobs) as sim:
        config = sim.state()["config"]
        assert {name: config[name] for name in knobs} == knobs
        assert config["logout_style"] == "reload" and config["first_ref_s"] == 2.0
    with Simulator.start(screen="") as sim:
        assert sim.state()["config"]["screen"] == ""


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
