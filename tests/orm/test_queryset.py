"""ApiQuerySet against the live emulator: filters, order, slices, counts, values, errors.

Every test runs inside ``no_sql`` (not one SQL query may reach the database) and, where the
queryset has async methods, in both modes through the ``orm`` fixture.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import Q

from janitor_site_django.models import ActiveRun, Codebase, MergeProposal, QueueItem, ReadyRun, Run
from janitor_site_django.testing import assert_num_api_calls

from .conftest import Orm, Wire

pytestmark = [pytest.mark.usefixtures("no_sql"), pytest.mark.anyio]


async def run_ids(orm: Orm, queryset: Any) -> list[str]:
    return [run.run_id for run in await orm.list(queryset)]


async def test_the_card_example(orm: Orm, wire: Wire) -> None:
    expected = wire.items("/api/codebases", vcs_type="git", sort="-name")[:50]
    with assert_num_api_calls(1):
        codebases = await orm.list(Codebase.objects.filter(vcs_type="git").order_by("-name")[:50])
    assert [c.name for c in codebases] == [c["name"] for c in expected]
    first = codebases[0]
    assert (first.url, first.inactive, first.value) == (
        expected[0]["url"],
        False,
        expected[0]["value"],
    )


async def test_filters_map_to_v1_parameters(orm: Orm, wire: Wire) -> None:
    codebase = wire.items("/api/runs", campaign="debianize")[0]["codebase"]
    expected = wire.items(
        "/api/runs", codebase=codebase, result_codes="success,nothing-to-do,build-failed"
    )
    queryset = Run.objects.filter(
        codebase=codebase, result_code__in=["success", "nothing-to-do", "build-failed"]
    )
    with assert_num_api_calls(1):
        assert await run_ids(orm, queryset) == [run["run_id"] for run in expected]
    first = await orm(
        Run.objects.filter(codebase=codebase, result_code__in=["success", "nothing-to-do"]),
        "first",
    )
    both = [r for r in expected if r["result_code"] in ("success", "nothing-to-do")]
    assert (first.run_id if first else None) == (both[0]["run_id"] if both else None)


async def test_time_ranges_are_exact_at_microseconds(orm: Orm, wire: Wire) -> None:
    runs = wire.items("/api/runs", campaign="fresh-releases", sort="start_time")
    start = dt.datetime.fromisoformat(runs[10]["start_time"])
    end = dt.datetime.fromisoformat(runs[20]["start_time"])
    inside = [
        r["run_id"]
        for r in runs
        if r["start_time"] and start <= dt.datetime.fromisoformat(r["start_time"]) <= end
    ]
    base = Run.objects.filter(campaign="fresh-releases").order_by("start_time")
    assert await run_ids(orm, base.filter(start_time__gte=start, start_time__lte=end)) == inside
    assert await run_ids(orm, base.filter(start_time__range=(start, end))) == inside
    assert await run_ids(orm, base.filter(start_time__gt=start, start_time__lt=end)) == inside[1:-1]


async def test_ordering_reverse_and_default_ordering(orm: Orm, wire: Wire) -> None:
    expected = [
        r["run_id"] for r in wire.items("/api/runs", campaign="debianize", sort="-duration,run_id")
    ]
    queryset = Run.objects.filter(campaign="debianize").order_by("-duration", "pk")
    assert await run_ids(orm, queryset) == expected
    # reverse() reverses the whole order, as Django does: nulls and the key's ties too
    assert await run_ids(orm, queryset.reverse()) == expected[::-1]
    default = [r["run_id"] for r in wire.items("/api/runs", campaign="debianize")]
    assert await run_ids(orm, Run.objects.filter(campaign="debianize")) == default
    assert (await orm(Run.objects.filter(campaign="debianize"), "last")).run_id == default[-1]


async def test_slices_wider_than_a_page(orm: Orm, settings: Any, wire: Wire) -> None:
    settings.JANITOR_SITE_PAGE_SIZE = 100
    expected = [r["run_id"] for r in wire.items("/api/runs")][250:530]
    with assert_num_api_calls(3) as calls:
        assert await run_ids(orm, Run.objects.all()[250:530]) == expected
    # later pages are fetched concurrently: calls are recorded as they finish
    assert sorted(dict(c.params)["limit"] for c in calls) == ["100", "100", "80"]


async def test_unsliced_iteration_pages_transparently(orm: Orm, settings: Any, wire: Wire) -> None:
    settings.JANITOR_SITE_PAGE_SIZE = 200
    expected = [r["run_id"] for r in wire.items("/api/runs", campaigns="lintian-fixes,debianize")]
    with assert_num_api_calls(-(-len(expected) // 200) + (len(expected) % 200 == 0)):
        queryset = Run.objects.filter(campaign__in=["lintian-fixes", "debianize"])
        assert await run_ids(orm, queryset) == expected


async def test_count_exists_and_reused_totals(orm: Orm, wire: Wire) -> None:
    total = wire.get("/api/runs", campaign="multiarch-fixes", limit=0)["pagination"]["total"]
    queryset = Run.objects.filter(campaign="multiarch-fixes")
    with assert_num_api_calls(1):
        page = await orm.list(queryset[:10])
        assert await orm(queryset, "count") == total  # the page's total is reused
        assert await orm(queryset, "exists")
        assert await orm(queryset[5:8], "count") == 3
    assert len(page) == 10
    with assert_num_api_calls(1):
        missing = Run.objects.filter(campaign="multiarch-fixes", codebase="no-such")
        assert await orm(missing, "exists") is False
    with assert_num_api_calls(0):
        assert await orm(Run.objects.none(), "count") == 0
        assert await orm.list(Run.objects.filter(campaign="a").filter(campaign="b")) == []
        assert await orm.list(Run.objects.filter(run_id__in=[])) == []


async def test_get_by_pk_uses_the_detail_endpoint(orm: Orm, wire: Wire) -> None:
    run = wire.items("/api/runs", campaign="debianize")[0]
    with assert_num_api_calls(1) as calls:
        assert (await orm(Run.objects, "get", pk=run["run_id"])).codebase_id == run["codebase"]
    assert calls[0].path == f"/api/run/{run['run_id']}"
    with pytest.raises(Run.DoesNotExist):
        await orm(Run.objects, "get", pk="no-such-run")
    with pytest.raises(Run.MultipleObjectsReturned, match="it returned"):
        await orm(Run.objects, "get", campaign="debianize")
    with assert_num_api_calls(1) as calls:
        got = await orm(Run.objects, "get", campaign="debianize", run_id=run["run_id"])
        assert got.pk == run["run_id"]
    assert dict(calls[0].params)["limit"] == "2"
    url = wire.items("/api/merge-proposals")[0]["url"]
    # no detail endpoint: the list, url=
    assert (await orm(MergeProposal.objects, "get", pk=url)).url == url
    item = wire.items("/api/queue/items")[3]
    assert (await orm(QueueItem.objects, "get", pk=item["id"])).position == item["position"]
    active = wire.items("/api/active-runs")[0]
    got = await orm(ActiveRun.objects, "get", pk=active["run_id"])
    assert got.codebase_id == active["codebase"]


async def test_values_and_values_list(orm: Orm, wire: Wire) -> None:
    expected = wire.items("/api/codebases", vcs_type="hg")
    queryset = Codebase.objects.filter(vcs_type="hg")
    flat = await orm.list(queryset.values_list("name", flat=True))
    assert flat == [c["name"] for c in expected]
    assert await orm.list(queryset.values("name", "url")) == [
        {"name": c["name"], "url": c["url"]} for c in expected
    ]
    named = await orm.list(queryset.values_list("name", "value", named=True))
    assert [(row.name, row.value) for row in named] == [(c["name"], c["value"]) for c in expected]
    tuples = await orm.list(queryset.values_list("name", "vcs_type", "value"))
    assert tuples == [(c["name"], "hg", c["value"]) for c in expected]
    runs = await orm.list(Run.objects.filter(campaign="debianize").values("run_id", "codebase")[:3])
    assert set(runs[0]) == {"run_id", "codebase"} and isinstance(runs[0]["codebase"], str)


async def test_in_bulk_batches(orm: Orm, wire: Wire) -> None:
    names = [c["name"] for c in wire.items("/api/codebases")][:30]
    with assert_num_api_calls(1):
        found = await orm(Codebase.objects, "in_bulk", names + ["no-such-codebase"])
    assert sorted(found) == sorted(names)
    urls = [m["url"] for m in wire.items("/api/merge-proposals")][:3]
    with assert_num_api_calls(3):  # merge proposals have no list filter by url: one call each
        assert sorted(await orm(MergeProposal.objects, "in_bulk", urls)) == sorted(urls)


async def test_iterator_streams_pages_without_caching(orm: Orm, settings: Any, wire: Wire) -> None:
    settings.JANITOR_SITE_PAGE_SIZE = 1000
    expected = [r["run_id"] for r in wire.items("/api/runs", campaign="fresh-snapshots")]
    queryset = Run.objects.filter(campaign="fresh-snapshots")
    with assert_num_api_calls(-(-len(expected) // 150)):
        streamed = await orm(queryset, "iterator", chunk_size=150)
        assert [run.run_id for run in streamed] == expected
    assert queryset._result_cache is None


async def test_search_and_raw_parameters(orm: Orm, wire: Wire) -> None:
    expected = [c["name"] for c in wire.items("/api/codebases", q="PY")]
    assert [c.name for c in await orm.list(Codebase.objects.search("PY"))] == expected
    admin_search = Codebase.objects.filter(Q(name__icontains="PY") | Q(url__icontains="PY"))
    assert [c.name for c in await orm.list(admin_search)] == expected
    publishable = [c["name"] for c in wire.items("/api/codebases", publishable_only="true")]
    raw = Codebase.objects.api_params(publishable_only=True)
    assert [c.name for c in await orm.list(raw)] == publishable
    queued = await orm.list(QueueItem.objects.filter(codebase__name__icontains="lib"))
    assert [q.codebase_id for q in queued] == [
        q["codebase"] for q in wire.items("/api/queue/items", q="lib")
    ]


async def test_ready_runs_need_a_campaign(orm: Orm, wire: Wire) -> None:
    expected = [r["run_id"] for r in wire.items("/api/lintian-fixes/ready")]
    assert await run_ids(orm, ReadyRun.objects.filter(campaign="lintian-fixes")) == expected
    ready = await orm(ReadyRun.objects.filter(campaign="lintian-fixes"), "first")
    assert ready is not None and ready.unpublished_branches and ready.publish_policy
    assert await orm.list(ReadyRun.objects.filter(campaign="no-such-campaign")) == []
    with pytest.raises(NotSupportedError, match=r"filter\(campaign=\.\.\.\)"):
        await orm.list(ReadyRun.objects.all())


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: Codebase.objects.filter(name__icontains="py"),
            NotSupportedError,
            "search q matches any of name, url",
        ),
        (lambda: Run.objects.filter(description="x"), NotSupportedError, "Filterable fields"),
        (
            lambda: Run.objects.filter(result_code__startswith="s"),
            NotSupportedError,
            "Lookups on result_code: exact, in",
        ),
        (
            lambda: Run.objects.filter(Q(codebase="a") | Q(campaign="b")),
            NotSupportedError,
            "OR across different parameters",
        ),
        (lambda: Run.objects.exclude(campaign="x"), NotSupportedError, "exclude"),
        (lambda: Run.objects.filter(codebase__vcs_type="git"), NotSupportedError, "related field"),
        (lambda: Run.objects.filter(start_time__year=2025), NotSupportedError, "Transforms"),
        (
            lambda: Run.objects.filter(finish_time__isnull=True),
            NotSupportedError,
            "finish_time__isnull",
        ),
        (lambda: Run.objects.order_by("description"), FieldError, "sortable fields: run_id"),
        (lambda: Codebase.objects.filter(inactive=True), NotSupportedError, "only the others"),
        (lambda: list(Run.objects.order_by("?")), NotSupportedError, "ordering by '?'"),
        (lambda: Run.objects.create(run_id="x"), NotSupportedError, "read-only"),
        (lambda: Run.objects.filter(campaign="x").delete(), NotSupportedError, "read-only"),
        (lambda: Run.objects.update(description="x"), NotSupportedError, "read-only"),
        (lambda: Run.objects.aggregate(), NotSupportedError, "count\\(\\) is"),
    ],
)
def test_what_the_api_cannot_do_fails_before_any_request(
    settings: Any, build: Any, error: type[Exception], message: str
) -> None:
    settings.JANITOR_SITE_URL = (
        "http://127.0.0.1:9"  # nothing listens: a request would fail differently
    )
    with assert_num_api_calls(0), pytest.raises(error, match=message):
        build()


async def test_supported_or_and_negation_shapes(orm: Orm, wire: Wire) -> None:
    either = Run.objects.filter(Q(campaign="debianize") | Q(campaign="scrub-obsolete"))
    assert await run_ids(orm, either) == [
        r["run_id"] for r in wire.items("/api/runs", campaigns="debianize,scrub-obsolete")
    ]
    active = await orm(Codebase.objects.exclude(inactive=True), "count")
    assert active == wire.get("/api/codebases", limit=0)["pagination"]["total"]


async def test_all_is_a_fresh_copy_sharing_nothing(orm: Orm) -> None:
    """A class-level queryset (``ListView.queryset``) is copied with all() each request."""
    base = Run.objects.filter(campaign="multiarch-fixes")
    await orm.list(base[:5])
    with assert_num_api_calls(0):
        await orm(base, "count")  # a clone of the same family: the page's total
    with assert_num_api_calls(1):
        await orm(base.all(), "count")  # a fresh family: asked again
