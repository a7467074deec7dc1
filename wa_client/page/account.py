"""Who is linked: the WhatsApp account behind the session, from the page or the profile's own record.

WhatsApp's modules say it best (`Conn.wid`, `Conn.pushname`); without them the profile's
`last-wid-md` gives the number; and the gateway keeps the last account it saw in a small private
file inside the profile, so that a restart knows it before WhatsApp has loaded (the file goes when
the profile is deleted: logout, Force Reset).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import phonenumbers

from wa_client.clock import iso
from wa_client.page.probe import Observation

logger = logging.getLogger(__name__)

ACCOUNT_FILE = "wa-gateway-account.json"
_WID = re.compile(r"^\s*\"?(\d{5,15})(?::\d+)?@")  # "5511999990000:12@c.us" (JSON-quoted in last-wid-md)


@dataclass(frozen=True)
class Account:
    """The linked account: `number` as +E.164, WhatsApp's display name, and since when it is linked."""

    number: str
    name: str | None
    linked_since: str

    def as_dict(self) -> dict:
        """The /me answer: number, name, linked_since, and the number grouped for people."""
        return {**asdict(self), "display_number": display_number(self.number)}


def e164(user: str) -> str | None:
    """The wid's user part as +E.164 ("5511999990000" -> "+5511999990000"); None when it is no number."""
    digits = str(user or "").strip().lstrip("+")
    return f"+{digits}" if digits.isdigit() and 5 <= len(digits) <= 15 else None


def number_from_wid(wid: str | None) -> str | None:
    """+E.164 from a serialized wid, plain or JSON-quoted as in localStorage['last-wid-md']."""
    match = _WID.match(wid or "")
    return e164(match.group(1)) if match else None


@functools.lru_cache(maxsize=64)  # /status is read often; the number rarely changes
def display_number(number: str) -> str:
    """+E.164 grouped the way the country writes it, with spaces: "+5511999990000" -> "+55 11 99999 0000"."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL).replace("-", " ")


def seen(obs: Observation) -> tuple[str, str | None] | None:
    """(number, name) as this observation shows them: the modules first, then last-wid-md; None when neither."""
    modules = obs.modules
    if modules is not None and modules.linked and (number := e164(modules.number or "")):
        return number, (modules.name or None)
    number = number_from_wid(obs.linked_wid)
    return (number, None) if number else None


def update(known: Account | None, obs: Observation) -> Account | None:
    """The account after `obs`: the same one (a name filled in), a new one, or `known` when the page says nothing."""
    sight = seen(obs)
    if sight is None:
        return known
    number, name = sight
    if known is None or known.number != number:
        return Account(number, name, iso(time.time()))
    if name and name != known.name:
        return replace(known, name=name)
    return known


def load(profile_dir: str | os.PathLike) -> Account | None:
    """The account recorded in the profile by an earlier session, or None."""
    try:
        raw = json.loads((Path(profile_dir) / ACCOUNT_FILE).read_text())
        account = Account(str(raw["number"]), raw.get("name"), str(raw["linked_since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return account if e164(account.number) else None


def save(profile_dir: str | os.PathLike, account: Account) -> None:
    """Record the account in the profile (mode 0600, written whole or not at all)."""
    target = Path(profile_dir) / ACCOUNT_FILE
    if not target.parent.is_dir():
        return  # the profile is gone (a reset): nothing to keep it in
    tmp = target.with_suffix(".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(account), out)
        os.chmod(tmp, 0o600)
        tmp.replace(target)
    except OSError as exc:
        logger.warning("could not record the linked account in the profile: %s", exc)


def forget(profile_dir: str | os.PathLike) -> None:
    """Drop the profile's record (the profile no longer holds a login)."""
    (Path(profile_dir) / ACCOUNT_FILE).unlink(missing_ok=True)
