"""The session's record has one writer, its commands one table, its transitions one gate (issue 22); no browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wa_client import Settings, WhatsAppClient
from wa_client.chat.hub import COMMANDS as CHAT_KINDS
from wa_client.chat.hub import Lookup, SendError
from wa_client.jobs import Command
from wa_client.page.probe import DomSigns, Observation
from wa_client.page.recognise import recognise
from wa_client.session.command_queue import CommandQueue
from wa_client.session.commands import COMMANDS
from wa_client.session.decide import Decision
from wa_client.session.record import SessionRecord
from wa_client.states import TRANSITIONS, State, StateError

REPO = Path(__file__).resolve().parent.parent
PHONE = "+55 11 99999 0000"

#: How the client's front asks for each kind that some state refuses.
ASK = {
    "pairing_code": lambda client: client.request_pairing_code(PHONE),
    "logout": lambda client: client.logout(),
    "takeover": lambda client: client.take_over(),
    "send_message": lambda client: client.send_message("5511999990000", "hello"),
    "new_message_id": lambda client: client.new_message_id(),
    "contact_exists": lambda client: client.contact_exists("5511999990000"),
    "find_sent": lambda client: client.find_sent([Lookup("m1", "5511999990000", None, None, "hello", 0.0)]),
}
REFUSED = [(kind, state) for kind, spec in COMMANDS.items() for state in State if not spec.allows(state)]


class _At:
    """A SessionView that stays in one state (what the queue reads)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def status(self) -> dict:
        return {"state": self.state.value, "reason": None, "pairing_code": None}


def _reach(record: SessionRecord, state: State) -> None:
    """Walk the record to `state` along allowed transitions (every state is one step from `starting`)."""
    if state is not State.IDLE:
        assert record.transition(State.STARTING, None, None)
    if state not in (State.IDLE, State.STARTING):
        assert record.transition(state, None, None)


@pytest.fixture
def client(tmp_path):
    made = WhatsAppClient(Settings.from_mapping({"profile_dir": str(tmp_path / "profile"),
                                                  "wa_url": "http://127.0.0.1:9/"}), spawn=lambda *_: None)
    yield made
    assert made.counters["illegal_transitions"] == 0


def test_every_kind_a_state_refuses_has_a_front_door_and_the_chat_kinds_are_the_chat_packages():
    assert {kind for kind, _ in REFUSED} == set(ASK)
    assert {kind for kind, spec in COMMANDS.items() if spec.chat} == set(CHAT_KINDS)


@pytest.mark.parametrize(("kind", "state"), REFUSED, ids=[f"{kind}-{state}" for kind, state in REFUSED])
def test_the_client_and_the_queue_refuse_a_command_with_the_same_words(client, kind, state):
    _reach(client._record, state)
    with pytest.raises((StateError, SendError)) as by_client:
        ASK[kind](client)
    queue = CommandQueue(_At(state), actions=None, chat=None)
    command = queue.submit(Command(kind, {"digits": "5511999990000", "text": "hello", "lookups": []}))
    queue.run()
    by_queue = command.future.exception(timeout=0)
    assert type(by_queue) is type(by_client.value)
    assert str(by_queue) == str(by_client.value) == f"{COMMANDS[kind].refusal} (the session is {state})"
    if isinstance(by_queue, SendError):
        assert by_queue.reason == by_client.value.reason == "not_connected"


ILLEGAL = [(old, new) for old in State for new in State if new is not old and new not in TRANSITIONS[old]]


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=[f"{old}-{new}" for old, new in ILLEGAL])
def test_the_record_refuses_an_illegal_transition(old, new):
    record = SessionRecord(qr_timeout_s=60)
    _reach(record, old)
    heard: list = []
    record.subscribe(lambda event, payload: heard.append(event))
    record.flush()
    heard.clear()
    history = record.history()

    assert record.transition(new, None, "should not happen") is False
    record.flush()
    assert record.state is old and record.history() == history and heard == []
    assert record.counters["illegal_transitions"] == 1


def test_a_decision_the_table_forbids_is_not_applied():
    record = SessionRecord(qr_timeout_s=60)  # idle: only `starting` may follow
    sight = recognise(Observation(dom=DomSigns(chats=True)))
    changed, _ = record.apply(Decision(State.CONNECTED), sight, None)
    assert record.state is State.IDLE and record.status()["state"] == "idle" and not changed
    assert record.counters["illegal_transitions"] == 1


WRITES = re.compile(r"record\.(begin|transition|apply|note_command|forget_account|explain|new_qr_cycle|"
                    r"keep_screenshot|count)\(")


def test_only_the_runner_writes_the_record():
    """Inside the session (and above it, where the client is used) only runner.py calls the record's writes;
    nothing outside the session package imports the record (the outbox's own `record` is its store's)."""
    near = [*REPO.glob("wa_client/session/*.py"), *REPO.glob("web/**/*.py"), REPO / "app.py"]
    writers = sorted(str(path.relative_to(REPO)) for path in near if WRITES.search(path.read_text()))
    assert writers == ["wa_client/session/runner.py"]
    outside = [path for path in [*REPO.glob("wa_client/**/*.py"), *REPO.glob("web/**/*.py"), REPO / "app.py"]
               if "session" not in path.relative_to(REPO).parts]
    assert [path.name for path in outside if "wa_client.session.record" in path.read_text()] == []
