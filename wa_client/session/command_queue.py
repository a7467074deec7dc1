"""The CRM's commands for one session: queued, carried out on the page between two polls, and answered
through their futures once an observation confirms them (or their time is up, or the session ends)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from wa_client.chat.worker import ChatWorker
from wa_client.jobs import ActionError, Command
from wa_client.page.actions import PageActions
from wa_client.page.recognise import Sight
from wa_client.session.commands import COMMANDS, LOGOUT, check
from wa_client.session.decide import Decision
from wa_client.session.ports import SessionView
from wa_client.states import State, StateError

logger = logging.getLogger(__name__)


class CommandQueue:
    """The commands of one SessionWorker; only the worker's thread runs them (it owns the driver).

    Each command's states, refusal, page part and confirmation are its row of COMMANDS (commands.py).
    """

    def __init__(self, session: SessionView, actions: PageActions, chat: ChatWorker) -> None:
        self.session = session
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
        """Carry out the page part of `command` (its row's start); True when it is answered already."""
        return check(command.kind, self.session.state).start(self, command)

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
                what = COMMANDS[command.kind].awaited or command.kind
                command.future.set_exception(ActionError(f"WhatsApp did not show {what} within "
                                                         f"{command.timeout_s:g} s"))
            else:
                command.future.set_result(answer)

    def _confirmation(self, command: Command, sight: Sight) -> object | None:
        confirm = COMMANDS[command.kind].confirm
        return None if confirm is None else confirm(self.session.status(), command)

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
            if command.kind == LOGOUT and ended is not None and ended.state is State.DISCONNECTED:
                command.future.set_result(self.session.status())
            elif command.kind in COMMANDS and COMMANDS[command.kind].chat:
                self.chat.fail(command, self._ended_words())
            else:
                command.future.set_exception(StateError(self._ended_words()))

    def _ended_words(self) -> str:
        status = self.session.status()
        reason = f", {status['reason']}" if status["reason"] else ""
        return f"the session ended ({status['state']}{reason}) before the command was carried out"


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (WebDriver errors carry whole stack traces), at most 200 characters."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
