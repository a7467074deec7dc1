"""The session worker's messaging hands: start jobs in the page (chat_scripts.py), answer them from the
probe, wait a few seconds for messaging modules that register late, and take the page route without them."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wa_client.chat.hub import ABSENT, FOUND, SEND_REASONS, UNREADABLE, ChatHub, Found, SendError, Sent
from wa_client.chat.page_route import PageRoute
from wa_client.jobs import ActionError, Command
from wa_client.page.actions import PageActions
from wa_client.page.chat_scripts import START_JOB_SCRIPT

logger = logging.getLogger(__name__)

JOB_GRACE_S = 2.0  # a job the page forgot (it reloaded) is failed after this long
MODULES_WAIT_S = 8.0  # a command that finds the messaging modules not yet registered waits this long for them
NOT_CONNECTED = "WhatsApp is not connected: the message waits until the session is connected again"
NO_MODULES = {
    "contact_exists": "WhatsApp's modules are not available in this page, so whether a number has WhatsApp cannot "
                      "be asked; sending still works through the page",
    "new_message_id": "WhatsApp's modules are not available in this page, so no message id can be chosen; the "
                      "message goes through the page",
}
TIMELOCKED = ("WhatsApp has time-locked this account for first messages to new contacts (reach-out lock): the "
              "message was not sent; replies in existing conversations still go")


@dataclass
class _Job:
    command: Command
    deadline: float
    started: float = field(default_factory=time.monotonic)


class ChatWorker:
    """The session worker's messaging hands: starts jobs in the page, answers them from the probe."""

    def __init__(self, hub: ChatHub, actions: PageActions, wa_url: str, sleep: Callable[[float], None]) -> None:
        self.hub = hub
        self.actions = actions
        self.page = PageRoute(hub, actions, wa_url)
        self._jobs: dict[str, _Job] = {}
        self._waiting: list[tuple[Command, float]] = []  # for the messaging modules, until a deadline

    def start(self, command: Command, connected: bool) -> None:
        """Begin a messaging command; the answer comes with a later poll (or now, through the page route)."""
        if not connected:
            raise SendError("not_connected", NOT_CONNECTED)
        if command.kind == "send_message" and self.hub.restricted:
            raise SendError("restricted", "WhatsApp warns that this account may be restricted: sending is paused "
                                          "until the warning is gone")
        self._try(command, time.monotonic() + min(MODULES_WAIT_S, command.timeout_s / 2))

    def _try(self, command: Command, wait_until: float) -> None:
        token = secrets.token_hex(8)
        args = {"token": token, "kind": JOB_KINDS[command.kind], **command.args}
        started = self.actions.run(START_JOB_SCRIPT, **args)
        if started == "started":
            self._jobs[token] = _Job(command, time.monotonic() + command.timeout_s)
        elif started == "not_yet" and time.monotonic() < wait_until:  # the loader is there, the modules not yet
            self._waiting.append((command, wait_until))
        else:
            self._without_modules(command)

    def _without_modules(self, command: Command) -> None:
        args = command.args
        if command.kind == "send_message":
            command.future.set_result(self.page.send(args["digits"], args["text"], command.timeout_s))
        elif command.kind == "find_sent":
            command.future.set_result(self.page.find(args["lookups"], command.timeout_s))
        else:
            raise SendError("unavailable", NO_MODULES[command.kind])

    @property
    def busy(self) -> bool:
        """Whether a job or a command waiting for the messaging modules needs the next probe soon."""
        return bool(self._jobs or self._waiting)

    def take(self, raw: object) -> None:
        """The probe's messaging part: answer finished jobs, fail lost or late ones, report the rest."""
        raw = raw if isinstance(raw, dict) else {}
        finished = raw.get("jobs") if isinstance(raw.get("jobs"), dict) else {}
        known = set(raw.get("known") or [])
        now = time.monotonic()
        for token, job in list(self._jobs.items()):
            if token in finished:
                del self._jobs[token]
                self._answer(job.command, finished[token])
            elif (token not in known and now - job.started > JOB_GRACE_S) or now > job.deadline:
                del self._jobs[token]
                lost = token not in known
                job.command.future.set_exception(SendError("unavailable", (
                    "the page reloaded before WhatsApp confirmed it" if lost else
                    f"WhatsApp did not confirm it within {job.command.timeout_s:g} s") + "; it may still go out"))
        waiting, self._waiting = self._waiting, []
        for command, wait_until in waiting:  # the messaging modules may have registered since
            try:
                self._try(command, wait_until)
            except (SendError, ActionError) as exc:
                command.future.set_exception(exc)
        if raw:  # (an empty part: the probe's messaging part failed this once; it says nothing)
            self.hub.note(raw)

    def fail(self, command: Command, words: str) -> None:
        """A command that never started: the session ended first."""
        command.future.set_exception(SendError("not_connected", words))

    def close(self, words: str) -> None:
        """The session is over: every job still waiting fails as not connected."""
        commands = [job.command for job in self._jobs.values()] + [command for command, _ in self._waiting]
        for command in commands:
            if not command.future.done():
                command.future.set_exception(SendError("not_connected", words))
        self._jobs.clear()
        self._waiting.clear()

    def _answer(self, command: Command, result: object) -> None:
        if not isinstance(result, dict):
            command.future.set_exception(SendError("rejected", "WhatsApp gave no answer"))
        elif result.get("reason") == "no_shape" and command.kind == "find_sent":
            command.future.set_result(self.page.find(command.args["lookups"], command.timeout_s))
        elif not result.get("ok"):
            reason = result.get("reason") if result.get("reason") in SEND_REASONS else "rejected"
            words = TIMELOCKED if reason == "reachout_timelocked" else str(result.get("error") or reason)
            command.future.set_exception(SendError(reason, words))
        elif command.kind == "contact_exists":
            command.future.set_result(bool(result.get("exists")))
        elif command.kind == "new_message_id":
            command.future.set_result(str(result["id"]))
        elif command.kind == "find_sent":
            command.future.set_result(found_list(command.args["lookups"], result.get("found")))
        else:
            wa_id = str(result["id"])
            self.hub.sent(wa_id)
            logger.info("message added to WhatsApp's chat (to a number ending in %s)", command.args["digits"][-2:])
            ack = result.get("ack")
            command.future.set_result(Sent(wa_id, str(result.get("to") or ""), "modules",
                                           ack if isinstance(ack, int) else 0, wa_id.rsplit("_", 1)[-1]))


JOB_KINDS = {"send_message": "send", "contact_exists": "exists", "new_message_id": "new_id", "find_sent": "find"}


def found_list(lookups: list[dict], answers: object) -> list[Found]:
    """The job's answers, one Found per lookup in order; a lookup the page did not answer is unreadable."""
    by_id = {str(a.get("message_id")): a for a in answers if isinstance(a, dict)} if isinstance(answers, list) else {}
    found = []
    for lookup in lookups:
        answer = by_id.get(lookup["message_id"], {})
        state = answer.get("state") if answer.get("state") in (FOUND, ABSENT) else UNREADABLE
        ack = answer.get("ack")
        found.append(Found(lookup["message_id"], state, str(answer["wa_id"]) if answer.get("wa_id") else None,
                           ack if isinstance(ack, int) else None, answer.get("to_jid") or None))
    return found
