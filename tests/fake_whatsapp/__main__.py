"""`python -m tests.fake_whatsapp [--host H] [--port P] [--fast] [--startup-s 1.5 ...]`."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from werkzeug.serving import make_server

from . import create_app
from .config import ConfigError, add_cli_arguments, overrides_from_cli

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: where to listen, and the knobs."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_whatsapp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3002, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    add_cli_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; the first stdout line says where."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app = create_app(overrides_from_cli(args))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, threaded=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"fake WhatsApp Web on http://{args.host}:{server.server_port}/", flush=True)
    while not stop.wait(0.5):
        pass
    logger.info("stopping")
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
