"""Messaging through the page alone (no modules): the click-to-chat route `/send?phone=&text=` sends with
its Send button, and the same route with no text opens a chat whose outgoing rows say what was sent."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin

from wa_client.chat.hub import ABSENT, FOUND, UNREADABLE, Found, SendError, Sent
from wa_client.jobs import ActionError
from wa_client.page.actions import PageActions
from wa_client.page.chat_scripts import CHAT_ROWS_SCRIPT, OUTGOING_IDS_SCRIPT, PAGE_SEND_SCRIPT

if TYPE_CHECKING:
    from wa_client.chat.hub import ChatHub

logger = logging.getLogger(__name__)

PAGE_ROUTE_TIMEOUT_S = 30.0
MINUTE_SLACK_S = 60.0  # the page shows a row's time to the minute


class PageRoute:
    """The page route of one session's browser (it navigates the page)."""

    def __init__(self, hub: ChatHub, actions: PageActions, wa_url: str) -> None:
        self.hub = hub
        self.actions = actions
        self.wa_url = wa_url

    def _open(self, digits: str, text: str, timeout: float) -> dict:
        route = self.actions.signs["SEND_ROUTE"].format(phone=digits, text=quote(text, safe=""))
        self.actions.driver.get(urljoin(self.wa_url, route))
        return self.actions.until(lambda: self.actions.run(PAGE_SEND_SCRIPT, press=bool(text)), "the chat",
                                  min(timeout, PAGE_ROUTE_TIMEOUT_S))

    def send(self, digits: str, text: str, timeout: float) -> Sent:
        """Open /send?phone=&text= and press Send; Sent once the message shows in the chat."""
        try:
            answer = self._open(digits, text, timeout)
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
        to_jid = wa_id.split("_")[1] if wa_id.count("_") >= 2 else f"{digits}@c.us"
        return Sent(wa_id, to_jid, "page", 0, wa_id.rsplit("_", 1)[-1])

    def find(self, lookups: list[dict], timeout: float) -> list[Found]:
        """Open each lookup's chat and read its outgoing rows: found by id or by text at or after `since`."""
        return [self._find_one(lookup, timeout) for lookup in lookups]

    def _find_one(self, lookup: dict, timeout: float) -> Found:
        message_id = lookup["message_id"]
        try:
            answer = self._open(lookup["phone_digits"], "", timeout)
            if answer["state"] == "invalid":  # no WhatsApp: nothing can have been sent to it
                return Found(message_id, ABSENT)
            rows = self.actions.until(lambda: self.actions.run(CHAT_ROWS_SCRIPT), "the chat's messages", 10.0)
        except (ActionError, KeyError, TypeError) as exc:
            logger.warning("the chat could not be read through the page: %s", exc)
            return Found(message_id, UNREADABLE)
        return match_rows(lookup, rows)


def match_rows(lookup: dict, rows: dict) -> Found:
    """Found from a chat's rows: {"rows": [{"id", "out", "text", "time"}], "start": bool (the chat's beginning)}."""
    message_id, since = lookup["message_id"], float(lookup["since"])
    items = [r for r in rows.get("rows") or [] if isinstance(r, dict)]
    for row in items:
        wa_id = str(row.get("id") or "")
        same_id = bool(lookup.get("msg_id")) and wa_id.rsplit("_", 1)[-1] == lookup["msg_id"]
        same_text = (row.get("out") and row.get("text") == lookup["text"].strip()
                     and isinstance(row.get("time"), int | float) and row["time"] >= since - MINUTE_SLACK_S)
        if same_id or same_text:
            to_jid = wa_id.split("_")[1] if wa_id.count("_") >= 2 else None
            return Found(message_id, FOUND, wa_id or None, row.get("ack") if isinstance(row.get("ack"), int)
                         else None, to_jid)
    times = [r["time"] for r in items if isinstance(r.get("time"), int | float)]
    if rows.get("start") or (times and min(times) < since - MINUTE_SLACK_S):
        return Found(message_id, ABSENT)
    return Found(message_id, UNREADABLE)
