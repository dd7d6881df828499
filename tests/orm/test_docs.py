"""docs/orm-lookups.md is what the declarations say."""

from __future__ import annotations

from pathlib import Path

from janitor_site_django import models
from janitor_site_django.query.docs import lookup_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "orm-lookups.md"
MODELS = [models.Codebase, models.Run, models.ReadyRun, models.MergeProposal, models.QueueItem,
          models.ActiveRun]  # fmt: skip


def test_the_lookup_table_is_current() -> None:
    assert DOCS.read_text() == lookup_table(MODELS), (
        "regenerate: python -m janitor_site_django.query.docs > docs/orm-lookups.md"
    )
