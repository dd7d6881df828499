"""``Model.api`` says exactly what the compiler sends: every documented lookup, sort and search
compiles without a request, and every other one is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import reduce
from operator import or_
from typing import Any

import pytest
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import Model, Q

from janitor_site_django import models
from janitor_site_django.query import Capabilities, compile_query
from janitor_site_django.testing import assert_num_api_calls

MODELS = [models.Codebase, models.Run, models.ReadyRun, models.MergeProposal, models.QueueItem,
          models.ActiveRun]  # fmt: skip
#: Django lookups probed on every field (``icontains`` is the search: probed on its own).
PROBES = ["exact", "iexact", "in", "gt", "gte", "lt", "lte", "range", "contains", "startswith",
          "isnull"]  # fmt: skip
WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def _base(model: type[Model]) -> Any:
    """The model's queryset with its required filters (a ready list is per campaign)."""
    return model.objects.filter(**{name: "c" for name in model.api.required_fields})  # type: ignore[attr-defined]


def _value(field: Any, lookup: str) -> Any:
    """A value rows can hold (an enum's first choice), shaped for the lookup."""
    kind = field.get_internal_type()
    samples = {"BooleanField": True, "IntegerField": 7, "BigIntegerField": 7, "FloatField": 1.5,
               "DateTimeField": WHEN, "JSONField": {"a": 1}}  # fmt: skip
    one: Any = samples.get(kind, "x")
    if field.choices:
        one = field.choices[0][0]
    return {"in": [one], "range": (one, one), "isnull": True}.get(lookup, one)


def _accepted(queryset: Any, **lookup: Any) -> bool:
    try:
        queryset.filter(**lookup)
    except (NotSupportedError, FieldError):
        return False
    return True


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_lookups_are_exactly_the_filters_the_api_sends(model: type[Model]) -> None:
    api: Capabilities = model.api  # type: ignore[attr-defined]
    probed = 0
    with assert_num_api_calls(0):
        for field in model._meta.concrete_fields:
            for lookup in PROBES:
                lookup_value = {f"{field.name}__{lookup}": _value(field, lookup)}
                accepted = _accepted(_base(model), **lookup_value)
                assert accepted == api.can_filter(field.name, lookup), (field.name, lookup)
                probed += accepted
    assert probed == sum(len(lookups) for lookups in api.lookups.values())
    assert api.filterable_fields == (*api.lookups, *api.fixed_values)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_fixed_values_are_the_only_values_accepted(model: type[Model]) -> None:
    api: Capabilities = model.api  # type: ignore[attr-defined]
    for field, value in api.fixed_values.items():
        assert _accepted(_base(model), **{field: value})
        assert not _accepted(_base(model), **{field: not value})
    for field in api.required_fields:
        with pytest.raises(NotSupportedError, match=f"filter\\({field}=...\\)"):
            list(model.objects.all())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_sortable_fields_are_exactly_the_orderings_the_api_sends(model: type[Model]) -> None:
    api: Capabilities = model.api  # type: ignore[attr-defined]
    names = [field.name for field in model._meta.concrete_fields]
    assert set(api.sortable_fields) <= set(names)
    with assert_num_api_calls(0):
        for name in names:
            for term in (name, "-" + name):
                try:
                    _base(model).order_by(term)
                except FieldError:
                    sorted_ = False
                else:
                    sorted_ = True
                assert sorted_ == api.can_sort(term), term


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_searchable_fields_are_the_ones_q_searches(model: type[Model]) -> None:
    """icontains of one term over exactly the searchable fields is the search ``q``; over
    fewer of them it is refused."""
    api: Capabilities = model.api  # type: ignore[attr-defined]
    paths = []
    for name in api.searchable_fields:
        related = model._meta.get_field(name).related_model
        paths.append(name if related is None else f"{name}__{related._meta.pk.name}")
    every = reduce(or_, (Q(**{f"{path}__icontains": "x"}) for path in paths))
    compiled = compile_query(_base(model).filter(every).query, model.api_resource, {})  # type: ignore[attr-defined]
    assert compiled.params["q"] == "x"
    if len(paths) > 1:
        fewer = reduce(or_, (Q(**{f"{path}__icontains": "x"}) for path in paths[1:]))
        with pytest.raises(NotSupportedError, match="is not supported by the API"):
            _base(model).filter(fewer)


def test_capabilities_are_immutable() -> None:
    api = models.Run.api
    with pytest.raises(dataclasses.FrozenInstanceError):
        api.sortable_fields = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        api.lookups["description"] = ("icontains",)  # type: ignore[index]
    assert models.Run.api is models.Run().api
    assert models.Run.api.lookups["result_code"] == ("exact", "in")
    assert models.ReadyRun.api.required_fields == ("campaign",)
    assert models.Codebase.api.fixed_values == {"inactive": False}
