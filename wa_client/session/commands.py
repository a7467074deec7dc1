"""The CRM's commands as data: COMMANDS maps each kind to the states it may run in, its refusal words, how its
page part starts and what observation confirms it. The client checks a command against it before queueing it,
the worker's queue again before running it (the session may have moved meanwhile): one table, like `TABLE`
serves `decide`. The messaging kinds are the chat package's (wa_client.chat.hub.COMMANDS), read from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wa_client.chat.hub import COMMANDS as CHAT_KINDS
from wa_client.chat.hub import SendError
from wa_client.chat.worker import ChatWorker
from wa_client.jobs import ActionError, Command
from wa_client.page.actions import PageActions
from wa_client.states import State, StateError

logger = logging.getLogger(__name__)

PAIRING_CODE, LOGOUT, TAKEOVER, SCREENSHOT = "pairing_code", "logout", "takeover", "screenshot"


class Hands(Protocol):
    """What a command's page part may use: the page's actions, the chat worker, the logout flag for decide."""

    actions: PageActions
    chat: ChatWorker
    logout_requested: bool


#: Carry out the page part of a command on the worker's thread; True when it is answered already.
Start = Callable[[Hands, Command], bool]
#: The answer a later observation (the /status picture) gives a started command; None: not yet.
Confirm = Callable[[dict, Command], object | None]


@dataclass(frozen=True)
class CommandSpec:
    """One row of COMMANDS."""

    states: frozenset[State]  # where the command may run
    refusal: str  # the words when it may not (the current state is added)
    start: Start
    confirm: Confirm | None = None  # None: nothing confirms it (it ends with the session, or its time is up)
    awaited: str = ""  # what it waits to see, in the words of its timeout error
    chat: bool = False  # a messaging command: refused as SendError("not_connected"), run by the chat worker

    def allows(self, state: State) -> bool:
        """True when the command may run in `state`."""
        return state in self.states

    def refused(self, state: State) -> Exception:
        """The error that refuses the command in `state` (the same wherever it is refused)."""
        words = f"{self.refusal} (the session is {state})"
        return SendError("not_connected", words) if self.chat else StateError(words)


def _pairing_code(hands: Hands, command: Command) -> bool:
    hands.actions.enter_phone_number(command.args["digits"])
    logger.info("pairing code requested for a number ending in %s", command.args["digits"][-2:])
    return False


def _logout(hands: Hands, command: Command) -> bool:
    via = hands.actions.log_out()
    hands.logout_requested = True
    logger.info("logout from the CRM carried out (through the %s)", via)
    return False


def _takeover(hands: Hands, command: Command) -> bool:
    if not hands.actions.take_over():
        raise ActionError("WhatsApp's 'Use here' button was not found")
    return False


def _screenshot(hands: Hands, command: Command) -> bool:
    command.future.set_result(hands.actions.screenshot())
    return True


def _chat(hands: Hands, command: Command) -> bool:
    hands.chat.start(command, True)  # (answered by a later poll, or now through the page route)
    return True


def _code_shown(status: dict, command: Command) -> object | None:
    return status["pairing_code"]


def _conflict_gone(status: dict, command: Command) -> object | None:
    return status if status["state"] != State.CONFLICT.value else None


COMMANDS: dict[str, CommandSpec] = {
    PAIRING_CODE: CommandSpec(frozenset({State.QR}), "a pairing code needs the QR page: click Generate QR first",
                              _pairing_code, _code_shown, awaited="a pairing code"),
    LOGOUT: CommandSpec(frozenset({State.CONNECTED}), "logout needs a connected session", _logout,
                        awaited="the logged-out page"),
    TAKEOVER: CommandSpec(frozenset({State.CONFLICT}), "takeover needs the 'open elsewhere' conflict", _takeover,
                          _conflict_gone, awaited="the chats after 'Use here'"),
    SCREENSHOT: CommandSpec(frozenset(State), "", _screenshot),
    **{kind: CommandSpec(frozenset({State.CONNECTED}), "WhatsApp is not connected", _chat, chat=True)
       for kind in sorted(CHAT_KINDS)},
}


def check(kind: str, state: State) -> CommandSpec:
    """The row of `kind` when it may run in `state`; raises its refusal (or ActionError for an unknown kind)."""
    spec = COMMANDS.get(kind)
    if spec is None:
        raise ActionError(f"unknown command {kind!r}")
    if not spec.allows(state):
        raise spec.refused(state)
    return spec
