"""The one phone account of the simulator: linked devices, open pages, live codes, events."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .codes import new_device_token, new_pairing_code, new_qr_payload, normalize_pairing_code
from .config import SimConfig
from .mailbox import Mailbox, SentMessage
from .models import PAIRING_VIEWS, QR_VIEWS, Connection, Cycle, Device, Shown, UnknownConnection

logger = logging.getLogger(__name__)

ACCOUNT_NUMBER = "5511999990000"
CONNECTION_TIMEOUT_S = 3.0  # a page that has not polled for this long is gone, with its codes
EVENT_LIMIT = 100
HISTORY_LIMIT = 50
# Controls that would log the account out or drop the session: clicking one is recorded, never truncated.
TRAPS = frozenset({"conflict_log_out", "conflict_close", "loading_log_out", "connecting_log_out",
                   "passkey_continue"})  # passkey_continue: it would call navigator.credentials.get
# What a page may report on its own (/_wa/event), besides what the other endpoints record.
PAGE_EVENTS = frozenset({"auto_logout_toggle", "whats_new_closed", "module_refresh_qr", "unexpected_lid_chat",
                         "passkey_shown"})
# How a device was unlinked from the page: the event it records.
LOGOUT_EVENTS = {"menu": "web_logout", "module": "module_logout", "trap": "trap_logout"}


@dataclass
class _Memory:
    """Everything that /phone/reset forgets."""

    devices: list[Device] = field(default_factory=list)
    connections: dict[str, Connection] = field(default_factory=dict)
    events: deque = field(default_factory=lambda: deque(maxlen=EVENT_LIMIT))
    refs: deque = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    codes: deque = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    traps: list = field(default_factory=list)
    next_device: int = 1
    mailbox: Mailbox = field(default_factory=Mailbox)
    unexpected_lid_chats: int = 0  # @lid chats created with an origin WhatsApp does not allow for them
    timelock_until: float | None = None  # the reach-out time lock (knob reachout_timelock_until_s)


class Account:
    """The phone and its WhatsApp account; every method takes the lock."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.time) -> None:
        self.startup_config = config
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._mem = _Memory()
        self._set_timelock(config.reachout_timelock_until_s)

    # ---- the page side (/_wa/...) ----

    def open_connection(self, token: str | None) -> dict[str, object]:
        """Register a freshly loaded page; tell it whether its stored device is still linked."""
        with self._lock:
            now = self._tick()
            conn = Connection(id=secrets.token_hex(8), opened_at=now, last_seen=now,
                              inbox=len(self._mem.mailbox.received))  # history is not news
            self._mem.connections[conn.id] = conn
            status = "none"
            if token:
                conn.device = self._device_by_token(token)
                status = "linked" if conn.device and conn.device.revoked_at is None else "revoked"
            self._event("connection_opened", connection=conn.id, device_status=status)
            return {"connection": conn.id, "device_status": status, "config": self.config.to_dict()}

    def poll(self, conn_id: str, view: str, stay_logged_in: bool | None = None) -> dict[str, object]:
        """Note that the page is alive and what it shows; rotate its codes; answer what it must show."""
        with self._lock:
            now = self._tick()
            conn = self._connection(conn_id)
            conn.last_seen = now
            if stay_logged_in is not None:
                conn.stay_logged_in = stay_logged_in
            self._set_view(conn, view, now)
            for cycle in (conn.qr, conn.pairing):
                if cycle:
                    self._advance(conn, cycle, now)
            return self._page_state(conn, now)

    def close_connection(self, conn_id: str) -> None:
        """The page went away (navigation, closed tab)."""
        with self._lock:
            now = self._clock()
            conn = self._mem.connections.pop(conn_id, None)
            if conn:
                self._end_cycles(conn, now)
                self._event("connection_closed", connection=conn_id)

    def restart_cycle(self, conn_id: str, kind: str, phone: str | None = None) -> dict[str, object]:
        """A new cycle of QR refs (kind "qr": the reload button) or pairing codes ("pairing": "Next")."""
        with self._lock:
            now = self._tick()
            conn = self._connection(conn_id)
            conn.last_seen = now
            phone = phone or (conn.pairing.phone if conn.pairing else None)
            self._end_cycles(conn, now)
            conn.view = "qr" if kind == "qr" else "pairing_code"
            if conn.device is None:
                cycle = Cycle(kind, phone=phone if kind == "pairing" else None)
                setattr(conn, kind, cycle)
                self._issue(conn, cycle, now)
            return self._page_state(conn, now)

    def end_conflict(self, conn_id: str, take_over: bool) -> None:
        """"Use here" (take the session back) or "Close" on the conflict dialog."""
        with self._lock:
            conn = self._connection(conn_id)
            conn.conflict = False
            self._event("takeover" if take_over else "conflict_closed", connection=conn_id)

    def web_logout(self, conn_id: str, via: str = "menu") -> None:
        """This device is unlinked from the page: menu "Log out" confirmed, Socket.logout(), or a trap."""
        with self._lock:
            now = self._clock()
            conn = self._connection(conn_id)
            if conn.device and conn.device.revoked_at is None:
                conn.device.revoked_at = now
                self._event(LOGOUT_EVENTS[via], connection=conn_id, device=conn.device.number)

    def record_trap(self, conn_id: str | None, name: str) -> None:
        """Someone clicked a control that logs out or drops the session."""
        with self._lock:
            now = self._clock()
            self._mem.traps.append({"trap": name, "t": now, "connection": conn_id})
            self._event("trap", trap=name, connection=conn_id)
            logger.warning("trap clicked: %s (page %s)", name, conn_id)

    def page_event(self, conn_id: str, name: str, **details: object) -> None:
        """Something the page reports on its own (a checkbox, a dialog closed, a module call)."""
        with self._lock:
            conn = self._connection(conn_id)
            if name == "auto_logout_toggle" and isinstance(details.get("value"), bool):
                conn.stay_logged_in = details["value"]  # at once: a scan may come before the next poll
            if name == "unexpected_lid_chat":
                self._mem.unexpected_lid_chats += 1
                logger.warning("unexpected-lid-chat: an @lid chat was created without the 'createChat' origin")
            self._event(name, connection=conn_id, **details)

    def query_exists(self, conn_id: str, digits: str) -> str | None:
        """WAWebQueryExistsJob.queryWidExists: the id to send to, or None when the number has no WhatsApp."""
        with self._lock:
            self._connection(conn_id)
            return self._mem.mailbox.jid_for(digits, self.config.not_on_whatsapp, self.config.lid_numbers)

    def send(self, conn_id: str, msg_id: str, jid: str, text: str, via: str) -> dict[str, object]:
        """A linked page sends a message: {"ack": 1}, or {"ack": -1, "error": ...} when the server refuses it."""
        with self._lock:
            now = self._tick()
            conn = self._connection(conn_id)
            config, box = self.config, self._mem.mailbox
            digits = box.number_of(jid, config.lid_numbers)
            locked = self._timelocked(now) and not box.talked_with(digits)
            error = ("not linked" if not conn.device or conn.device.revoked_at else
                     "account restricted" if config.restricted else "server rejected the message" if
                     config.send_fails else "not on WhatsApp" if digits in config.not_on_whatsapp else
                     "reach-out timelocked (nack 463)" if locked else None)
            if error:
                box.record_rejected(msg_id, digits, text, now, error)
                self._event("message_rejected", connection=conn_id, id=msg_id, error=error)
                return {"ack": -1, "error": error}
            box.record_sent(SentMessage(msg_id, digits, jid, text, now, via))
            self._event("message_sent", connection=conn_id, id=msg_id, via=via)
            return {"ack": 1}

    # ---- the phone side (/phone/...) ----

    def patient_writes(self, digits: str, text: str, quoted: str | None = None) -> dict[str, object] | None:
        """A patient's message (a reply quoting message id `quoted`) reaches the account; None when no page is
        logged in to receive it. A number in `lid_numbers` writes from its @lid id."""
        with self._lock:
            now = self._tick()
            if not self._logged_in_pages():
                return None
            config, box = self.config, self._mem.mailbox
            jid = box.jid_for(digits, (), config.lid_numbers)
            message = box.receive(digits, jid, text, now, quoted)
            self._event("message_received", id=message["id"])
            return message

    def read_messages(self) -> int:
        """The patients open their chats: everything sent becomes read (ack 3) once delivered."""
        with self._lock:
            return self._mem.mailbox.read_all(self._tick())

    def messages(self) -> dict[str, object]:
        """What the account really sent (with the ack now), what it refused, and what it received."""
        with self._lock:
            now, config, box = self._tick(), self.config, self._mem.mailbox
            acks = box.acks(now, config.ack_delivered_after_s, config.ack_read_after_s)
            return {"sent": [m.public(acks.get(m.id, m.ack(now, config.ack_delivered_after_s,
                                                            config.ack_read_after_s))) for m in box.sent],
                    "rejected": list(box.rejected), "received": list(box.received)}


    def scan(self, payload: str) -> bool:
        """The phone scans `payload`: links the page showing it, if it is live right now."""
        with self._lock:
            now = self._tick()
            conn = self._showing("qr", payload, now)
            if conn is None:
                self._event("scan_rejected", payload=payload)
                return False
            self._event("scan", connection=conn.id, payload=payload)
            self._link(conn, "qr", now)
            return True

    def confirm_pairing_code(self, code: str) -> bool:
        """The phone types a pairing code: links the page showing it, if it is live right now."""
        wanted = normalize_pairing_code(code)
        with self._lock:
            now = self._tick()
            conn = self._showing("pairing", wanted, now)
            if conn is None:
                self._event("pairing_code_rejected", code=wanted)
                return False
            self._event("pairing_code_confirmed", connection=conn.id, code=wanted)
            self._link(conn, "pairing_code", now)
            return True

    def logout_all(self) -> int:
        """Log out every linked device from the phone; how many there were."""
        with self._lock:
            now = self._tick()
            active = [device for device in self._mem.devices if device.revoked_at is None]
            for device in active:
                device.revoked_at = now
            if active:
                self._event("logout", devices=len(active))
            return len(active)

    def open_elsewhere(self, variant: str | None = None) -> int:
        """WhatsApp opened elsewhere: every logged-in page shows the conflict dialog of `variant`
        ("computer" or "window"; default: the conflict_variant knob)."""
        with self._lock:
            self._tick()
            variant = variant or self.config.conflict_variant
            pages = self._logged_in_pages()
            for conn in pages:
                conn.conflict = True
                conn.conflict_variant = variant
            if pages:
                self._event("conflict", connections=[c.id for c in pages], variant=variant)
            return len(pages)

    def configure(self, overrides: Mapping[str, object]) -> dict[str, object]:
        """Change knobs at run time (ConfigError when one is wrong); the whole config."""
        with self._lock:
            self.config = self.config.with_overrides(overrides)
            if "reachout_timelock_until_s" in overrides:
                self._set_timelock(self.config.reachout_timelock_until_s)
            self._event("config", **overrides)
            return self.config.to_dict()

    def reset(self) -> None:
        """Forget devices, pages and events; back to the configuration of the start."""
        with self._lock:
            self._mem = _Memory()
            self.config = self.startup_config
            self._set_timelock(self.config.reachout_timelock_until_s)

    def snapshot(self) -> dict[str, object]:
        """Everything /phone/state shows."""
        with self._lock:
            now = self._tick()
            pages = self._mem.connections.values()
            live_refs = [shown.public("payload") for c in pages if (shown := c.live("qr", now))]
            live_codes = [{**shown.public("code"), "phone": c.pairing.phone}
                          for c in pages if (shown := c.live("pairing", now))]
            devices = [d.public() for d in self._mem.devices if d.revoked_at is None]
            return {
                "now": now,
                "account": ACCOUNT_NUMBER,
                "linked_devices": len(devices),
                "devices": devices,
                "live_refs": live_refs,
                "pairing_codes": live_codes,
                "connections": [c.public() for c in self._mem.connections.values()],
                "recent_refs": [r.public("payload") for r in self._mem.refs],
                "recent_codes": [c.public("code") for c in self._mem.codes],
                "events": list(self._mem.events),
                "traps": list(self._mem.traps),
                "unexpected_lid_chats": self._mem.unexpected_lid_chats,
                "timelock_until": self._mem.timelock_until,
                "config": self.config.to_dict(),
            }

    # ---- internals (the lock is held) ----

    def _tick(self) -> float:
        """The time, after dropping pages that stopped polling."""
        now = self._clock()
        for conn in list(self._mem.connections.values()):
            if now - conn.last_seen > CONNECTION_TIMEOUT_S:
                del self._mem.connections[conn.id]
                self._end_cycles(conn, now)
                self._event("connection_dropped", connection=conn.id)
        return now

    def _logged_in_pages(self) -> list[Connection]:
        return [c for c in self._mem.connections.values() if c.device and c.device.revoked_at is None]

    def _chat_state(self, conn: Connection, now: float) -> dict[str, object] | None:
        """The messages news for a logged-in page: current acks, and patients' messages it has not had."""
        if not conn.device or conn.device.revoked_at:
            return None
        config, box = self.config, self._mem.mailbox
        incoming = box.received[conn.inbox:]
        state: dict[str, object] = {"acks": box.acks(now, config.ack_delivered_after_s, config.ack_read_after_s),
                                    "incoming": incoming, "timelock_until": self._mem.timelock_until}
        if not conn.history_given:  # what the page's own store holds: its chats and their recent messages
            conn.history_given = True
            state["history"] = {"records": box.history(now, config.ack_delivered_after_s, config.ack_read_after_s,
                                                       conn.inbox)}
        conn.inbox = len(box.received)
        return state

    def _set_timelock(self, seconds: float) -> None:
        self._mem.timelock_until = self._clock() + seconds if seconds > 0 else None

    def _timelocked(self, now: float) -> bool:
        return self._mem.timelock_until is not None and now < self._mem.timelock_until

    def _connection(self, conn_id: str) -> Connection:
        conn = self._mem.connections.get(conn_id)
        if conn is None:
            raise UnknownConnection(conn_id)
        return conn

    def _showing(self, kind: str, value: str, now: float) -> Connection | None:
        """The page whose live QR ref (kind "qr") or pairing code ("pairing") is exactly `value`."""
        pages = self._mem.connections.values()
        return next((c for c in pages if (shown := c.live(kind, now)) and shown.value == value), None)

    def _device_by_token(self, token: str) -> Device | None:
        return next((d for d in self._mem.devices if secrets.compare_digest(d.token, token)), None)

    def _set_view(self, conn: Connection, view: str, now: float) -> None:
        """Leaving the QR (or pairing) view ends its cycle; entering the QR view starts one."""
        if view not in QR_VIEWS and conn.qr:
            self._end(conn.qr, now)
            conn.qr = None
        if view not in PAIRING_VIEWS and conn.pairing:
            self._end(conn.pairing, now)
            conn.pairing = None
        # A linked page may still say "qr" once before it notices: never give it a new ref.
        # Nor while the network is "down" or a block screen shows (the knob `screen`).
        if view == "qr" and conn.qr is None and conn.device is None and not self.config.screen:
            conn.qr = Cycle("qr")
            self._issue(conn, conn.qr, now)
        conn.view = view

    def _advance(self, conn: Connection, cycle: Cycle, now: float) -> None:
        """Replace an expired ref (code) by the next one, or end the cycle after the last."""
        if cycle.current is None or now < cycle.current.expires_at:
            return
        self._end(cycle, cycle.current.expires_at)
        per_cycle = self.config.refs_per_cycle if cycle.kind == "qr" else self.config.pairing_codes_per_cycle
        if cycle.issued >= per_cycle:
            cycle.expired = True
            self._event(f"{cycle.kind}_expired", connection=conn.id)
        else:
            self._issue(conn, cycle, now)

    def _issue(self, conn: Connection, cycle: Cycle, now: float) -> None:
        config = self.config
        cycle.issued += 1
        if cycle.kind == "qr":
            value = new_qr_payload(config.payload_variant)
            lifetime = config.first_ref_s if cycle.issued == 1 else config.next_ref_s
        else:
            value, lifetime = new_pairing_code(), config.pairing_code_s
        cycle.current = Shown(value, conn.id, cycle.issued, issued_at=now, expires_at=now + lifetime)
        if cycle.kind == "qr":
            self._mem.refs.append(cycle.current)
            self._event("ref_issued", connection=conn.id, payload=value, index=cycle.issued)
        else:
            self._mem.codes.append(cycle.current)
            self._event("code_issued", connection=conn.id, code=value, index=cycle.issued)

    def _end(self, cycle: Cycle, when: float) -> None:
        if cycle.current:
            cycle.current.ended_at = min(when, cycle.current.expires_at)
            cycle.current = None

    def _end_cycles(self, conn: Connection, now: float) -> None:
        for cycle in (conn.qr, conn.pairing):
            if cycle:
                self._end(cycle, now)
        conn.qr = conn.pairing = None

    def _link(self, conn: Connection, method: str, now: float) -> None:
        number = self._mem.next_device
        self._mem.next_device += 1
        device = Device(number, new_device_token(), f"{ACCOUNT_NUMBER}:{number}@c.us", method, now,
                        keep=conn.stay_logged_in)
        self._mem.devices.append(device)
        self._end_cycles(conn, now)
        conn.device = device
        self._event("link", connection=conn.id, device=number, wid=device.wid, method=method,
                    stay_logged_in=device.keep)

    def _page_state(self, conn: Connection, now: float) -> dict[str, object]:
        """What the page must show, as the answer to its poll."""
        device = conn.device
        revoked = bool(device and device.revoked_at)
        state: dict[str, object] = {
            "config": self.config.to_dict(),
            "device": ({"wid": device.wid, "token": device.token, "keep": device.keep}
                       if device and not revoked else None),
            "revoked": revoked,
            "conflict": conn.conflict_variant if conn.conflict else None,
            "qr": None,
            "pairing": None,
            "chat": self._chat_state(conn, now),
        }
        for key, cycle, name in (("qr", conn.qr, "payload"), ("pairing", conn.pairing, "code")):
            if cycle and (cycle.current or cycle.expired):
                current = cycle.current
                state[key] = {name: current.value if current else None, "expired": cycle.expired,
                              "expires_in": max(0.0, current.expires_at - now) if current else None}
        return state

    def _event(self, name: str, **details: object) -> None:
        self._mem.events.append({"t": self._clock(), "event": name, **details})
        logger.debug("event %s %s", name, details)
