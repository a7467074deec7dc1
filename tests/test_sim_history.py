"""The simulator's December-2026 messaging, driven straight in real Chromium: history after a reload,
loadEarlierMsgs and getMessagesById at once, keys as strings, chat origins counted, function shapes."""
from __future__ import annotations

import pytest

from tests.test_simulator_messaging import PATIENT, linked, script, send, wait

MSGS_OF = """
const C = window.require('WAWebCollections'), chat = C.Chat.get(arguments[0]);
return {chat: !!chat, loaded: chat ? chat.msgs.getModelsArray().map((m) => String(m.id)) : [],
  all: C.Msg.getModelsArray().map((m) => String(m.id))};
"""
LOAD_EARLIER = """
const [jid, shape] = arguments, done = arguments[arguments.length - 1];
const C = window.require('WAWebCollections'), load = window.require('WAWebChatLoadMessages').loadEarlierMsgs;
const chat = C.Chat.get(jid);
Promise.resolve().then(() => shape === 'object' ? load({chat}) : load(chat, chat.msgs))
  .then((loaded) => done({length: load.length, loaded: loaded.map((m) => String(m.id))}),
    (e) => done({error: String(e)}));
"""
BY_ID = """
const done = arguments[arguments.length - 1];
window.require('WAWebCollections').Msg.getMessagesById([arguments[0]])
  .then((r) => done(r.messages.map((m) => String(m.id))));
"""


def reloaded(driver):
    """The same page loaded again (the login is kept): the chat list and the messaging modules."""
    driver.refresh()
    wait(driver, 20).until(lambda d: script(d, "try { return !!window.require('WAWebCollections'); } "
                                               "catch (e) { return false; }"))
    return driver


def test_a_reloaded_page_gets_its_chats_at_once_and_their_messages_after_the_history_delay(simulator, make_driver):
    driver = linked(make_driver(), simulator, history_delay_s=1.5)
    answer = send(driver, PATIENT, "Reminder: tomorrow 10:30")
    simulator.sent_once_there_are(1)
    reloaded(driver)
    first = script(driver, MSGS_OF, answer["to"])
    assert first["chat"] and answer["id"] not in first["all"]  # the chats first, their messages not yet
    wait(driver).until(lambda d: answer["id"] in script(d, MSGS_OF, answer["to"])["loaded"])


@pytest.mark.parametrize("shape", ["object", "positional"])
def test_load_earlier_brings_a_chats_messages_at_once_in_the_shape_of_the_build(simulator, make_driver, shape):
    driver = linked(make_driver(), simulator, history_delay_s=60.0, fn_shapes=shape)
    answer = send(driver, PATIENT, "Reminder")
    simulator.sent_once_there_are(1)
    reloaded(driver)
    loaded = driver.execute_async_script(LOAD_EARLIER, answer["to"], shape)
    assert loaded == {"length": 1 if shape == "object" else 2, "loaded": [answer["id"]]}
    wrong = driver.execute_async_script(LOAD_EARLIER, answer["to"], "positional" if shape == "object" else "object")
    assert "expected" in wrong["error"]


def test_messages_are_found_by_id_from_the_pages_store_and_keys_have_no_serialized(simulator, make_driver):
    driver = linked(make_driver(), simulator, history_delay_s=60.0)
    answer = send(driver, PATIENT, "Reminder")
    simulator.sent_once_there_are(1)
    assert script(driver, "const Msg = window.require('WAWebCollections').Msg, m = Msg.get(arguments[0]); "
                          "return !!m && Msg.get(m.id) === m;", answer["id"])  # a key object or its string
    reloaded(driver)
    assert driver.execute_async_script(BY_ID, answer["id"]) == [answer["id"]]
    shape = driver.execute_async_script("""
      const done = arguments[arguments.length - 1], C = window.require('WAWebCollections');
      C.Msg.getMessagesById([arguments[0]]).then((r) => { const k = r.messages[0].id;
        done({serialized: k._serialized === undefined, same: String(k) === k.toString(), len: k.id.length}); });
    """, answer["id"])
    assert shape == {"serialized": True, "same": True, "len": 36}


def test_an_lid_chat_created_without_the_createchat_origin_is_counted(simulator, make_driver):
    driver = linked(make_driver(), simulator)
    made = driver.execute_async_script("""
      const done = arguments[arguments.length - 1], F = window.require('WAWebFindChatAction');
      const W = window.require('WAWebWidFactory');
      F.findOrCreateLatestChat(W.createWid('911@lid'))
        .then(() => F.findOrCreateLatestChat(W.createWid('922@lid'), 'createChat')).then(() => done(true));
    """)
    assert made is True
    wait(driver).until(lambda d: simulator.state()["unexpected_lid_chats"] == 1)
