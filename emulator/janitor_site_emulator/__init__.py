"""The reference Janitor site API v1 server (the "emulator").

A real implementation of the contract (``docs/contract/janitor-api-v1.md`` in the source tree)
over SQLite or PostgreSQL, used as the default backend of the demo and as the peer of every
integration test. It shares no code with
the client on purpose: two independent readings of the contract keep each other honest.

Start it with ``python -m janitor_site_emulator`` or ``manage.py janitor_emulator``; build
the ASGI app in-process with :func:`janitor_site_emulator.app.create_app`.
"""

from __future__ import annotations

__version__ = "0.1.0"
