"""The simulator's messaging, in real Chromium: WhatsApp's modules, the send route, acks, patients' messages."""
from __future__ import annotations

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.sim import Simulator

CHAT_LIST = "#pane-side, #chat-pane"
SEND_BUTTON = 'button[aria-label="Send"]'
NOBODY = "15550000000"  # in the default not_on_whatsapp list
PATIENT = "5511988880000"

# Sends like whatsapp-web.js 1.34 (Utils.js sendMessage, with the module names of Store.js):
# number -> createWid -> queryWidExists -> findOrCreateLatestChat -> MsgKey -> addAndSendMsgToChat.
SEND_LIKE_WWEBJS = """
const [digits, text, direct] = arguments, done = arguments[arguments.length - 1];
(async () => {
  const req = window.require;
  let wid = req('WAWebWidFactory').createWid(digits + '@c.us');
  if (!direct) {
    const found = await req('WAWebQueryExistsJob').queryWidExists(wid);
    if (!found || !found.wid) return {error: 'not_on_whatsapp'};
    wid = found.wid;
  }
  const chat = req('WAWebCollections').Chat.get(wid)
    || (await req('WAWebFindChatAction').findOrCreateLatestChat(wid)).chat;
  const MsgKey = req('WAWebMsgKey'), me = req('WAWebUserPrefsMeUser').getMaybeMeUser();
  const id = new MsgKey({from: me, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});
  const [added, sent] = req('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
    id, ack: 0, body: text, from: me, to: chat.id, local: true, self: 'out',
    t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat'});
  await added;
  window.__sent = sent;
  return {id: String(id), to: String(chat.id)};  // late 2026: no key._serialized
})().then(done, (e) => done({error: String(e && e.message || e)}));
"""

LISTEN = """
const Msg = window.require('WAWebCollections').Msg;
window.__heard = {add: [], acks: []};
Msg.on('add', (m) => window.__heard.add.push({id: String(m.id), fromMe: m.id.fromMe, type: m.type,
  isNewMsg: m.isNewMsg, from: String(m.from)}));
Msg.on('change:ack', (m, ack) => window.__heard.acks.push([String(m.id), ack]));
"""


MESSAGING_REGISTERED = "try { return !!window.require('WAWebCollections'); } catch (e) { return false; }"


def wait(driver: WebDriver, timeout: float = 10.0) -> WebDriverWait:
    """A WebDriverWait that polls often."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))


def first(driver: WebDriver, css: str, timeout: float = 10.0):
    """The first element matching `css`, once there is one."""
    return wait(driver, timeout).until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, css)), None))


def script(driver: WebDriver, code: str, *args: object) -> object:
    """execute_script that answers None while the page navigates."""
    try:
        return driver.execute_script(code, *args)
    except WebDriverException:
        return None


def linked(driver: WebDriver, sim: Simulator, **knobs) -> WebDriver:
    """Open WhatsApp, scan its QR, wait for the chat list (and the modules, unless switched off)."""
    if knobs:
        sim.configure(**knobs)
    driver.get(sim.url)
    holder = first(driver, "[data-ref], [data-qr-payload]")
    payload = holder.get_attribute("data-ref") or holder.get_attribute("data-qr-payload")
    assert sim.scan(payload).status_code == 200
    first(driver, CHAT_LIST)
    if knobs.get("modules", True):
        wait(driver).until(lambda d: script(d, MESSAGING_REGISTERED))  # a moment after the chats
    return driver


def send(driver: WebDriver, digits: str, text: str, direct: bool = False) -> dict:
    """Send through the modules as whatsapp-web.js does; {"id", "to"} or {"error"}."""
    return driver.execute_async_script(SEND_LIKE_WWEBJS, digits, text, direct)


def current_ack(driver: WebDriver, wa_id: str) -> int | None:
    """The ack of a message as the Msg collection holds it now."""
    return script(driver, "const m = window.require('WAWebCollections').Msg.get(arguments[0]); "
                          "return m ? m.ack : null;", wa_id)


def test_a_message_sent_through_the_modules_reaches_the_phone_and_its_acks_advance(simulator, make_driver):
    driver = linked(make_driver(), simulator)
    driver.execute_script(LISTEN)
    answer = send(driver, PATIENT, "Your appointment is tomorrow at 10:30")
    assert answer["to"] == f"{PATIENT}@c.us" and answer["id"].startswith(f"true_{PATIENT}@c.us_")
    sent = simulator.sent_once_there_are(1)
    assert [(m["id"], m["to"], m["text"], m["via"]) for m in sent] == [
        (answer["id"], PATIENT, "Your appointment is tomorrow at 10:30", "modules")]
    wait(driver).until(lambda d: current_ack(d, answer["id"]) == 3)
    acks = [ack for wa_id, ack in script(driver, "return window.__heard.acks;") if wa_id == answer["id"]]
    assert acks == [1, 2, 3]
    assert simulator.sent_messages()[0]["ack"] == 3


def test_a_number_without_whatsapp_is_not_found_and_nothing_is_sent(simulator, make_driver):
    driver = linked(make_driver(), simulator)
    assert send(driver, NOBODY, "hello") == {"error": "not_on_whatsapp"}
    assert simulator.sent_messages() == []


def test_a_lid_number_is_reached_through_its_lid_and_not_straight_at_c_us(simulator, make_driver):
    driver = linked(make_driver(), simulator, lid_numbers=[PATIENT])
    assert "No LID for user" in send(driver, PATIENT, "direct", direct=True)["error"]
    answer = send(driver, PATIENT, "through the lid")
    assert answer["to"].endswith("@lid")
    assert [(m["to"], m["jid"]) for m in simulator.sent_once_there_are(1)] == [(PATIENT, answer["to"])]


@pytest.mark.parametrize("knob", ["send_fails", "restricted"])
def test_rejected_sends_end_in_ack_minus_one_and_are_not_sent(simulator, make_driver, knob):
    driver = linked(make_driver(), simulator, **{knob: True})
    answer = send(driver, PATIENT, "hello")
    wait(driver).until(lambda d: current_ack(d, answer["id"]) == -1)
    assert simulator.sent_messages() == [] and len(simulator.messages()["rejected"]) == 1


def test_the_restriction_notice_shows_and_goes_with_the_knob(simulator, make_driver):
    driver = linked(make_driver(), simulator, restricted=True)
    assert "may be restricted soon" in first(driver, "#wa-restricted").text.lower()
    simulator.configure(restricted=False)
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#wa-restricted"))


def test_the_read_ack_can_change_without_an_event(simulator, make_driver):
    driver = linked(make_driver(), simulator, read_ack_event=False)
    driver.execute_script(LISTEN)
    answer = send(driver, PATIENT, "hello")
    wait(driver).until(lambda d: current_ack(d, answer["id"]) == 3)
    assert [ack for wa_id, ack in script(driver, "return window.__heard.acks;") if wa_id == answer["id"]] == [1, 2]


def test_messages_stay_delivered_until_the_patient_reads_them(simulator, make_driver):
    driver = linked(make_driver(), simulator, ack_read_after_s=None)
    answer = send(driver, PATIENT, "hello")
    wait(driver).until(lambda d: current_ack(d, answer["id"]) == 2)
    assert simulator.read_messages().status_code == 200
    wait(driver).until(lambda d: current_ack(d, answer["id"]) == 3)


def test_a_patients_message_arrives_as_ciphertext_then_decrypted(simulator, make_driver):
    driver = linked(make_driver(), simulator)
    driver.execute_script(LISTEN)
    assert simulator.send_from_patient("+55 11 98888 0000", "Yes, I'll be there").status_code == 200
    heard = wait(driver).until(lambda d: (h := script(d, "return window.__heard.add;")) and h)
    assert heard[0]["type"] == "ciphertext" and heard[0]["isNewMsg"] and not heard[0]["fromMe"]
    assert heard[0]["from"] == f"{PATIENT}@c.us"
    decrypted = "const m = window.require('WAWebCollections').Msg.get(arguments[0]); return m.type === 'chat' && m.body"
    wait(driver).until(lambda d: script(d, decrypted, heard[0]["id"]) == "Yes, I'll be there")
    assert [m["from"] for m in simulator.received_messages()] == [PATIENT]


def test_a_patient_cannot_write_when_no_page_is_logged_in(simulator):
    assert simulator.send_from_patient("+55 11 98888 0000", "hello").status_code == 409


@pytest.mark.parametrize("drift", [False, True])
def test_the_send_route_types_the_text_and_the_send_button_sends_it(simulator, make_driver, drift):
    driver = linked(make_driver(), simulator, modules=False, dom_drift=drift)
    driver.get(f"{simulator.url}send?phone={PATIENT}&text=See%20you%20at%2010%3A30")
    button = first(driver, SEND_BUTTON)
    assert first(driver, '[role="textbox"][contenteditable="true"]').text == "See you at 10:30"
    button.click()
    row = first(driver, f'[data-id^="true_{PATIENT}@c.us_"]')
    assert [(m["id"], m["text"], m["via"]) for m in simulator.sent_once_there_are(1)] == [
        (row.get_attribute("data-id"), "See you at 10:30", "page")]
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f'[data-id="{row.get_attribute("data-id")}"] '
                                                                 '[aria-label=" Read "]'))


def test_the_send_route_shows_the_invalid_number_dialog(simulator, make_driver):
    driver = linked(make_driver(), simulator, modules=False)
    driver.get(f"{simulator.url}send?phone={NOBODY}&text=hello")
    wait(driver).until(lambda d: any("phone number shared via url is invalid" in box.text.lower()
                                     for box in d.find_elements(By.CSS_SELECTOR, '[role="dialog"]')))
    assert not driver.find_elements(By.CSS_SELECTOR, SEND_BUTTON)


def test_the_phone_endpoints_check_their_input(simulator):
    for body in ({"from": "12", "text": "x"}, {"from": "+55 11 98888 0000"}, {"text": "x"}):
        assert simulator.http.post(simulator.url + "phone/messages", json=body, timeout=5).status_code == 400
    assert simulator.configure(not_on_whatsapp=["123456789"], ack_read_after_s=None)["ack_read_after_s"] is None
    with pytest.raises(requests.HTTPError):
        simulator.configure(lid_numbers=["+55 11"])


def test_list_and_null_knobs_pass_on_the_command_line():
    knobs = {"not_on_whatsapp": ["111111111", "222222222"], "lid_numbers": [], "ack_read_after_s": None,
             "ack_delivered_after_s": 0.2, "read_ack_event": False}
    with Simulator.start(fast=True, **knobs) as sim:
        config = sim.state()["config"]
    assert {name: config[name] for name in knobs} == knobs
