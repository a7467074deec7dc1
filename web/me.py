"""GET /me: which WhatsApp account the session is linked to."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from . import get_client

NOT_LINKED = ("no WhatsApp account is linked right now (the session is {state}); click Generate QR and scan the "
              "code with the clinic phone")


def add_routes(app: Flask) -> None:
    """GET /me."""

    @app.get("/me")
    def me() -> Response | tuple[Response, int]:
        """The linked account: number (+E.164), name, linked_since, display_number; 409 when none."""
        client = get_client()
        account = client.account()
        if account is None:
            return jsonify(error=NOT_LINKED.format(state=client.state.value)), 409
        return jsonify(account)
