"""``seed_idp [--redirect-uri URI ...]``: users user0..user9 and the ``rp-client`` client.

Idempotent: rerun it to reset passwords and groups or to register more redirect URIs (the
environment variable ``IDP_REDIRECT_URIS``, space-separated, adds more).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tests.idp.seeding import seed


class Command(BaseCommand):
    help = "Seed the test identity provider (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")

    def handle(self, *args: Any, redirect_uris: list[str], **options: Any) -> None:
        uris = redirect_uris + os.environ.get("IDP_REDIRECT_URIS", "").split()
        application = seed(uris)
        if options["verbosity"] > 0:
            self.stdout.write(f"client {application.client_id}: {application.redirect_uris}")
