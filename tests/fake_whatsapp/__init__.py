"""A WhatsApp Web simulator: the login page as a scraper sees it, and a phone to drive it."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from .account import Account
from .config import SimConfig

logger = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the simulator; `config` overrides knobs (see config.SimConfig)."""
    from . import jsonio, phone_api, web

    app = Flask(__name__, static_url_path="/_wa/static")
    app.json.sort_keys = False
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0  # edits to the page show up on the next load
    app.extensions["fake_whatsapp"] = Account(SimConfig().with_overrides(config or {}))
    jsonio.register_json_errors(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(phone_api.bp)
    return app
