"""Messaging through the linked account: send, ask whether a number has WhatsApp, hear acks and replies.

Two channels, as for reading the page (docs/whatsapp-web.md, "Messaging"): WhatsApp's own modules
first (WAWebWidFactory, WAWebQueryExistsJob, WAWebCollections, WAWebSendMsgChatAction), the page
route `/send?phone=DIGITS&text=...` and its Send button when the modules are absent. The session
worker alone runs these scripts (chat_worker.py, chat_page.py, chat_scripts.py); the CRM's side
(queue, safeguards) lives outside wa_client's session code and talks to it through
WhatsAppClient.send_message / new_message_id / find_sent / contact_exists / watch_messages /
reachout_timelock, and hears what the polls saw as events on the session's bus (`publisher`: chat.acks,
chat.incoming, chat.restricted). This module holds what they exchange, and the record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from wa_client.jobs import ActionError, Command
from wa_client.names import Event
from wa_client.states import StateError

logger = logging.getLogger(__name__)

#: Why a send (or a contact look-up) did not happen, in the CRM's words.
SEND_REASONS = frozenset({"not_on_whatsapp", "not_connected", "rejected", "restricted", "unavailable",
                          "reachout_timelocked"})
#: WhatsApp's ack values (Msg.ack).
ACK_ERROR, ACK_PENDING, ACK_SENT, ACK_DELIVERED, ACK_READ, ACK_PLAYED = -1, 0, 1, 2, 3, 4
MAX_TEXT = 4096  # characters WhatsApp accepts in one text message (the CRM checks it before queueing)


@dataclass(frozen=True)
class Ack:
    """A message's delivery state as WhatsApp reports it: -1 error, 0 pending, 1 sent, 2 delivered, 3 read, 4 played."""

    wa_id: str  # String(Msg.id): "true_<to_jid>_<MSGID>" (never key._serialized: gone in late-2026 builds)
    ack: int


@dataclass(frozen=True)
class Incoming:
    """A patient's message that reached the linked account."""

    wa_id: str  # String(Msg.id)
    from_phone: str | None  # "+E164" (through WhatsApp's LID<->phone mapping for an @lid), None when unknown
    from_jid: str  # e.g. "5511988880000@c.us" or "1234567890@lid"
    text: str  # never holds a lone surrogate: U+FFFD in its place
    time: float  # epoch seconds (Msg.t)
    kind: str  # WhatsApp's type ("chat", "image", ...)
    quoted_id: str | None = None  # the bare id of the message the patient quoted (quotedStanzaID)


@dataclass(frozen=True)
class Sent:
    """A message WhatsApp has added to the chat (not yet sent to the server: its acks follow)."""

    wa_id: str  # String(key): "true_<to_jid>_<MSGID>", the id the acks name
    to_jid: str  # the id it was sent to (may end in @lid)
    via: str  # "modules" | "page"
    ack: int = 0  # the ack when WhatsApp added it (0 = clock; >= 1 = its server has it)
    msg_id: str = ""  # the bare message id (the last part of the key)


@dataclass(frozen=True)
class Lookup:
    """One message to find in WhatsApp's own record of the chat."""

    message_id: str  # the outbox's id (echoed back)
    phone_digits: str
    msg_id: str | None  # the WhatsApp message id chosen before the send (None on the page route)
    to_jid: str | None
    text: str
    since: float  # epoch seconds when the send began


#: Found.state values: in the chat; surely not there (read back to before `since`); the chat could not be read.
FOUND, ABSENT, UNREADABLE = "found", "absent", "unreadable"


@dataclass(frozen=True)
class Found:
    """What the chat says of one Lookup."""

    message_id: str
    state: str  # FOUND | ABSENT | UNREADABLE
    wa_id: str | None = None
    ack: int | None = None
    to_jid: str | None = None


class SendError(ActionError):
    """A send or a look-up that did not happen; `.reason` says why in one word, the message in words."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in SEND_REASONS:
            raise ValueError(f"unknown send error reason {reason!r}")
        super().__init__(message or reason.replace("_", " "))
        self.reason = reason


#: The listener the worker calls after a poll that saw acks, incoming messages or a change of `restricted`.
ChatListener = Callable[[tuple[Ack, ...], tuple[Incoming, ...], bool], None]


def publisher(emit: Callable[[str, dict], None]) -> ChatListener:
    """A chat listener that puts what a poll heard on the session's bus: acks, patients' messages, the notice."""

    def publish(acks: tuple[Ack, ...], incoming: tuple[Incoming, ...], restricted: bool) -> None:
        if acks:
            emit(Event.CHAT_ACKS, {"acks": tuple(acks)})
        if incoming:
            emit(Event.CHAT_INCOMING, {"messages": tuple(incoming)})
        emit(Event.CHAT_RESTRICTED, {"restricted": bool(restricted)})

    return publish


def phone_from_jid(jid: str) -> str | None:
    """'5511988880000@c.us' -> '+5511988880000'; None for an @lid (or any other) id."""
    user, _, server = str(jid).partition("@")
    user = user.split(":", 1)[0]
    if server not in ("c.us", "s.whatsapp.net") or not user.isdigit():
        return None
    return "+" + user


def well_formed(text: str) -> str:
    """`text` with every lone UTF-16 surrogate replaced by U+FFFD (pairs that slipped through are joined)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


COMMANDS = frozenset({"send_message", "contact_exists", "new_message_id", "find_sent"})
ANSWER_MARGIN_S = 15.0  # on top of a command's timeout: a page route or a slow poll


def submit_chat_command(worker: Any, kind: str, timeout: float, **args: Any) -> Any:
    """Queue a messaging command to the session worker and wait for its answer; SendError when it fails."""
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


class ChatHub:
    """The session's messaging record, across browser generations: watched ids, the listener, what was reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: frozenset[str] = frozenset()
        self._recent: deque[str] = deque(maxlen=50)  # sent by us and not yet watched by the CRM
        self._acks: dict[str, int] = {}
        self._listener: ChatListener | None = None
        self._timelock: dict = {"active": False, "until": None}
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

    def timelock(self) -> dict:
        """The reach-out time lock as the page last said: {"active": bool, "until": epoch seconds | None}."""
        with self._lock:
            return dict(self._timelock)

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
        self._note_timelock(raw.get("timelock"))
        if changed:
            log = logger.warning if restricted else logger.info
            log("WhatsApp %s", "warns that the account may be restricted" if restricted else "no longer warns of a "
                "restriction")
        if listener is not None and (acks or incoming or changed):
            try:
                listener(acks, incoming, restricted)
            except Exception:  # noqa: BLE001 - the CRM's side must not stop the session
                logger.exception("bug: the chat listener failed")

    def _note_timelock(self, seen: object) -> None:
        if not isinstance(seen, dict):  # (the page did not say: keep what it said last)
            return
        until = seen.get("until")
        until = float(until) / (1000.0 if until > 1e11 else 1.0) if isinstance(until, int | float) and until else None
        lock = {"active": bool(seen.get("active")), "until": until}
        with self._lock:
            changed, self._timelock = lock["active"] != self._timelock["active"], lock
        if changed:
            logger.warning("WhatsApp %s", "time-locks this account for first messages to new contacts" if
                           lock["active"] else "no longer time-locks first messages")

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
    """One patient's message as the probe read it; None (and a log line) when it cannot be read."""
    try:
        if not isinstance(item, dict) or not item.get("id") or not item.get("from"):
            return None
        jid = str(item["from"])
        phone = phone_from_jid(str(item.get("phone") or "")) or phone_from_jid(jid)
        quoted = item.get("quoted")
        text = well_formed(str(item.get("text", "")))
        return Incoming(wa_id=str(item["id"]), from_phone=phone, from_jid=jid, text=text,
                        time=float(item.get("time") or 0) or time.time(), kind=str(item.get("kind") or "chat"),
                        quoted_id=str(quoted) if quoted else None)
    except (TypeError, ValueError) as exc:  # one unreadable message costs no other
        logger.warning("a patient's message could not be read: %s", type(exc).__name__)
        return None
