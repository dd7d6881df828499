"""What the API models' resource tables say, and the pool of values the replica holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import models
from hypothesis import strategies as st

from janitor_site_django import models as api
from janitor_site_django.query.resources import Resource

#: The API models by name.
API_MODELS: dict[str, type[models.Model]] = {
    model.__name__: model
    for model in (
        api.Codebase,
        api.Run,
        api.MergeProposal,
        api.QueueItem,
        api.ActiveRun,
        api.ReadyRun,
    )
}

# What the resources say ------------------------------------------------------------------------


def resource(model: str) -> Resource:
    return API_MODELS[model].api_resource  # type: ignore[attr-defined,no-any-return]


def kind(field: models.Field[Any, Any]) -> str:
    """text, enum, int, float, bool, datetime, json or fk."""
    if field.is_relation:
        return "fk"
    if field.choices:
        return "enum"
    internal = field.get_internal_type()
    return {
        "CharField": "text",
        "TextField": "text",
        "IntegerField": "int",
        "BigIntegerField": "int",
        "FloatField": "float",
        "BooleanField": "bool",
        "DateTimeField": "datetime",
        "JSONField": "json",
    }[internal]


def concrete(model: str) -> list[models.Field[Any, Any]]:
    return list(API_MODELS[model]._meta.concrete_fields)


def text_path(model: type[models.Model], name: str) -> str:
    """How a text lookup names a field: a foreign key through its target's key
    (``codebase__name__icontains``; Django has no ``icontains`` on the key itself)."""
    related = model._meta.get_field(name).related_model
    return name if related is None else f"{name}__{related._meta.pk.name}"  # type: ignore[union-attr]


#: Reverse relations of ``Codebase`` (related name → model).
REVERSE = {
    "runs": "Run",
    "merge_proposals": "MergeProposal",
    "queue_items": "QueueItem",
    "active_runs": "ActiveRun",
    "ready_runs": "ReadyRun",
}
#: Lookups the API has for no field, per field kind (all valid Django lookups).
UNSUPPORTED = {
    "text": ("iexact", "contains", "icontains", "startswith", "endswith", "regex", "gt", "isnull"),
    "enum": ("iexact", "startswith", "gt", "isnull", "in"),
    "fk": ("startswith", "gt", "isnull", "icontains"),
    "int": ("gt", "lte", "isnull", "range", "in"),
    "float": ("gt", "lt", "isnull"),
    "bool": ("isnull", "in"),
    "datetime": ("exact", "isnull", "year", "date", "in", "gt"),
    "json": ("isnull", "has_key"),
}

# Data ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Pool:
    """Values present in the replica: per model and attname the distinct non-null values, in a
    fixed order (a derandomized draw is reproducible)."""

    values: dict[str, dict[str, list[Any]]]
    #: Campaigns of the ready lists (the path of ``ReadyRun``).
    campaigns: list[str]

    def of(self, model: str, attname: str) -> list[Any]:
        return self.values[model].get(attname, [])

    def pks(self, model: str) -> list[Any]:
        return self.of(model, API_MODELS[model]._meta.pk.attname)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        sizes = {model: len(self.pks(model)) for model in self.values}
        return f"Pool({sizes})"


def pick(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    """One of ``values`` (shrinking to the first), with a short repr however long the list."""
    if len(values) <= 20:
        return st.sampled_from(values)
    return st.integers(0, len(values) - 1).map(lambda index: values[index])


ABSENT_TEXT = ("no-such-value", "", "a,b", "nul\x00byte", "ünïcödé")
INVALID_ENUM = ("nope", "GIT", "")
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
MICRO = dt.timedelta(microseconds=1)
