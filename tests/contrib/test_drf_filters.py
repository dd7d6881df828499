"""DRF's filter backend over API models (``ApiFilterBackend``), through ``APIClient`` against the
live emulator: generated filters, 400s for bad values, one API call a page."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "rest_framework", reason="djangorestframework is not installed (the [drf] extra)"
)
pytest.importorskip("django_filters", reason="django-filter is not installed (the [filters] extra)")

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.db import NotSupportedError  # noqa: E402
from django.urls import path  # noqa: E402
from django_filters.rest_framework import DjangoFilterBackend  # noqa: E402
from rest_framework import generics  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from janitor_site_django import models  # noqa: E402
from janitor_site_django.contrib.django_filters import ApiFilterBackend  # noqa: E402
from janitor_site_django.contrib.rest_framework import (  # noqa: E402
    ApiModelSerializer,
    ApiOrderingFilter,
    ApiPageNumberPagination,
    ApiSearchFilter,
)
from janitor_site_django.testing import assert_num_api_calls  # noqa: E402

from .conftest import Wire  # noqa: E402

pytestmark = pytest.mark.urls(__name__)
PAGE = 10


class Pages(ApiPageNumberPagination):
    page_size = PAGE


class RunSerializer(ApiModelSerializer):
    class Meta:
        model = models.Run
        fields = ("run_id", "codebase", "campaign", "result_code", "start_time")


class ReadyRunSerializer(ApiModelSerializer):
    class Meta:
        model = models.ReadyRun
        fields = ("run_id", "codebase", "campaign", "value")


class RunList(generics.ListAPIView):  # type: ignore[type-arg]
    queryset = models.Run.objects.all()
    serializer_class = RunSerializer
    filter_backends = [ApiFilterBackend, ApiOrderingFilter, ApiSearchFilter]
    pagination_class = Pages
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class ReadyRunList(RunList):
    queryset = models.ReadyRun.objects.all()
    serializer_class = ReadyRunSerializer


class ChosenRunList(RunList):
    filterset_fields = ["campaign", "result_code"]


class BadChosenRunList(RunList):
    filterset_fields = {"description": ["icontains"]}


class StockRunList(RunList):
    """django-filter's own backend, for the baseline."""

    filter_backends = [DjangoFilterBackend]
    filterset_fields = {"campaign": ["exact", "in"]}


urlpatterns = [
    path("runs/", RunList.as_view()),
    path("ready/", ReadyRunList.as_view()),
    path("chosen/runs/", ChosenRunList.as_view()),
    path("bad-chosen/runs/", BadChosenRunList.as_view()),
    path("stock/runs/", StockRunList.as_view()),
]


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["run_id"] for row in response.json()["results"]]


def test_filters_ordering_search_and_a_page_are_one_api_call(client: APIClient, wire: Wire) -> None:
    expected = wire.get("/api/runs", campaigns="debianize,lintian-fixes", result_codes="success",
                        q="lib", sort="-duration", limit=PAGE, offset=PAGE)  # fmt: skip
    assert expected["pagination"]["total"] > PAGE
    with assert_num_api_calls(1):
        response = client.get("/runs/", {"campaign__in": "debianize,lintian-fixes",
                                         "result_code": "success", "search": "lib",
                                         "ordering": "-duration", "page": 2})  # fmt: skip
    assert ids(response) == [run["run_id"] for run in expected["data"]]
    assert response.json()["count"] == expected["pagination"]["total"]


def test_time_ranges(client: APIClient, wire: Wire) -> None:
    stamps = sorted(run["start_time"] for run in wire.get("/api/runs", limit=100)["data"])
    expected = wire.get("/api/runs", start_time=stamps[5], end_time=stamps[50], limit=PAGE,
                        sort="-start_time,run_id")  # fmt: skip
    with assert_num_api_calls(1):
        response = client.get(
            "/runs/", {"start_time__gte": stamps[5], "start_time__lt": stamps[50]}
        )
    assert ids(response) == [run["run_id"] for run in expected["data"]]
    assert response.json()["count"] == expected["pagination"]["total"] > 0


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"start_time__gte": "yesterday"}, {"start_time__gte": ["Enter a valid date/time."]}),
        ({"vcs_type": "tarball"}, {"vcs_type": [
            "Select a valid choice. tarball is not one of the available choices."]}),
        ({"failure_transient": "true", "campaign__in": "a,,b"}, {"campaign__in": [
            "Run: campaign__in with an empty value or a value containing a comma is not supported "
            "by the API. v1 lists are comma-separated and cannot hold either; filter by such a "
            "value alone with filter(campaign=value)."]}),
    ],
)  # fmt: skip
def test_bad_values_are_a_400_before_any_request(
    client: APIClient, params: dict[str, str], errors: dict[str, list[str]]
) -> None:
    with assert_num_api_calls(0):
        response = client.get("/runs/", params)
    assert response.status_code == 400 and response.json() == errors


def test_drfs_own_backend_lets_the_api_refusal_through(client: APIClient) -> None:
    with pytest.raises(NotSupportedError, match="campaign__in with an empty value"):
        client.get("/stock/runs/", {"campaign__in": "a,,b"})


def test_a_ready_list_needs_its_campaign(client: APIClient, wire: Wire) -> None:
    with assert_num_api_calls(0):
        response = client.get("/ready/", {"codebase": "x"})
    assert response.status_code == 400 and response.json() == {
        "campaign": ["This field is required."]
    }
    expected = wire.get("/api/lintian-fixes/ready", limit=PAGE)
    with assert_num_api_calls(1):
        response = client.get("/ready/", {"campaign": "lintian-fixes"})
    assert ids(response) == [run["run_id"] for run in expected["data"]]
    assert response.json()["count"] == expected["pagination"]["total"]


def test_a_views_filterset_fields_are_checked_against_the_api(
    client: APIClient, wire: Wire
) -> None:
    expected = wire.get("/api/runs", result_code="success", limit=PAGE, sort="-start_time,run_id")
    with assert_num_api_calls(1):  # codebase is not among the view's filters: ignored, as DRF does
        response = client.get("/chosen/runs/", {"result_code": "success", "codebase": "x"})
    assert ids(response) == [run["run_id"] for run in expected["data"]]
    with pytest.raises(ImproperlyConfigured, match="cannot filter Run by description__icontains"):
        client.get("/bad-chosen/runs/")


HOSTILE = ["\x00", "", " ", ",", "-", "--", "'", '"', "a" * 5000, "é", "1e9999", "-0", "null"]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    "name", ["search", "ordering", "page", "campaign__in", "start_time__range", "failure_transient"]
)
def test_no_query_string_is_a_500(client: APIClient, name: str, value: str) -> None:
    response = client.get("/runs/", {name: value})
    assert response.status_code in (200, 400, 404), (response.status_code, response.content[:300])
