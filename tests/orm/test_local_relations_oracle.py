"""``ApiForeignKey`` against Django's own ``ForeignKey`` on the same rows, by generated cases.

The same bookmarks sit in ``testapp.Bookmark`` (an ``ApiForeignKey`` to the API's codebases) and
in ``replicas.Bookmark`` (a ``ForeignKey`` to a SQL copy of every codebase, inactive ones and
dangling keys included). Each drawn chain of ``filter``/``exclude`` on the key (``codebase``,
``codebase_id``, ``codebase__name``, ``codebase__pk``; every lookup), ``order_by`` and slice must
answer as Django does on the replica — rows, ``values_list``, ``count``, ``exists`` and the
related objects themselves. A chain that needs the codebase's other columns
(``codebase__url``…) is a JOIN to a table the API model does not have: it may only raise
``FieldError`` naming ``ApiForeignKey``, with no SQL query and no API call sent (where Django
needs no JOIN after all, as for ``order_by(…).count()``, it answers alike).

One translation, with Django's own means: ``order_by("codebase")`` means the codebase's
``Meta.ordering``, ``["name"]``, so the replica is asked ``order_by("codebase__name")`` (the
replica's own ``Meta.ordering`` is the contract's expressions, whose direction Django does not
flip for ``"-codebase"``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor_site_django import models as api
from janitor_site_django.testing import capture_api_calls
from tests.replicas import models as replicas
from tests.testapp.models import Bookmark

from .conformance.replica import plain

pytestmark = pytest.mark.django_db

KEY_PATHS = ("codebase", "codebase_id", "codebase__name", "codebase__pk")
JOINED_PATHS = ("codebase__url", "codebase__vcs_type", "codebase__inactive", "codebase__branch")
LOOKUPS = ("exact", "in", "gt", "gte", "lt", "lte", "startswith", "contains", "isnull", "range")
ORDERINGS = ("codebase", "-codebase", "codebase__name", "-codebase__name", "note", "-note")
TERMINALS = ("rows", "values_list", "count", "exists", "objects")
MISSING = ("zz-missing", "0-missing")
RELATION_ORDER = {"codebase": "codebase__name", "-codebase": "-codebase__name"}


@dataclasses.dataclass(frozen=True)
class Op:
    exclude: bool
    path: str
    lookup: str
    value: Any

    def apply(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        method = queryset.exclude if self.exclude else queryset.filter
        return method(**{f"{self.path}__{self.lookup}": self.value})


@dataclasses.dataclass(frozen=True)
class Case:
    ops: tuple[Op, ...]
    order: tuple[str, ...]
    window: tuple[int, int] | None
    terminal: str

    @property
    def joins(self) -> bool:
        return any(op.path in JOINED_PATHS for op in self.ops) or any(
            key.lstrip("-").startswith("codebase__") and key.lstrip("-") != "codebase__name"
            for key in self.order
        )

    def queryset(self, model: type[models.Model]) -> models.QuerySet[Any]:
        queryset = model._default_manager.all()
        for op in self.ops:
            queryset = op.apply(queryset)
        order = self.order
        if model is replicas.Bookmark:  # api.Codebase.Meta.ordering is ["name"]
            order = tuple(RELATION_ORDER.get(key, key) for key in order)
        queryset = queryset.order_by(*order, "pk")
        if self.window is not None:
            queryset = queryset[self.window[0] : self.window[1]]
        return queryset

    def answer(self, model: type[models.Model]) -> Any:
        queryset = self.queryset(model)
        if self.terminal == "rows":
            return [(b.pk, b.codebase_id, b.note) for b in queryset]
        if self.terminal == "values_list":
            return list(queryset.values_list("codebase", "note"))
        if self.terminal == "count":
            return queryset.count()
        if self.terminal == "exists":
            return queryset.exists()
        return [_related(b) for b in queryset]


def _related(bookmark: models.Model) -> Any:
    try:
        codebase = bookmark.codebase  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return (bookmark.pk, "DoesNotExist")
    return (bookmark.pk, codebase.pk, codebase.url, codebase.vcs_type, codebase.inactive)


def _value(lookup: str, keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    if lookup == "in":
        return st.lists(keys, min_size=1, max_size=4)
    if lookup == "isnull":
        return st.booleans()
    if lookup == "range":
        return st.lists(keys, min_size=2, max_size=2).map(sorted)
    if lookup in ("startswith", "contains"):
        return keys.map(lambda key: key[:3])
    return keys


def cases(names: list[str]) -> st.SearchStrategy[Case]:
    keys = st.sampled_from([*names, *MISSING, ""])

    @st.composite
    def op(draw: Any) -> Op:
        joined = draw(st.integers(0, 9)) == 0
        path = draw(st.sampled_from(JOINED_PATHS if joined else KEY_PATHS))
        lookup = draw(st.sampled_from(LOOKUPS))
        return Op(draw(st.booleans()), path, lookup, draw(_value(lookup, keys)))

    window = st.none() | st.tuples(st.integers(0, 30), st.integers(0, 50)).map(
        lambda w: (min(w), max(w))
    )
    order = st.lists(st.sampled_from([*ORDERINGS, "codebase__url"]), max_size=2, unique=True)
    return st.builds(
        Case,
        st.lists(op(), max_size=3).map(tuple),
        order.map(tuple),
        window,
        st.sampled_from(TERMINALS),
    )


@pytest.fixture
def rows(janitor_emulator: Any, settings: Any) -> list[str]:
    """The same bookmarks in both tables; every codebase (inactive ones too) in the replica."""
    settings.JANITOR_SITE_URL = janitor_emulator.url
    codebases = list(api.Codebase.everything.all())
    fields = [f.attname for f in api.Codebase._meta.concrete_fields]
    replicas.Codebase._base_manager.bulk_create(
        replicas.Codebase(**{name: plain(getattr(c, name)) for name in fields}) for c in codebases
    )
    names = sorted(c.pk for c in codebases)
    keys = [names[(7 * i) % len(names)] for i in range(36)] + list(MISSING)
    for index, key in enumerate(keys):
        note = f"note {index % 5}"
        Bookmark.objects.create(pk=index + 1, codebase=key, note=note)
        replicas.Bookmark.objects.create(pk=index + 1, codebase_id=key, note=note)
    return names


def test_api_foreign_keys_answer_as_djangos_foreign_keys(rows: list[str]) -> None:
    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(cases(rows))
    def check(case: Case) -> None:
        try:
            expected: Any = case.answer(replicas.Bookmark)
        except Exception as error:  # Django refuses it: so must we, alike
            expected = type(error)
        with CaptureQueriesContext(connection) as queries, capture_api_calls() as calls:
            try:
                answer: Any = case.answer(Bookmark)
            except Exception as error:
                if "is an ApiForeignKey" in str(error):  # the JOIN Django would make: refused
                    assert case.joins, case
                    assert queries.captured_queries == [] and calls.sent == [], case
                    return
                answer = type(error)
        assert answer == expected, case
        if case.terminal != "objects":
            assert calls.sent == [], case
        elif isinstance(answer, list) and all(row[1] != "DoesNotExist" for row in answer):
            assert len(calls.sent) == (1 if answer else 0), (case, calls.describe())

    check()
