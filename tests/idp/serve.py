"""Run the test identity provider: create the tables, seed, then serve HTTP on 127.0.0.1.

``python -m tests.idp.serve --port 8001 [--redirect-uri URI ...]`` from the repository root
(state in the temporary directory unless ``IDP_DB``/``IDP_KEY_FILE`` say otherwise), or, as
:mod:`tests.oidc_support` does, ``--fd N`` to serve on an inherited, already bound socket: the
parent picks the free port, so there is no race. One process with a threaded WSGI server
(Django's ``runserver`` server without the reloader); SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.idp.serve", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="bind 127.0.0.1:PORT")
    where.add_argument("--fd", type=int, help="serve on this bound, listening socket")
    parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    args = parser.parse_args(argv)

    if args.fd is not None:
        listener = socket.socket(fileno=args.fd)
    else:
        listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    host, port = listener.getsockname()[:2]
    os.environ.setdefault("IDP_ISSUER", f"http://{host}:{port}/o")
    # Never the caller's settings (pytest-django exports DJANGO_SETTINGS_MODULE).
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.idp.settings"

    started = time.monotonic()
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    call_command("seed_idp", redirect_uris=args.redirect_uris, verbosity=0)

    class RequestHandler(WSGIRequestHandler):
        # Headers and body go out in separate small writes: without TCP_NODELAY every
        # keep-alive request waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

    server = ThreadedWSGIServer((host, port), RequestHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.server_name, server.server_port = host, port
    server.setup_environ()
    server.set_app(get_wsgi_application())

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.fd is not None:
        threading.Thread(target=_exit_with_parent, args=(stop,), daemon=True).start()
    print(
        f"test IdP ready in {time.monotonic() - started:.2f} s: {os.environ['IDP_ISSUER']}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


def _exit_with_parent(stop: Any) -> None:
    """Stop when the process that started us is gone (e.g. a killed pytest): no orphans."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    stop(signal.SIGTERM, None)


if __name__ == "__main__":
    main()
