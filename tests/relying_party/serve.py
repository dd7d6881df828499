"""Serve the relying party on an inherited, bound socket: ``python -m tests.relying_party.serve
--fd N [--create-tables]``. Django's threaded WSGI server, no reloader; SIGTERM stops it, and so
does the end of the process that started it."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import time
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.relying_party.serve")
    parser.add_argument("--fd", type=int, required=True, help="serve on this listening socket")
    parser.add_argument("--create-tables", action="store_true", help="migrate --run-syncdb first")
    args = parser.parse_args(argv)
    listener = socket.socket(fileno=args.fd)
    host, port = listener.getsockname()[:2]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.relying_party.settings"

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    if args.create_tables:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)

    class RequestHandler(WSGIRequestHandler):
        disable_nagle_algorithm = True  # no ~40 ms delayed-ACK wait per keep-alive request

    server = ThreadedWSGIServer((host, port), RequestHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.server_name, server.server_port = host, port
    server.setup_environ()
    server.set_app(get_wsgi_application())

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    def exit_with_parent() -> None:
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(0.5)
        stop(signal.SIGTERM, None)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=exit_with_parent, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
