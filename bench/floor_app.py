"""The /qr.png floor: the thinnest Flask-SocketIO app on eventlet, serving the gateway's PNG with its headers.

Run by bench/floors.py: `python bench/floor_app.py --port P --dir D` (D holds qr.png and headers.json).
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet

eventlet.monkey_patch()

import argparse
import json
from pathlib import Path

from flask import Flask, Response
from flask_socketio import SocketIO


def create_app(png: bytes, headers: dict[str, str]) -> tuple[Flask, SocketIO]:
    """One route that answers the same bytes and headers as the gateway's /qr.png."""
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="eventlet")

    @app.get("/qr.png")
    def qr_png() -> Response:
        response = Response(png, mimetype="image/png")
        response.headers.update(headers)
        return response

    return app, socketio


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    png = (args.dir / "qr.png").read_bytes()
    headers = json.loads((args.dir / "headers.json").read_text())
    app, socketio = create_app(png, headers)
    socketio.run(app, host="127.0.0.1", port=args.port, log_output=False)


if __name__ == "__main__":
    main()
