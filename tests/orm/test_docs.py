"""docs/orm-lookups.md is what the declarations say."""

from __future__ import annotations

import datetime as dt
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


def test_every_documented_lookup_is_one_django_accepts_and_the_api_sends() -> None:
    """Each row's lookup is built as Django builds it and compiled without a request: the
    documentation must not offer what Django itself rejects (``codebase__icontains`` on a key)."""
    import re
    from functools import reduce
    from operator import or_

    from django.db.models import Q

    from janitor_site_django.query.compiler import compile_query

    values = {"v": "x", "[…]": ["x"], "t": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)}
    checked = 0
    for model in MODELS:
        section = DOCS.read_text().split(f"## {model.__name__}\n", 1)[1].split("\n## ", 1)[0]
        for row in re.findall(r"^\| (`.*?`)(?:, `\.search\(v\)`)? \| `([^`]*)`", section, re.M):
            lookups = re.findall(r"(\w+)=(v|\[…\]|t|\(a, b\)|False)", row[0])
            if not lookups or "required" in row[0]:
                continue
            base = model.objects.filter(campaign="c") if model is models.ReadyRun else model.objects
            q = reduce(or_, (Q(**{k: _value(model, k, v, values)}) for k, v in lookups))
            api = compile_query(base.filter(q).query, model.api_resource, {})
            assert row[1].split(" ")[0] in api.params or row[1].startswith("the endpoint"), row
            checked += 1
    assert checked > 30


def _value(model: type, lookup: str, token: str, values: dict[str, object]) -> object:
    field = model._meta.get_field(lookup.split("__")[0])
    if field.get_internal_type() == "BooleanField":
        return True
    if field.get_internal_type() in ("IntegerField", "BigIntegerField", "AutoField"):
        return 7 if token == "v" else [7]
    choices = field.choices
    if choices and token in ("v", "[…]"):  # an enum: a value rows can hold
        return choices[0][0] if token == "v" else [choices[0][0]]
    if token == "(a, b)":
        return (values["t"], values["t"])
    if token == "False":
        return False
    return values[token]
