"""One home for each name: the page, its script and the OpenAPI document read the events and the QR image URL
from wa_client/names.py instead of spelling them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from wa_client.names import PUBLIC_EVENTS, QR_IMAGE_PATH, Event, page_names, qr_image_url
from web import openapi

APP_JS = Path(__file__).resolve().parents[1] / "static" / "app.js"
WORDS_JS = APP_JS.with_name("words.js")
#: Socket.IO's own events, which are not the gateway's to name.
SOCKET_IO_OWN = {"connect", "disconnect", "connect_error"}


def test_the_page_carries_the_names_as_json_for_its_script(http):
    page = http.get("/").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="wa-names">(.*?)</script>', page, re.S)
    assert found, "the page has no names for its script"
    names = json.loads(found.group(1))
    assert names == page_names()
    assert names["events"] == {event.name: str(event) for event in PUBLIC_EVENTS}
    assert names["qr_image_url"].replace("{version}", "7") == qr_image_url(7) == f"{QR_IMAGE_PATH}?v=7"


def test_the_script_spells_no_event_name_and_no_qr_image_url():
    script = APP_JS.read_text()
    assert QR_IMAGE_PATH not in script and QR_IMAGE_PATH not in WORDS_JS.read_text()
    listened = set(re.findall(r'socket\.on\("([^"]+)"', script))
    assert listened <= SOCKET_IO_OWN, listened - SOCKET_IO_OWN
    used = set(re.findall(r"EVENT\.([A-Z_]+)", script))
    assert used and used <= {event.name for event in PUBLIC_EVENTS}, used


def test_the_openapi_document_names_every_public_event_and_the_qr_image_url():
    description = openapi.document()["info"]["description"]
    pushed, posted = description.split("## Webhooks")
    for event in PUBLIC_EVENTS:
        assert f"`{event}`" in pushed and f"`{event}`" in posted, event
    assert qr_image_url("N") in pushed
    for internal in set(Event) - set(PUBLIC_EVENTS):
        assert f"`{internal}`" not in description, internal
