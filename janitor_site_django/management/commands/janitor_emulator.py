"""``manage.py janitor_emulator``: run the reference Janitor site API v1 server."""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from janitor_site_django.emulator.cli import EmulatorExtraMissing, add_arguments, run


class Command(BaseCommand):
    help = (
        "Run the reference Janitor site API v1 server (the emulator). "
        "Same options as python -m janitor_site_django.emulator."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run(Namespace(**options))
        except EmulatorExtraMissing as exc:
            raise CommandError(str(exc)) from exc
