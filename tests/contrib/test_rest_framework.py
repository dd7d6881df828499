"""Django REST framework over API models, through DRF's ``APIClient`` against the live emulator.

Every answer is checked against the emulator's own JSON; API calls per page are counted with the
``api_call`` signal (``assert_num_api_calls``): one a page, none for a refused query string.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "rest_framework", reason="djangorestframework is not installed (the [drf] extra)"
)

from django.core.exceptions import FieldError, ImproperlyConfigured  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402
from rest_framework import filters, generics, pagination, serializers  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from janitor_site_django import models  # noqa: E402
from janitor_site_django.contrib.rest_framework import (  # noqa: E402
    ApiModelSerializer,
    ApiOrderingFilter,
    ApiPageNumberPagination,
    ApiSearchFilter,
)
from janitor_site_django.testing import assert_num_api_calls  # noqa: E402

from .conftest import Wire  # noqa: E402

pytestmark = pytest.mark.urls(__name__)
#: The order of Run.Meta.ordering, as v1 sorts it.
RUN_ORDER = "-start_time,run_id"
PAGE = 10


class Pages(ApiPageNumberPagination):
    page_size = PAGE


class RunSerializer(ApiModelSerializer):
    class Meta:
        model = models.Run
        fields = "__all__"


class RunList(generics.ListAPIView):  # type: ignore[type-arg]
    queryset = models.Run.objects.all()
    serializer_class = RunSerializer
    filter_backends = [ApiOrderingFilter, ApiSearchFilter]
    pagination_class = Pages
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class StockRunList(RunList):
    """DRF's own classes, for the baseline."""

    filter_backends = [filters.OrderingFilter, filters.SearchFilter]
    ordering_fields = "__all__"
    search_fields = ("run_id", "codebase__name", "description")

    class pagination_class(pagination.PageNumberPagination):  # noqa: N801
        page_size = PAGE


class ChosenOrderingRunList(RunList):
    ordering_fields = ("start_time", "duration")


class BadOrderingRunList(RunList):
    ordering_fields = ("start_time", "description")


class SearchFieldsRunList(RunList):
    search_fields = ("run_id", "codebase__name", "description")


class BadSearchFieldsRunList(RunList):
    search_fields = ("codebase__name",)


def serializer_for(model: type[Any], base: type[Any]) -> type[Any]:
    meta = type("Meta", (), {"model": model, "fields": "__all__"})
    return type(f"{model.__name__}Serializer", (base,), {"Meta": meta})


urlpatterns = [
    path("runs/", RunList.as_view()),
    path("stock/runs/", StockRunList.as_view()),
    path("chosen/runs/", ChosenOrderingRunList.as_view()),
    path("bad-ordering/runs/", BadOrderingRunList.as_view()),
    path("search-fields/runs/", SearchFieldsRunList.as_view()),
    path("bad-search-fields/runs/", BadSearchFieldsRunList.as_view()),
]


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def run_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [run["run_id"] for run in response.json()["results"]]


def wire_ids(wire: Wire, **params: Any) -> list[str]:
    return [run["run_id"] for run in wire.get("/api/runs", **params)["data"]]


# Pagination ----------------------------------------------------------------------------------


def test_a_page_and_its_count_are_one_api_call(client: APIClient, wire: Wire) -> None:
    total = wire.get("/api/runs", limit=0)["pagination"]["total"]
    with assert_num_api_calls(1) as calls:
        response = client.get("/runs/", {"page": 2})
    assert run_ids(response) == wire_ids(wire, limit=PAGE, offset=PAGE, sort=RUN_ORDER)
    body = response.json()
    assert body["count"] == total
    assert body["next"].endswith("/runs/?page=3") and body["previous"].endswith("/runs/")
    assert dict(calls[0].params) == {"limit": str(PAGE), "offset": str(PAGE), "sort": RUN_ORDER}


def test_drfs_own_pagination_makes_two_calls(client: APIClient) -> None:
    """The baseline ApiPageNumberPagination improves on: a count, then the page."""
    with assert_num_api_calls(2):
        assert client.get("/stock/runs/", {"page": 2}).status_code == 200


def test_the_last_page_and_pages_past_it(client: APIClient, wire: Wire) -> None:
    total = wire.get("/api/runs", limit=0)["pagination"]["total"]
    last = -(-total // PAGE)
    with assert_num_api_calls(2):  # the count first (page 1 brings it), then the last page
        response = client.get("/runs/", {"page": "last"})
    expected = wire_ids(wire, limit=PAGE, offset=(last - 1) * PAGE, sort=RUN_ORDER)
    assert run_ids(response) == expected and response.json()["next"] is None
    for page in (last + 1, 0, "x"):
        with assert_num_api_calls(1 if page == last + 1 else 0):
            assert client.get("/runs/", {"page": page}).status_code == 404


# Ordering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ["-duration", "codebase,-start_time", "suite", "value"])
def test_ordering_by_sortable_fields(client: APIClient, wire: Wire, ordering: str) -> None:
    with assert_num_api_calls(1) as calls:
        response = client.get("/runs/", {"ordering": ordering})
    sort = ordering.replace("suite", "campaign")
    assert run_ids(response) == wire_ids(wire, limit=PAGE, sort=sort)
    assert dict(calls[0].params)["sort"] == sort


def test_ordering_by_an_unsortable_field_is_a_400_naming_the_allowed_ones(
    client: APIClient,
) -> None:
    with assert_num_api_calls(0):
        response = client.get("/runs/", {"ordering": "-start_time,description,+value"})
    assert response.status_code == 400
    (message,) = response.json()["ordering"]
    assert message.startswith("Cannot order by description, +value. Allowed: run_id, codebase,")
    assert ", ".join(models.Run.api.sortable_fields) in message


def test_drfs_own_ordering_filter_lets_the_api_refusal_through(client: APIClient) -> None:
    """The problem ApiOrderingFilter solves: DRF's filter passes an unsortable field on, and
    the queryset's FieldError is a 500."""
    with pytest.raises(FieldError, match="cannot be ordered by 'description'"):
        client.get("/stock/runs/", {"ordering": "description"})


def test_a_views_ordering_fields_are_the_allowed_ones(client: APIClient, wire: Wire) -> None:
    assert run_ids(client.get("/chosen/runs/", {"ordering": "-duration"})) == wire_ids(
        wire, limit=PAGE, sort="-duration"
    )
    response = client.get("/chosen/runs/", {"ordering": "value"})
    assert response.status_code == 400
    assert response.json() == {
        "ordering": [
            "Cannot order by value. Allowed: start_time, duration (prefix - for descending)."
        ]
    }
    with pytest.raises(ImproperlyConfigured, match="names description: the API cannot sort Run"):
        client.get("/bad-ordering/runs/", {"ordering": "start_time"})


# Search --------------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["python", "LIB", '"Lib"', "  py  "])
def test_one_search_term_is_the_apis_q(client: APIClient, wire: Wire, term: str) -> None:
    q = term.strip().strip('"')
    expected = wire.get("/api/runs", q=q, limit=PAGE, sort=RUN_ORDER)
    with assert_num_api_calls(1) as calls:
        response = client.get("/runs/", {"search": term})
    assert run_ids(response) == [run["run_id"] for run in expected["data"]]
    assert response.json()["count"] == expected["pagination"]["total"] > 0
    assert dict(calls[0].params)["q"] == q


def test_a_quoted_phrase_is_one_term(client: APIClient, wire: Wire) -> None:
    descriptions = [run["description"] or "" for run in wire.get("/api/runs", limit=200)["data"]]
    words = " ".join(next(text for text in descriptions if " " in text.strip()).split()[:2])
    expected = wire_ids(wire, q=words, limit=PAGE, sort=RUN_ORDER)
    assert expected
    with assert_num_api_calls(1) as calls:
        assert run_ids(client.get("/runs/", {"search": f'"{words}"'})) == expected
    assert dict(calls[0].params)["q"] == words


@pytest.mark.parametrize("term", ["python debian", "a,b", 'x "two words"'])
def test_several_search_terms_are_a_400(client: APIClient, term: str) -> None:
    with assert_num_api_calls(0):
        response = client.get("/runs/", {"search": term})
    assert response.status_code == 400
    (message,) = response.json()["search"]
    assert message.startswith("The API searches for one term, not 2: search for one word, or put")


def test_drfs_own_search_filter_lets_the_api_refusal_through(client: APIClient) -> None:
    from django.db import NotSupportedError

    with pytest.raises(NotSupportedError, match="two different search terms"):
        client.get("/stock/runs/", {"search": "python debian"})


def test_a_views_search_fields_must_be_the_apis(client: APIClient, wire: Wire) -> None:
    with assert_num_api_calls(1) as calls:
        response = client.get("/search-fields/runs/", {"search": "lib"})
    assert run_ids(response) == wire_ids(wire, q="lib", limit=PAGE, sort=RUN_ORDER)
    assert dict(calls[0].params)["q"] == "lib"
    with pytest.raises(ImproperlyConfigured, match="search_fields cannot be searched through"):
        client.get("/bad-search-fields/runs/", {"search": "lib"})


def test_search_ordering_and_paging_together_are_one_call(client: APIClient, wire: Wire) -> None:
    expected = wire.get("/api/runs", q="lib", sort="-duration", limit=PAGE, offset=PAGE)
    with assert_num_api_calls(1):
        response = client.get("/runs/", {"search": "lib", "ordering": "-duration", "page": 2})
    assert run_ids(response) == [run["run_id"] for run in expected["data"]]
    assert response.json()["count"] == expected["pagination"]["total"]


# Serializers ---------------------------------------------------------------------------------

LISTS = [
    (models.Codebase, "/api/codebases", "name"),
    (models.Run, "/api/runs", "-start_time,run_id"),
    (models.MergeProposal, "/api/merge-proposals", "-merged_at,url"),
    (models.QueueItem, "/api/queue/items", "position,id"),
    (models.ActiveRun, "/api/active-runs", "start_time,run_id"),
]


@pytest.mark.parametrize(
    ("model", "endpoint", "sort"), LISTS, ids=lambda v: getattr(v, "__name__", "")
)
def test_api_model_serializer_renders_the_v1_json(
    wire: Wire, settings: Any, model: type[Any], endpoint: str, sort: str
) -> None:
    """Every field under its v1 key with its v1 value; datetimes as v1 writes them, whatever
    TIME_ZONE is (ActiveRun's current_duration is computed when answered)."""
    settings.TIME_ZONE = "America/New_York"
    raw = wire.get(endpoint, limit=50, sort=sort)["data"]
    objects = list(model.objects.all()[:50])
    rendered = serializer_for(model, ApiModelSerializer)(objects, many=True).data
    moving = {"current_duration"} if model is models.ActiveRun else set()
    assert len(rendered) == len(raw) > 0
    for mine, theirs in zip(rendered, raw, strict=True):
        assert set(mine) == {f.name for f in model._meta.concrete_fields}
        assert {k: v for k, v in mine.items() if k not in moving} == {
            k: v for k, v in theirs.items() if k in mine and k not in moving
        }


def test_a_plain_model_serializer_differs_only_in_datetime_offsets(
    wire: Wire, settings: Any
) -> None:
    """What a stock ModelSerializer gives: the same keys and values; datetimes the same instants,
    written in TIME_ZONE with an offset (v1's own text when TIME_ZONE is UTC)."""
    settings.TIME_ZONE = "America/New_York"
    raw = wire.get("/api/runs", limit=20, sort=RUN_ORDER)["data"]
    plain = serializer_for(models.Run, serializers.ModelSerializer)
    rendered = plain(list(models.Run.objects.all()[:20]), many=True).data
    stamps = {"start_time", "finish_time"}
    for mine, theirs in zip(rendered, raw, strict=True):
        assert {k: v for k, v in mine.items() if k not in stamps} == {
            k: v for k, v in theirs.items() if k in mine and k not in stamps
        }
        for key in stamps:
            if theirs[key] is not None:
                assert mine[key] != theirs[key]
                assert parse_datetime(mine[key]) == parse_datetime(theirs[key])
    settings.TIME_ZONE = "UTC"
    assert plain(list(models.Run.objects.all()[:20]), many=True).data == [
        {k: v for k, v in run.items() if k in mine} for run in raw
    ]
