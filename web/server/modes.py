"""Per async mode, what `socketio.run` hands on to the server: eventlet's options, or werkzeug's handler.

It sits above both servers' modules (serving.py: werkzeug's handler and what both share; eventlet_server.py:
eventlet's), so that neither imports the other.
"""

from __future__ import annotations

from typing import Any, TextIO

from web.server.serving import ConnectionBoard, GatewayRequestHandler, RedactedLog, connection_limit


def server_options(async_mode: str, stream: TextIO) -> dict[str, Any]:
    """What `socketio.run` hands on to the server, for `async_mode`."""
    limit = connection_limit()
    if async_mode == "eventlet":
        from web.server import eventlet_server  # imports eventlet: only in eventlet mode

        return eventlet_server.options(limit, RedactedLog(stream))
    handler = type("GatewayRequestHandler", (GatewayRequestHandler,), {"board": ConnectionBoard(limit)})
    return {"allow_unsafe_werkzeug": True, "request_handler": handler}
