"""Messaging through the linked account: send, ask whether a number has WhatsApp, hear acks and replies.

Two channels, as for reading the page (docs/whatsapp-web.md, "Messaging"): WhatsApp's own modules
first (WAWebWidFactory, WAWebQueryExistsJob, WAWebCollections, WAWebSendMsgChatAction), the page
route `/send?phone=DIGITS&text=...` and its Send button when the modules are absent. The session
worker alone runs these scripts; the CRM's side (queue, safeguards) lives outside wa_client's
session code and talks to it through WhatsAppClient.send_message / contact_exists /
watch_messages / set_chat_listener.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

from .chat_scripts import OUTGOING_IDS_SCRIPT, PAGE_SEND_SCRIPT, START_JOB_SCRIPT
from .commands import ActionError, Command, PageActions
from .states import StateError

logger = logging.getLogger(__name__)

#: Why a send (or a contact look-up) did not happen, in the CRM's words.
SEND_REASONS = frozenset({"not_on_whatsapp", "not_connected", "rejected", "restricted", "unavailable"})
#: WhatsApp's ack values (Msg.ack).
ACK_ERROR, ACK_PENDING, ACK_SENT, ACK_DELIVERED, ACK_READ, ACK_PLAYED = -1, 0, 1, 2, 3, 4
MAX_TEXT = 4096  # characters WhatsApp accepts in one text message (the CRM checks it before queueing)


@dataclass(frozen=True)
class Ack:
    """A message's delivery state as WhatsApp reports it: -1 error, 0 pending, 1 sent, 2 delivered, 3 read, 4 played."""

    wa_id: str  # Msg.id._serialized
    ack: int


@dataclass(frozen=True)
class Incoming:
    """A patient's message that reached the linked account."""

    wa_id: str  # Msg.id._serialized
    from_phone: str | None  # "+E164", or None when WhatsApp gives only an @lid id
    from_jid: str  # e.g. "5511988880000@c.us" or "1234567890@lid"
    text: str
    time: float  # epoch seconds (Msg.t)
    kind: str  # WhatsApp's type ("chat", "image", ...)


@dataclass(frozen=True)
class Sent:
    """A message WhatsApp has added to the chat (not yet sent to the server: its acks follow)."""

    wa_id: str  # Msg.id._serialized: the id the acks name
    to_jid: str  # the id it was sent to (may end in @lid)
    via: str  # "modules" | "page"


class SendError(ActionError):
    """A send or a look-up that did not happen; `.reason` says why in one word, the message in words."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in SEND_REASONS:
            raise ValueError(f"unknown send error reason {reason!r}")
        super().__init__(message or reason.replace("_", " "))
        self.reason = reason


#: The listener the worker calls after a poll that saw acks, incoming messages or a change of `restricted`.
ChatListener = Callable[[tuple[Ack, ...], tuple[Incoming, ...], bool], None]


def phone_from_jid(jid: str) -> str | None:
    """'5511988880000@c.us' -> '+5511988880000'; None for an @lid (or any other) id."""
    user, _, server = str(jid).partition("@")
    user = user.split(":", 1)[0]
    if server not in ("c.us", "s.whatsapp.net") or not user.isdigit():
        return None
    return "+" + user


COMMANDS = frozenset({"send_message", "contact_exists"})
ANSWER_MARGIN_S = 15.0  # on top of a command's timeout: a page route or a slow poll


def submit_chat_command(worker: Any, kind: str, timeout: float, **args: Any) -> Any:
    """Queue a send or a look-up to the session worker and wait for its answer; SendError when it fails."""
    command = Command(kind, args, timeout_s=timeout)
    try:
        worker.submit(command)
    except StateError as exc:
        raise SendError("not_connected", str(exc)) from None
    try:
        return command.future.result(timeout + ANSWER_MARGIN_S)
    except FutureTimeout:
        raise SendError("unavailable", f"WhatsApp did not answer within {timeout:g} s") from None
    except SendError:
        raise
    except StateError as exc:
        raise SendError("not_connected", str(exc)) from None
    except ActionError as exc:
        raise SendError("unavailable", str(exc)) from None
JOB_GRACE_S = 2.0  # a job the page forgot (it reloaded) is failed after this long
PAGE_ROUTE_TIMEOUT_S = 30.0
NOT_CONNECTED = "WhatsApp is not connected: the message waits until the session is connected again"
NO_MODULES_LOOKUP = ("WhatsApp's modules are not available in this page, so whether a number has WhatsApp cannot "
                     "be asked; sending still works through the page")


class ChatHub:
    """The session's messaging record, across browser generations: watched ids, the listener, what was reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: frozenset[str] = frozenset()
        self._recent: deque[str] = deque(maxlen=50)  # sent by us and not yet watched by the CRM
        self._acks: dict[str, int] = {}
        self._listener: ChatListener | None = None
        self.restricted = False

    def watch(self, wa_ids: Iterable[str]) -> None:
        """The ids whose ack every poll re-reads (replaces the previous set)."""
        ids = frozenset(str(i) for i in wa_ids if i)
        with self._lock:
            self._watched = ids
            self._acks = {k: v for k, v in self._acks.items() if k in ids or k in self._recent}

    def set_listener(self, listener: ChatListener | None) -> None:
        """Who hears acks, patients' messages and the restriction notice (None: nobody)."""
        with self._lock:
            self._listener = listener

    def sent(self, wa_id: str) -> None:
        """A message this gateway sent: follow its acks until the CRM says which to watch."""
        with self._lock:
            self._recent.append(wa_id)

    def probe_args(self) -> dict:
        """The probe's messaging argument: the ids to re-read."""
        with self._lock:
            return {"watch": sorted(self._watched | set(self._recent))}

    def note(self, raw: dict) -> None:
        """What one probe saw: report new acks, patients' messages and a change of `restricted`."""
        acks = self._new_acks(raw.get("acks") or [])
        incoming = tuple(m for m in (_incoming(item) for item in raw.get("incoming") or []) if m)
        restricted = bool(raw.get("restricted"))
        with self._lock:
            changed = restricted != self.restricted
            self.restricted = restricted
            listener = self._listener
        if changed:
            log = logger.warning if restricted else logger.info
            log("WhatsApp %s", "warns that the account may be restricted" if restricted else "no longer warns of a "
                "restriction")
        if listener is not None and (acks or incoming or changed):
            try:
                listener(acks, incoming, restricted)
            except Exception:  # noqa: BLE001 - the CRM's side must not stop the session
                logger.exception("bug: the chat listener failed")

    def _new_acks(self, pairs: list) -> tuple[Ack, ...]:
        found: list[Ack] = []
        with self._lock:
            wanted = self._watched | set(self._recent)
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int)):
                    continue
                wa_id, ack = str(pair[0]), pair[1]
                if wa_id in wanted and self._acks.get(wa_id) != ack:
                    self._acks[wa_id] = ack
                    found.append(Ack(wa_id, ack))
        return tuple(found)


def _incoming(item: object) -> Incoming | None:
    if not isinstance(item, dict) or not item.get("id") or not item.get("from"):
        return None
    jid = str(item["from"])
    return Incoming(wa_id=str(item["id"]), from_phone=phone_from_jid(jid), from_jid=jid, text=str(item.get("text", "")),
                    time=float(item.get("time") or 0) or time.time(), kind=str(item.get("kind") or "chat"))


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
        self.wa_url = wa_url
        self.sleep = sleep
        self._jobs: dict[str, _Job] = {}

    @property
    def busy(self) -> bool:
        """Jobs run in the page: the worker polls until they are answered."""
        return bool(self._jobs)

    def start(self, command: Command, connected: bool) -> None:
        """Begin a send or a look-up; the answer comes with a later poll (or now, through the page route)."""
        if not connected:
            raise SendError("not_connected", NOT_CONNECTED)
        if command.kind == "send_message" and self.hub.restricted:
            raise SendError("restricted", "WhatsApp warns that this account may be restricted: sending is paused "
                                          "until the warning is gone")
        token = secrets.token_hex(8)
        args = {"token": token, "kind": "send" if command.kind == "send_message" else "exists",
                "digits": command.args["digits"], "text": command.args.get("text", "")}
        if self.actions.run(START_JOB_SCRIPT, **args) == "started":
            self._jobs[token] = _Job(command, time.monotonic() + command.timeout_s)
            return
        if command.kind == "contact_exists":
            raise SendError("unavailable", NO_MODULES_LOOKUP)
        command.future.set_result(self._send_through_page(command.args["digits"], command.args["text"],
                                                         min(command.timeout_s, PAGE_ROUTE_TIMEOUT_S)))

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
        if raw:  # (an empty part: the probe's messaging part failed this once; it says nothing)
            self.hub.note(raw)

    def fail(self, command: Command, words: str) -> None:
        """A command that never started: the session ended first."""
        command.future.set_exception(SendError("not_connected", words))

    def close(self, words: str) -> None:
        """The session is over: every job still waiting fails as not connected."""
        for job in self._jobs.values():
            if not job.command.future.done():
                job.command.future.set_exception(SendError("not_connected", words))
        self._jobs.clear()

    def _answer(self, command: Command, result: object) -> None:
        if not isinstance(result, dict):
            command.future.set_exception(SendError("rejected", "WhatsApp gave no answer"))
        elif not result.get("ok"):
            reason = result.get("reason") if result.get("reason") in SEND_REASONS else "rejected"
            command.future.set_exception(SendError(reason, str(result.get("error") or reason)))
        elif command.kind == "contact_exists":
            command.future.set_result(bool(result.get("exists")))
        else:
            self.hub.sent(str(result["id"]))
            logger.info("message added to WhatsApp's chat (to a number ending in %s)", command.args["digits"][-2:])
            command.future.set_result(Sent(str(result["id"]), str(result.get("to") or ""), "modules"))

    def _send_through_page(self, digits: str, text: str, timeout: float) -> Sent:
        """WhatsApp's modules are absent: open /send?phone=&text= and press Send (this navigates the page)."""
        route = self.actions.signs["SEND_ROUTE"].format(phone=digits, text=quote(text, safe=""))
        self.actions.driver.get(urljoin(self.wa_url, route))
        try:
            answer = self.actions.until(lambda: self.actions.run(PAGE_SEND_SCRIPT), "the Send button", timeout)
        except ActionError as exc:
            raise SendError("unavailable", f"{exc} after opening the chat").with_traceback(None) from None
        if answer["state"] == "invalid":
            raise SendError("not_on_whatsapp", "WhatsApp says the phone number is invalid (no WhatsApp)")
        before = set(answer.get("before") or [])
        try:
            new = self.actions.until(lambda: [i for i in self.actions.run(OUTGOING_IDS_SCRIPT) or []
                                              if i not in before], "the message in the chat", 10.0)
        except ActionError:
            logger.warning("sent through the page, but the message's id was not found in the chat")
            return Sent("", f"{digits}@c.us", "page")
        wa_id = new[-1]
        self.hub.sent(wa_id)
        logger.info("message sent through the page (to a number ending in %s)", digits[-2:])
        return Sent(wa_id, wa_id.split("_")[1] if wa_id.count("_") >= 2 else f"{digits}@c.us", "page")
