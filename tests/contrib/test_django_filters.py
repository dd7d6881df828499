"""django-filter over API models: FilterSets generated from ``Model.api``, against the live
emulator; through DRF (``ApiFilterBackend``) when DRF is installed too."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("django_filters", reason="django-filter is not installed (the [filters] extra)")

import django_filters  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402

from janitor_site_django import models  # noqa: E402
from janitor_site_django.contrib.django_filters import ApiFilterSet, filterset_for  # noqa: E402
from janitor_site_django.testing import assert_num_api_calls  # noqa: E402

from .conftest import Wire  # noqa: E402

MODELS = [models.Codebase, models.Run, models.ReadyRun, models.MergeProposal, models.QueueItem,
          models.ActiveRun]  # fmt: skip


def query(**params: str) -> QueryDict:
    data = QueryDict(mutable=True)
    data.update(params)
    return data


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_generated_filters_are_every_lookup_the_api_sends(model: type[Any]) -> None:
    expected = [
        name if lookup == "exact" else f"{name}__{lookup}"
        for name, lookups in model.api.lookups.items()
        for lookup in lookups
    ]
    filters = filterset_for(model).base_filters
    required = list(model.api.required_fields)  # first: nothing filters before them
    assert list(filters) == required + [name for name in expected if name not in required]
    relations = [f.name for f in model._meta.concrete_fields if f.is_relation]
    for name in relations:  # by key: no <select> listing the related model's rows
        assert type(filters[name]).__name__ == "CharFilter"
    assert [name for name, f in filters.items() if f.extra.get("required")] == required


def test_rendering_the_form_makes_no_api_call() -> None:
    """A stock FilterSet lists every codebase for the codebase <select>: ApiFilterSet filters
    foreign keys by key, so the form renders without a request."""

    class Stock(django_filters.FilterSet):  # type: ignore[misc]
        class Meta:
            model = models.Run
            fields = ["codebase"]

    with assert_num_api_calls(0):
        html = filterset_for(models.Run)(query()).form.as_p()
    assert 'name="codebase"' in html and 'name="start_time__range_min"' not in html
    with assert_num_api_calls(1):  # 200 codebases: one page of 1000
        Stock(query()).form.as_p()


def _cases(wire: Wire) -> list[tuple[type[Any], dict[str, str], str, dict[str, str]]]:
    """(model, filter data, v1 list, v1 parameters): values the demo data holds."""
    runs = wire.get("/api/runs", limit=100)["data"]
    codebases = sorted({run["codebase"] for run in runs})[:3]
    stamps = sorted(run["start_time"] for run in runs if run["start_time"])
    proposals = wire.get("/api/merge-proposals", limit=1)["data"]
    queue = wire.get("/api/queue/items", limit=5)["data"]
    active = wire.get("/api/active-runs", limit=1)["data"]
    campaign = "lintian-fixes"
    ready = ",".join(r["codebase"] for r in wire.get(f"/api/{campaign}/ready", limit=3)["data"])
    names, ids, bucket = (
        ",".join(codebases),
        ",".join(str(q["id"]) for q in queue),
        queue[0]["bucket"],
    )
    first, last = stamps[10], stamps[60]
    return [
        (models.Run, {"campaign": "debianize", "result_code__in": "success,build-failed"},
         "/api/runs", {"campaign": "debianize", "result_codes": "success,build-failed"}),
        (models.Run, {"start_time__gte": first, "start_time__lt": last},
         "/api/runs", {"start_time": first, "end_time": last}),
        (models.Run, {"start_time__range": f"{first},{last}", "failure_transient": "false"},
         "/api/runs", {"start_time": first, "failure_transient": "false"}),
        (models.Run, {"codebase__in": names, "publish_status": "unknown"},
         "/api/runs", {"codebases": names, "publish_status": "unknown"}),
        (models.Codebase, {"vcs_type": "git", "name__in": names},
         "/api/codebases", {"vcs_type": "git", "names": names}),
        (models.MergeProposal, {"status__in": "open,merged", "codebase": proposals[0]["codebase"]},
         "/api/merge-proposals", {"statuses": "open,merged", "codebase": proposals[0]["codebase"]}),
        (models.QueueItem, {"id__in": ids, "bucket": bucket},
         "/api/queue/items", {"ids": ids, "bucket": bucket}),
        (models.ActiveRun, {"worker_name": active[0]["worker_name"]},
         "/api/active-runs", {"worker_name": active[0]["worker_name"]}),
        (models.ReadyRun, {"campaign": campaign, "codebase__in": ready},
         f"/api/{campaign}/ready", {"codebases": ready}),
    ]  # fmt: skip


def test_generated_filters_answer_as_the_api(wire: Wire) -> None:
    checked = 0
    for model, data, endpoint, params in _cases(wire):
        filterset = filterset_for(model)(query(**data))
        with assert_num_api_calls(0):
            assert filterset.is_valid(), (model, filterset.errors)
        expected = wire.get(endpoint, limit=1000, **params)["data"]
        if "start_time__range" in data:  # range: the upper bound is inclusive
            last = parse_datetime(data["start_time__range"].split(",")[1])
            expected = [r for r in expected if parse_datetime(r["start_time"]) <= last]
        pk = model._meta.pk.attname
        with assert_num_api_calls(1):
            found = [getattr(obj, pk) for obj in filterset.qs]
        assert found == [row[pk] for row in expected] and found, (model, data)
        checked += 1
    assert checked == 9


BAD = [
    (models.Run, {"start_time__gte": "yesterday"}, "start_time__gte", "Enter a valid date/time."),
    (models.Run, {"publish_status": "bogus"}, "publish_status", "Select a valid choice."),
    (models.Run, {"start_time__range": "2025-01-01T00:00:00Z"}, "start_time__range", "Range query"),
    (models.QueueItem, {"id__in": "1,x"}, "id__in", "Enter a number."),
    (models.Run, {"codebase__in": "a,,b"}, "codebase__in",
     "Run: codebase__in with an empty value or a value containing a comma is not supported"),
    (models.ReadyRun, {"codebase": "x", "publish_status": "unknown"}, "campaign",
     "This field is required."),
]  # fmt: skip


@pytest.mark.parametrize(("model", "data", "field", "message"), BAD)
def test_bad_values_are_errors_on_their_field_before_any_request(
    model: type[Any], data: dict[str, str], field: str, message: str
) -> None:
    filterset = filterset_for(model)(query(**data))
    with assert_num_api_calls(0):
        assert not filterset.is_valid()
        assert list(filterset.errors) == [field]
        assert filterset.errors[field][0].startswith(message), filterset.errors
    if field not in model.api.required_fields:  # else nothing filters: the model needs it
        assert filterset.qs.model is model  # the valid filters applied: no refusal left


def test_a_refusal_leaves_the_other_filters_applied(wire: Wire) -> None:
    filterset = filterset_for(models.Run)(query(campaign="debianize", codebase__in="a,,b"))
    assert not filterset.is_valid() and list(filterset.errors) == ["codebase__in"]
    expected = [r["run_id"] for r in wire.get("/api/runs", campaign="debianize", limit=5)["data"]]
    assert [run.run_id for run in filterset.qs[:5]] == expected


def test_fields_the_api_cannot_filter_are_refused_when_the_class_is_defined() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:

        class Searching(ApiFilterSet):
            class Meta:
                model = models.Run
                fields = {"description": ["icontains"], "result_code": ["exact", "in"]}

    assert str(refused.value).startswith(
        "Searching: the API cannot filter Run by description__icontains. It filters run_id: "
        "exact, in; codebase: exact, in;"
    )
    with pytest.raises(ImproperlyConfigured, match="cannot filter Run by start_time__exact"):

        class Exact(ApiFilterSet):
            class Meta:
                model = models.Run
                fields = ["start_time"]


def test_chosen_fields_and_declared_filters() -> None:
    class Chosen(ApiFilterSet):
        worker = django_filters.CharFilter(field_name="worker_name")

        class Meta:
            model = models.Run
            fields = ["campaign", "worker"]

    assert list(Chosen.base_filters) == ["campaign", "worker"]

    class AllButSuite(ApiFilterSet):
        class Meta:
            model = models.Run
            exclude = ["suite", "start_time"]

    assert "suite" not in AllButSuite.base_filters and "suite__in" not in AllButSuite.base_filters
    assert "campaign__in" in AllButSuite.base_filters
