"""The replica side: filling the SQL replicas through the API, and building a case on them.

Only what the two sides do not spell alike is translated, each with Django's own means:
``search(term)`` is ``icontains`` OR-ed over the endpoint's searched fields (§2.7); an ordering
is :func:`tests.replicas.ordering.contract_order` of its keys (nulls last, enum ranks, the
tie-breaker); ``latest()``/``earliest()`` order by the same translation. Set operations clear
the operands' ordering first: SQLite allows no ``ORDER BY`` inside a compound statement (the
result of a set operation is unordered anyway).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.query import EmptyQuerySet
from pydantic import BaseModel

from janitor_site_django import models as api
from tests.replicas.models import REPLICAS
from tests.replicas.ordering import contract_order, resolve

from .cases import Latest, OrderKey
from .tables import API_MODELS, Pool, concrete, kind, resource, text_path


class ReplicaSide:
    """Django's SQL ORM over the replicas: the oracle."""

    name = "replica"

    def model(self, name: str) -> type[models.Model]:
        return REPLICAS[API_MODELS[name]]

    def manager(self, model: str, manager: str) -> QuerySet[Any]:
        return getattr(self.model(model), manager).all()  # type: ignore[no-any-return]

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        term = term.replace("\x00", "\uffff")  # SQLite's LIKE would stop at it (sides._LIKE)
        model = queryset.model
        searched = [text_path(model, name) for name in resource(model.__name__).searched]
        either = functools.reduce(
            operator.or_, (Q(**{f"{name}__icontains": term}) for name in searched)
        )
        return queryset.filter(either)

    def order_by(
        self, queryset: QuerySet[Any], keys: Sequence[OrderKey], tie_breaker: bool
    ) -> QuerySet[Any]:
        if not keys:  # order_by(): unordered, as for any model
            return queryset.order_by()
        model = queryset.model
        written = [key.for_api() if self._rejected(model, key) else key.key() for key in keys]
        return queryset.order_by(*contract_order(model, written, tie_breaker=tie_breaker))

    @staticmethod
    def _rejected(model: type[models.Model], key: OrderKey) -> bool:
        """A name Django rejects in ``order_by()`` itself: kept as written, so that Django
        raises where (and what) it would."""
        if key.field == "?":  # F("?") and "-?" name a field to Django, "?" a random order
            return key.expression or key.descending
        if key.expression or resolve(model, key.field) is not None:
            return False
        try:
            model._base_manager.order_by(key.field)
        except FieldError:
            return True
        return False

    def setop(
        self, left: QuerySet[Any], kind: str, right: QuerySet[Any], all: bool
    ) -> QuerySet[Any]:
        if isinstance(left, EmptyQuerySet):  # Django returns the other operand(s) as they are
            return getattr(left, kind)(right, **({"all": all} if kind == "union" else {}))
        if not left.query.is_sliced and not left.query.combinator:
            left = left.order_by()
        if not right.query.is_sliced:
            right = right.order_by()
        if kind == "union":
            return left.union(right, all=all)
        return getattr(left, kind)(right)  # type: ignore[no-any-return]

    def _terms(self, queryset: QuerySet[Any], step: Latest) -> list[Any]:
        """``latest(f)`` is the first of ``order_by("-f")`` as the contract sorts it;
        ``earliest(f)`` the first of ``order_by("f")``."""
        keys = []
        for name in step.fields:
            descending = name.startswith("-")
            keys.append((name.lstrip("-"), descending if step.earliest else not descending, None))
        return contract_order(queryset.model, keys)

    def latest(self, queryset: QuerySet[Any], step: Latest) -> Any:
        if not step.fields:  # Django's own error (no get_latest_by)
            return queryset.earliest() if step.earliest else queryset.latest()
        return queryset.earliest(*self._terms(queryset, step))

    async def alatest(self, queryset: QuerySet[Any], step: Latest) -> Any:
        raise AssertionError("the oracle is evaluated synchronously")


def plain(value: Any) -> Any:
    """An API field value as stored in the replica: pydantic shapes become their JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def read_all() -> dict[type[models.Model], list[models.Model]]:
    """Every row the API returns, per API model, read through the API models themselves."""
    runs = list(api.Run.objects.all())
    queue = list(api.QueueItem.objects.all())
    campaigns = sorted({run.campaign for run in runs} | {item.campaign for item in queue})
    ready = [run for name in campaigns for run in api.ReadyRun.objects.filter(campaign=name)]
    return {
        api.Codebase: list(api.Codebase.everything.all()),
        api.Run: runs,
        api.ReadyRun: ready,
        api.MergeProposal: list(api.MergeProposal.objects.all()),
        api.QueueItem: queue,
        api.ActiveRun: list(api.ActiveRun.objects.all()),
    }


def fill() -> Pool:
    """Copy every API row into the replicas (same keys, same values) and return the pool."""
    rows = read_all()
    codebases = {codebase.pk for codebase in rows[api.Codebase]}
    for api_model, objects in rows.items():
        keys = [obj.pk for obj in objects]
        assert len(keys) == len(set(keys)), f"{api_model.__name__}: a key listed twice"
        replica = REPLICAS[api_model]
        fields = list(api_model._meta.concrete_fields)
        for field in fields:  # select_related joins: a dangling key would drop rows
            if field.is_relation:
                dangling = {getattr(o, field.attname) for o in objects} - codebases - {None}
                assert not dangling, f"{api_model.__name__}.{field.name}: unknown {dangling}"
        replica._base_manager.bulk_create(
            [
                replica(**{f.attname: plain(getattr(obj, f.attname)) for f in fields})
                for obj in objects
            ],
            batch_size=500,
        )
    return pool()


def pool() -> Pool:
    """The distinct non-null values of every field of every replica (JSON fields aside)."""
    values: dict[str, dict[str, list[Any]]] = {}
    for name in API_MODELS:
        replica = ReplicaSide().model(name)
        values[name] = {}
        for field in concrete(name):
            if kind(field) == "json":
                continue
            found = replica._base_manager.order_by().values_list(field.attname, flat=True)
            distinct = {value for value in found.distinct() if value is not None}
            values[name][field.attname] = sorted(distinct, key=repr)
    ready = ReplicaSide().model("ReadyRun")._base_manager
    campaigns = sorted(set(ready.values_list("campaign", flat=True)))
    return Pool(values, campaigns)


def empty() -> None:
    for replica in REPLICAS.values():
        replica._base_manager.all().delete()
