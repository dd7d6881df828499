"""django-tables2 over API models: table views through Django's test client against the live
emulator, with the API calls of each page counted."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip(
    "django_tables2", reason="django-tables2 is not installed (the [tables2] extra)"
)

import django_tables2 as tables  # noqa: E402
from django.core.exceptions import FieldError  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402

from janitor_site_django import models  # noqa: E402
from janitor_site_django.contrib.tables2 import ApiTable  # noqa: E402
from janitor_site_django.paginator import ApiPaginator  # noqa: E402
from janitor_site_django.testing import assert_num_api_calls  # noqa: E402

from .conftest import Wire  # noqa: E402

pytestmark = pytest.mark.urls(__name__)
PAGE = 10
RUN_ORDER = "-start_time,run_id"
FIELDS = ("run_id", "codebase", "campaign", "result_code", "description", "duration")


class RunTable(ApiTable):
    class Meta:
        model = models.Run
        fields = FIELDS


class PlainRunTable(tables.Table):  # type: ignore[misc]
    codebase = tables.Column(accessor="codebase_id")  # else a request per row for the codebase

    class Meta:
        model = models.Run
        fields = FIELDS


class RunView(tables.SingleTableView):  # type: ignore[misc]
    model = models.Run
    table_class = RunTable
    table_pagination = {"paginator_class": ApiPaginator, "per_page": PAGE}
    template_name = "django_tables2/table.html"


class PlainRunView(RunView):
    table_class = PlainRunTable


class StockPaginatorRunView(RunView):
    table_pagination = {"paginator_class": Paginator, "per_page": PAGE}


class ListViewPaginatedRunView(RunView):
    """paginate_by: ListView paginates the queryset too, besides the table."""

    table_pagination = None
    paginator_class = ApiPaginator
    paginate_by = PAGE


urlpatterns = [
    path("runs/", RunView.as_view()),
    path("plain/runs/", PlainRunView.as_view()),
    path("stock/runs/", StockPaginatorRunView.as_view()),
    path("paginate-by/runs/", ListViewPaginatedRunView.as_view()),
]


@pytest.fixture(autouse=True)
def tables2_templates(settings: Any) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_tables2"]


def shown(response: Any, wire_rows: list[dict[str, Any]]) -> list[str]:
    """The run ids of the page, in the order shown (each looked for in the table's body)."""
    assert response.status_code == 200, response.content[:500]
    body = response.content.decode().split("<tbody", 1)[1]
    positions = {row["run_id"]: body.find(f">{row['run_id']}<") for row in wire_rows}
    return [run_id for run_id, at in sorted(positions.items(), key=lambda p: p[1]) if at >= 0]


def wire_page(wire: Wire, page: int, sort: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = wire.get(
        "/api/runs", limit=PAGE, offset=(page - 1) * PAGE, sort=sort
    )["data"]
    return rows


@pytest.mark.parametrize("url", ["/runs/", "/plain/runs/"])
def test_a_table_page_is_one_api_call(url: str, wire: Wire) -> None:
    """ApiPaginator under django-tables2 (which paginates its rows, not the queryset): the
    page's rows and the count from one call, on an ApiTable and on a plain Table alike."""
    expected = wire_page(wire, 3, RUN_ORDER)
    total = wire.get("/api/runs", limit=0)["pagination"]["total"]
    with assert_num_api_calls(1) as calls:
        response = Client().get(url, {"page": 3})
    assert shown(response, expected) == [row["run_id"] for row in expected]
    assert all(f">{row['codebase']}<" in response.content.decode() for row in expected)
    assert dict(calls[0].params) == {"limit": str(PAGE), "offset": str(2 * PAGE), "sort": RUN_ORDER}
    assert f'href="?page={-(-total // PAGE)}"' in response.content.decode()  # the last page


def test_the_stock_paginator_makes_two_calls(wire: Wire) -> None:
    with assert_num_api_calls(2):
        assert Client().get("/stock/runs/", {"page": 3}).status_code == 200


def test_paginate_by_makes_listview_paginate_too() -> None:
    """Why the README says table_pagination: with paginate_by, ListView fetches a page of the
    queryset besides the table's page (in the table's order)."""
    with assert_num_api_calls(2) as calls:
        assert (
            Client().get("/paginate-by/runs/", {"page": 3, "sort": "-duration"}).status_code == 200
        )
    assert [dict(call.params)["sort"] for call in calls] == [RUN_ORDER, "-duration"]


def test_pages_past_the_last_show_the_last(wire: Wire) -> None:
    total = wire.get("/api/runs", limit=0)["pagination"]["total"]
    last = -(-total // PAGE)
    expected = wire_page(wire, last, RUN_ORDER)
    with assert_num_api_calls(2):  # the page asked for (empty, with the count), then the last
        response = Client().get("/runs/", {"page": last + 4})
    assert shown(response, expected) == [row["run_id"] for row in expected]


@pytest.mark.parametrize("sort", ["-duration", "codebase", "campaign"])
def test_sorting_by_a_sortable_column(wire: Wire, sort: str) -> None:
    expected = wire_page(wire, 2, sort)
    with assert_num_api_calls(1) as calls:
        response = Client().get("/runs/", {"sort": sort, "page": 2})
    assert shown(response, expected) == [row["run_id"] for row in expected]
    assert dict(calls[0].params)["sort"] == sort


def test_a_hand_edited_sort_on_an_unsortable_column_is_ignored(wire: Wire) -> None:
    for sort, wanted in [("description", RUN_ORDER), ("-description", RUN_ORDER),
                         (["description", "-duration"], "-duration")]:  # fmt: skip
        with assert_num_api_calls(1) as calls:
            response = Client().get("/runs/", {"sort": sort})
        rows = wire_page(wire, 1, wanted)
        assert shown(response, rows) == [row["run_id"] for row in rows]
        assert dict(calls[0].params)["sort"] == wanted


def test_unsortable_columns_have_no_sort_link() -> None:
    html = Client().get("/runs/").content.decode()
    headers = re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)
    assert len(headers) == len(FIELDS) and "Description" in headers[FIELDS.index("description")]
    linked = re.findall(r'<a href="\?sort=(\w+)">', "".join(headers))
    assert linked == [name for name in FIELDS if models.Run.api.can_sort(name)]
    assert "description" not in linked


def test_a_plain_table_lets_the_api_refusal_through() -> None:
    """The problem ApiTable solves: a plain table sorts every column, and the queryset's
    FieldError is a 500."""
    with pytest.raises(FieldError, match="cannot be ordered by 'description'"):
        Client().get("/plain/runs/", {"sort": "description"})


def test_an_api_table_built_with_an_unsortable_order_by_ignores_it() -> None:
    table = RunTable(models.Run.objects.all(), order_by=("description", "-duration"))
    assert list(table.order_by) == ["-duration"]
    assert [column.orderable for column in table.columns] == [
        models.Run.api.can_sort(name) for name in FIELDS
    ]


@pytest.mark.parametrize(
    "value", ["\x00", "", ",", "-", "--", "-description,", "a" * 5000, "pk", "0", "-5", "99999999"]
)
@pytest.mark.parametrize("name", ["sort", "page", "per_page"])
def test_no_query_string_is_a_500(name: str, value: str) -> None:
    assert Client().get("/runs/", {name: value}).status_code == 200
