"""``python -m janitor_site_emulator``."""

from __future__ import annotations

from .cli import main

main()
