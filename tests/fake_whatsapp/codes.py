"""Random QR refs, pairing codes and device tokens shaped like WhatsApp's, and QR matrices."""
from __future__ import annotations

import base64
import functools
import logging
import secrets

import segno

logger = logging.getLogger(__name__)

# WhatsApp leaves out 0, O, I and U so that a code read aloud is not mistaken.
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
PAIRING_CODE_LENGTH = 8


def _b64(size: int) -> str:
    """`size` random bytes as standard base64."""
    return base64.b64encode(secrets.token_bytes(size)).decode("ascii")


FAQ_FIELD = "https://faq.whatsapp.com/r/ld"
WA_ME_PREFIX = "https://wa.me/settings/linked_devices#"


def new_qr_payload(variant: str = "five") -> str:
    """`2@REF,NOISE_KEY,IDENTITY_KEY,ADV_SECRET,1` (variant "five", about 227 characters).

    "six" appends the FAQ link as a 6th field, "wa_me" prefixes the whole string with the wa.me
    linked-devices link, "four" leaves out the platform.
    """
    ref = "2@" + _b64(66)  # 88 characters
    keys = [_b64(32) for _ in range(3)]  # 44 characters each, ending "="
    fields = [ref, *keys] if variant == "four" else [ref, *keys, "1"]
    if variant == "six":
        fields.append(FAQ_FIELD)
    payload = ",".join(fields)
    return WA_ME_PREFIX + payload if variant == "wa_me" else payload


def new_pairing_code() -> str:
    """Eight characters from WhatsApp's pairing alphabet."""
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def normalize_pairing_code(text: str) -> str:
    """'abcd-efgh', 'A,B,C,D,E,F,G,H' or 'ABCD EFGH' as 'ABCDEFGH'."""
    return "".join(ch for ch in text.upper() if ch not in "-, \t")


def new_device_token() -> str:
    """The opaque secret that a linked browser keeps in its storage."""
    return secrets.token_urlsafe(32)


@functools.lru_cache(maxsize=64)
def qr_matrix(payload: str) -> list[str]:
    """The QR code of `payload` as rows of '0'/'1' (no quiet zone), for the page's canvas."""
    qr = segno.make(payload, error="l", micro=False)
    return ["".join("1" if cell else "0" for cell in row) for row in qr.matrix]
