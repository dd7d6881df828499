"""``manage.py janitor_emulator``: run the reference Janitor site API v1 server."""

from __future__ import annotations

import importlib.util
import os
import sys
from argparse import REMAINDER, ArgumentParser
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError

EMULATOR_MODULE = "janitor_site_emulator"


class Command(BaseCommand):
    help = (
        "Run the reference Janitor site API v1 server (the emulator). Every option is "
        f"python -m {EMULATOR_MODULE}'s (see its --help)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("emulator_args", nargs=REMAINDER, help="the emulator's options")

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option belongs to the emulator, Django's own (--settings, -v) included.
        try:
            self.exec_emulator(argv[2:])
        except CommandError as exc:
            self.stderr.write(f"CommandError: {exc}")
            sys.exit(exc.returncode)

    def handle(self, *args: Any, **options: Any) -> None:
        self.exec_emulator(options["emulator_args"])

    def exec_emulator(self, args: Sequence[str]) -> None:
        """Replace this process by the emulator's: signals and exit status are its own."""
        if importlib.util.find_spec(EMULATOR_MODULE) is None:
            raise CommandError(
                "The emulator is not installed: pip install 'janitor-site-django[emulator]'"
            )
        os.execv(sys.executable, [sys.executable, "-m", EMULATOR_MODULE, *args])
