"""The CRM's commands for one session: queued, carried out on the page between two polls, and answered
through their futures once an observation confirms them (or their time is up, or the session ends)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from wa_client.chat.hub import COMMANDS as CHAT_COMMANDS
from wa_client.chat.worker import ChatWorker
from wa_client.jobs import ActionError, Command
from wa_client.page.actions import PageActions
from wa_client.page.recognise import Sight
from wa_client.session.decide import Decision
from wa_client.states import State, StateError

if TYPE_CHECKING:
    from wa_client.session.client import WhatsAppClient

logger = logging.getLogger(__name__)

#: What each command waits to see, in the words of its timeout error.
AWAITED = {"pairing_code": "a pairing code", "takeover": "the chats after 'Use here'", "logout": "the logged-out page"}


class CommandQueue:
    """The commands of one SessionWorker; only the worker's thread runs them (it owns the driver)."""

    def __init__(self, client: WhatsAppClient, actions: PageActions, chat: ChatWorker) -> None:
        self.client = client
        self.actions = actions
        self.chat = chat  # messaging commands: answered by a later poll (chat.ChatWorker)
        self._queue: deque[Command] = deque()
        self._pending: list[Command] = []
        self._guard = threading.Lock()
        self._closed = False
        self.logout_requested = False

    def submit(self, command: Command) -> Command:
        """Queue a command for the next poll; StateError when the session has already ended."""
        with self._guard:
            if self._closed:
                raise StateError(self._ended_words())
            self._queue.append(command)
        return command

    @property
    def busy(self) -> bool:
        """Commands wait to be carried out or confirmed: the worker polls meanwhile."""
        with self._guard:
            return bool(self._queue or self._pending)

    def run(self) -> None:
        """Carry out the queued commands' page part; those that need a confirmation wait for it."""
        while True:
            with self._guard:
                if not self._queue:
                    return
                command = self._queue.popleft()
            try:
                done = self._start(command)
            except (ActionError, StateError) as exc:
                command.future.set_exception(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - a WebDriver error: the page did not cooperate
                logger.warning("%s failed in the browser: %s", command.kind, first_line(exc))
                command.future.set_exception(ActionError(f"the browser did not carry out {command.kind}; "
                                                         "try again, or click Force Reset"))
                continue
            if done:
                continue
            command.deadline = time.monotonic() + command.timeout_s
            with self._guard:
                self._pending.append(command)

    def _start(self, command: Command) -> bool:
        """Carry out the page part of `command`; True when it is answered already."""
        state = self.client.state
        if command.kind in CHAT_COMMANDS:
            self.chat.start(command, state is State.CONNECTED)
            return True
        if command.kind == "screenshot":
            command.future.set_result(self.actions.screenshot())
            return True
        if command.kind == "pairing_code":
            if state is not State.QR:
                raise StateError(f"a pairing code needs the QR page: click Generate QR first (the session is {state})")
            self.actions.enter_phone_number(command.args["digits"])
            logger.info("pairing code requested for a number ending in %s", command.args["digits"][-2:])
            return False
        if command.kind == "logout":
            if state is not State.CONNECTED:
                raise StateError(f"logout needs a connected session (the session is {state})")
            via = self.actions.log_out()
            self.logout_requested = True
            logger.info("logout from the CRM carried out (through the %s)", via)
            return False
        if command.kind == "takeover":
            if state is not State.CONFLICT:
                raise StateError(f"takeover needs the 'open elsewhere' conflict (the session is {state})")
            if not self.actions.take_over():
                raise ActionError("WhatsApp's 'Use here' button was not found")
            return False
        raise ActionError(f"unknown command {command.kind!r}")

    def confirm(self, sight: Sight) -> None:
        """Answer the commands that this observation confirms, and those whose time is up."""
        with self._guard:
            pending = list(self._pending)
        now = time.monotonic()
        for command in pending:
            answer = self._confirmation(command, sight)
            if answer is None and now < command.deadline:
                continue
            with self._guard:
                self._pending.remove(command)
            if answer is None:
                what = AWAITED.get(command.kind, command.kind)
                command.future.set_exception(ActionError(f"WhatsApp did not show {what} within "
                                                         f"{command.timeout_s:g} s"))
            else:
                command.future.set_result(answer)

    def _confirmation(self, command: Command, sight: Sight) -> object | None:
        status = self.client.status()
        if command.kind == "pairing_code":
            return status["pairing_code"]
        if command.kind == "takeover" and status["state"] != State.CONFLICT.value:
            return status
        return None

    def close(self, ended: Decision | None) -> None:
        """The session is over (as `ended` says, when known): every queued or pending command is answered now."""
        with self._guard:
            self._closed = True
            left = list(self._queue) + self._pending
            self._queue.clear()
            self._pending.clear()
        self.chat.close(self._ended_words())
        for command in left:
            if command.future.done():
                continue
            if command.kind == "logout" and ended is not None and ended.state is State.DISCONNECTED:
                command.future.set_result(self.client.status())
            elif command.kind in CHAT_COMMANDS:
                self.chat.fail(command, self._ended_words())
            else:
                command.future.set_exception(StateError(self._ended_words()))

    def _ended_words(self) -> str:
        status = self.client.status()
        reason = f", {status['reason']}" if status["reason"] else ""
        return f"the session ended ({status['state']}{reason}) before the command was carried out"


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (WebDriver errors carry whole stack traces), at most 200 characters."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
