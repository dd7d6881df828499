"""Regressions: each divergence from Django's ORM found by trying the API querysets (issue 11),
answered as Django answers or refused before any request — in both modes where there are two."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import django
import pytest
from django.core import serializers
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import F, Prefetch, Q
from django.forms.models import model_to_dict

from janitor_site_django.models import ActiveRun, Codebase, ReadyRun, Run
from janitor_site_django.testing import assert_num_api_calls, capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from .conftest import Orm, Wire

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def evaluate(mode: str, queryset: Any, method: str = "list", *args: Any) -> Any:
    """``list(qs)`` / ``qs.method(*args)`` in a thread, or ``[x async for x in qs]`` /
    ``await qs.amethod(*args)``."""
    if mode == "sync":
        call: Callable[[], Any] = (
            (lambda: list(queryset))
            if method == "list"
            else lambda: getattr(queryset, method)(*args)
        )
        return await anyio.to_thread.run_sync(call)
    if method == "list":
        return [obj async for obj in queryset]
    if method == "iterator":
        return [obj async for obj in queryset.aiterator(*args)]
    return await getattr(queryset, "a" + method)(*args)


def refused_before_io(make: Callable[[], Any], match: str) -> None:
    with capture_api_calls() as calls, pytest.raises(NotSupportedError, match=match):
        make()
    assert not [call for call in calls if call.sent]


# Refused, never answered wrongly --------------------------------------------------------------


@pytest.mark.parametrize("combinator", ["union", "intersection", "difference"])
def test_set_operations_are_refused_before_any_request(combinator: str) -> None:
    a, b = Run.objects.filter(campaign="debianize"), Run.objects.filter(campaign="lintian-fixes")
    refused_before_io(lambda: getattr(a, combinator)(b), rf"Run: {combinator}\(\) is not supported")


async def test_queryset_or_on_one_field_is_an_in_filter(mode: str, wire: Wire) -> None:
    either = Run.objects.filter(campaign="debianize") | Run.objects.filter(
        campaign="fresh-releases"
    )
    got = {run.run_id for run in await evaluate(mode, either)}
    expected = wire.items("/api/runs", campaigns="debianize,fresh-releases")
    assert got == {r["run_id"] for r in expected} and got


def test_or_of_a_list_and_another_field_is_refused_not_a_type_error() -> None:
    refused_before_io(
        lambda: Run.objects.filter(Q(campaign__in=["debianize"]) | Q(result_code="success")),
        "OR across different parameters",
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: Run.objects.filter(worker_name=""),
        lambda: Run.objects.filter(codebase__in=["", "python-debian"]),
        lambda: Run.objects.filter(codebase__in=["a,b", "python-debian"]),
    ],
)
def test_values_v1_cannot_send_are_refused(make: Callable[[], Any]) -> None:
    refused_before_io(lambda: list(make()), "empty value")


async def test_one_value_a_list_cannot_carry_is_asked_for_exactly(mode: str) -> None:
    with assert_num_api_calls(2):
        alone = await evaluate(mode, Run.objects.filter(codebase__in=["a,b"]))
        exact = await evaluate(mode, Run.objects.filter(codebase="a,b"))
    assert alone == exact == []


async def test_values_no_row_can_hold_match_nothing_without_a_request(mode: str) -> None:
    with assert_num_api_calls(0):
        assert await evaluate(mode, Codebase.objects.filter(vcs_type="svk")) == []
        assert await evaluate(mode, Run.objects.filter(publish_status="nope"), "count") == 0
        with pytest.raises(Run.DoesNotExist):
            await evaluate(mode, Run.objects.filter(publish_status="nope"), "get")
        # v1 keys are never empty and hold no NUL: no row has such a primary key
        assert await evaluate(mode, Codebase.objects.filter(name=""), "count") == 0
        assert await evaluate(mode, Codebase.objects.filter(name__in=[""])) == []
        with pytest.raises(Codebase.DoesNotExist):
            await evaluate(mode, Codebase.objects.filter(pk=""), "get")
        with pytest.raises(ActiveRun.DoesNotExist):
            await evaluate(mode, ActiveRun.objects.filter(pk="a\x00b"), "get")
        assert await evaluate(mode, ReadyRun.objects.filter(campaign="a\x00b")) == []
        assert await evaluate(mode, Run.objects.search("a\x00b"), "count") == 0
        assert await evaluate(mode, Codebase.objects.all(), "in_bulk", ["", "a\x00b"]) == {}


async def test_an_empty_search_term_matches_every_row(mode: str, wire: Wire) -> None:
    """``icontains=""`` matches every non-null value, and each resource searches a non-null
    field: an empty term filters nothing (chained after another, it was refused)."""
    everything = wire.get("/api/codebases", limit=0)["pagination"]["total"]
    either = Q(name__icontains="") | Q(url__icontains="")
    assert await evaluate(mode, Codebase.objects.filter(either), "count") == everything
    assert await evaluate(mode, Codebase.objects.search(""), "count") == everything
    py = await evaluate(mode, Codebase.objects.search("py"), "count")
    assert await evaluate(mode, Codebase.objects.search("py").search(""), "count") == py


async def test_an_unknown_enum_value_in_a_list_is_dropped(mode: str, wire: Wire) -> None:
    runs = Run.objects.filter(campaign="debianize", result_code__in=["success", "nope"])
    expected = wire.items("/api/runs", campaign="debianize", result_code="success")
    assert len(await evaluate(mode, runs)) == len(expected)


async def test_chained_searches_are_refused() -> None:
    refused_before_io(
        lambda: Codebase.objects.search("python").search("debian"), "two different search terms"
    )


async def test_values_across_a_relation_are_refused_before_any_request(mode: str) -> None:
    queryset = Run.objects.values("codebase__name")
    with capture_api_calls() as calls, pytest.raises(NotSupportedError, match="across a relation"):
        await evaluate(mode, queryset)
    assert not [call for call in calls if call.sent]


async def test_in_bulk_refuses_slices_and_values_as_django_does(mode: str) -> None:
    """Slices as Django refuses them; values() as Django 5.2 refuses it (6.1 answers it: the API
    models refuse it there, naming the model, before any request)."""
    with pytest.raises(TypeError, match="Cannot use 'limit' or 'offset' with in_bulk"):
        await evaluate(mode, Run.objects.all()[:5], "in_bulk", ["x"])
    refused = (
        pytest.raises(TypeError, match="cannot be used with values")
        if django.VERSION < (6, 1)
        else pytest.raises(NotSupportedError, match="Run: in_bulk.. after values")
    )
    with refused, assert_num_api_calls(0):
        await evaluate(mode, Run.objects.values("run_id"), "in_bulk", ["x"])


# Answered as Django answers -------------------------------------------------------------------


async def test_a_default_filter_narrows_a_widened_manager(mode: str, wire: Wire) -> None:
    active = {c["name"] for c in wire.items("/api/codebases")}
    everything = {c["name"] for c in wire.items("/api/codebases", include_inactive="true")}
    assert active < everything
    got = await evaluate(mode, Codebase.everything.filter(inactive=False))
    assert {c.name for c in got} == active


async def test_a_primary_key_matched_here_is_sliced_after_matching(mode: str, wire: Wire) -> None:
    active = wire.items("/api/active-runs")
    wanted = active[len(active) // 2]["run_id"]
    by_pk = ActiveRun.objects.filter(pk=wanted)
    first = await evaluate(mode, by_pk, "first")
    assert first is not None and first.run_id == wanted
    assert [run.run_id for run in await evaluate(mode, by_pk[:1])] == [wanted]
    assert await evaluate(mode, by_pk[1:]) == []
    assert await evaluate(mode, by_pk, "count") == 1


async def test_get_on_a_slice_judges_the_slice(mode: str, wire: Wire) -> None:
    newest = wire.get("/api/runs", sort="-start_time,run_id", limit=1)["data"][0]
    assert (await evaluate(mode, Run.objects.all()[:1], "get")).run_id == newest["run_id"]
    with pytest.raises(Run.MultipleObjectsReturned):
        await evaluate(mode, Run.objects.all()[:5], "get")
    earliest = wire.get("/api/runs", sort="start_time,run_id", limit=1)["data"][0]
    assert (await evaluate(mode, Run.objects.all(), "earliest", "start_time")).run_id == (
        earliest["run_id"]
    )


async def test_ready_run_get_by_primary_key(mode: str, wire: Wire) -> None:
    campaigns = sorted({r["campaign"] for r in wire.items("/api/runs")})
    campaign = next(name for name in campaigns if wire.get(f"/api/{name}/ready")["data"])
    ready = wire.items(f"/api/{campaign}/ready")
    wanted = ready[-1]["run_id"]
    got = await evaluate(mode, ReadyRun.objects.filter(campaign=campaign), "get", Q(pk=wanted))
    assert got.run_id == wanted and got.campaign == campaign


async def test_in_bulk_without_a_key_filter_is_one_walk(mode: str, wire: Wire) -> None:
    ids = [r["run_id"] for r in wire.items("/api/active-runs")][:4]
    with assert_num_api_calls(1):
        found = await evaluate(mode, ActiveRun.objects.all(), "in_bulk", ids)
    assert sorted(found) == sorted(ids)


async def test_json_fields_hold_plain_json(mode: str, wire: Wire) -> None:
    expected = {r["run_id"]: r for r in wire.items("/api/runs", campaign="debianize")}
    runs = await evaluate(mode, Run.objects.filter(campaign="debianize"))
    for run in runs:
        assert model_to_dict(run)["result_branches"] == expected[run.run_id]["result_branches"]
        assert run.result_tags == expected[run.run_id]["result_tags"]
    dumped = json.loads(serializers.serialize("json", runs))
    assert dumped[0]["fields"]["result_branches"] == expected[runs[0].run_id]["result_branches"]
    values = await evaluate(
        mode, Run.objects.filter(campaign="debianize").values("result_branches")
    )
    assert values[0]["result_branches"] == expected[runs[0].run_id]["result_branches"]


async def test_iteration_selects_and_prefetches_per_page(mode: str) -> None:
    queryset = Run.objects.filter(campaign="debianize").select_related("codebase")[:50]
    with assert_num_api_calls(2):  # the page, then one batch of codebases
        runs = await evaluate(mode, queryset, "iterator", 50)
        assert all(run.codebase.name == run.codebase_id for run in runs)
    prefetching = Run.objects.filter(campaign="debianize").prefetch_related("codebase")[:20]
    with assert_num_api_calls(2):
        runs = await evaluate(mode, prefetching, "iterator", 20)
        assert all(run.codebase.name == run.codebase_id for run in runs)


async def test_get_prefetches_in_both_modes(mode: str, wire: Wire) -> None:
    run_id = wire.get("/api/runs", limit=1)["data"][0]["run_id"]
    with assert_num_api_calls(2):
        run = await evaluate(mode, Run.objects.prefetch_related("codebase"), "get", Q(pk=run_id))
    with assert_num_api_calls(0):
        assert run.codebase.name == run.codebase_id


# Writes carry the queryset's token ------------------------------------------------------------


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with start_emulator(f"sqlite:///{tmp_path_factory.mktemp('tok') / 'w.sqlite3'}") as server:
        yield server


async def test_using_token_reaches_the_writes_of_its_objects(
    mode: str, settings: Any, writable: EmulatorServer
) -> None:
    settings.JANITOR_SITE_URL = writable.url
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["user"]  # no role: writes are forbidden
    queryset = Run.objects.using_token(writable.tokens["qa"]).filter(campaign="debianize")
    run = (await evaluate(mode, queryset[:1]))[0]
    run.description = f"described in {mode} mode"
    if mode == "sync":
        await anyio.to_thread.run_sync(lambda: run.save(update_fields=["description"]))
    else:
        await run.asave(update_fields=["description"])
    assert run.description == f"described in {mode} mode"
    assert "_api_token" not in run.__getstate__()


async def test_an_active_run_key_with_a_slash_is_matched_on_the_list(mode: str) -> None:
    with assert_num_api_calls(1), pytest.raises(ActiveRun.DoesNotExist):
        await evaluate(mode, ActiveRun.objects.all(), "get", Q(pk="no/such-run"))


@pytest.mark.parametrize("order", [("duration",), ("-duration",), ("result_code", "-start_time")])
@pytest.mark.parametrize("window", [slice(None), slice(0, 1), slice(3, 17), slice(40, None)])
async def test_reverse_is_the_exact_reverse_of_the_order(
    mode: str, wire: Wire, order: tuple[str, ...], window: slice
) -> None:
    """Nulls and ties included: v1's ``-x`` keeps nulls last and ties by ascending key, so
    ``reverse()`` is not ``-x`` (Django reverses every term, nulls placement and key too)."""
    sort = ",".join(order)
    forward = [r["run_id"] for r in wire.items("/api/runs", campaign="debianize", sort=sort)]
    assert any(r["duration"] is None for r in wire.items("/api/runs", campaign="debianize"))
    queryset = Run.objects.filter(campaign="debianize").order_by(*order).reverse()[window]
    got = [run.run_id for run in await evaluate(mode, queryset)]
    assert got == forward[::-1][window]
    last = await evaluate(mode, Run.objects.filter(campaign="debianize").order_by(*order), "last")
    assert last.run_id == forward[-1]


def test_nulls_first_is_refused_before_any_request() -> None:
    refused_before_io(
        lambda: Run.objects.order_by(F("duration").asc(nulls_first=True)), "nulls first"
    )


async def test_latest_is_the_newest_with_a_value(mode: str, wire: Wire) -> None:
    runs = wire.items("/api/runs", campaign="debianize", sort="-finish_time")
    assert runs[-1]["finish_time"] is None  # nulls last in both directions
    queryset = Run.objects.filter(campaign="debianize")
    assert (await evaluate(mode, queryset, "latest", "finish_time")).run_id == runs[0]["run_id"]
    oldest = wire.items("/api/runs", campaign="debianize", sort="finish_time")[0]
    assert (await evaluate(mode, queryset, "earliest", "finish_time")).run_id == oldest["run_id"]


async def test_distinct_values_rows(mode: str, wire: Wire) -> None:
    runs = wire.items("/api/runs", campaign="debianize", sort="codebase")
    codebases = list(dict.fromkeys(r["codebase"] for r in runs))
    assert len(codebases) < len(runs)
    queryset = Run.objects.filter(campaign="debianize").order_by("codebase")
    rows = queryset.values("codebase").distinct()
    assert await evaluate(mode, rows) == [{"codebase": name} for name in codebases]
    assert await evaluate(mode, rows, "count") == len(codebases)
    flat = queryset.values_list("codebase", flat=True).distinct()[2:5]
    assert await evaluate(mode, flat) == codebases[2:5]
    pairs = queryset.values_list("codebase", "campaign").distinct()
    assert await evaluate(mode, pairs) == [(name, "debianize") for name in codebases]
    assert len(await evaluate(mode, queryset.distinct())) == len(runs)  # objects: distinct already


def test_a_sliced_prefetch_is_refused_before_any_request() -> None:
    refused_before_io(
        lambda: Codebase.objects.prefetch_related(
            Prefetch("runs", queryset=Run.objects.all()[:2], to_attr="recent")
        ),
        r"Prefetch\('recent', queryset=<a sliced queryset>\)",
    )


# Found by the conformance suite ---------------------------------------------------------------


async def test_select_related_names_django_rejects_are_rejected(mode: str) -> None:
    for queryset, message in [
        (Run.objects.select_related("nope"), "Invalid field name"),
        (Run.objects.select_related("campaign"), "Non-relational field"),
        (Codebase.objects.select_related("runs"), r"Choices are: \(none\)"),
    ]:
        with capture_api_calls() as calls, pytest.raises(FieldError, match=message):
            await evaluate(mode, queryset[:3])
        assert not [call for call in calls if call.sent]
    assert await evaluate(mode, Run.objects.select_related("nope"), "count") > 0  # as Django


async def test_an_unsliced_reverse_is_one_walk(mode: str, wire: Wire) -> None:
    forward = [r["run_id"] for r in wire.items("/api/runs", campaign="debianize")]
    with assert_num_api_calls(1):
        got = await evaluate(mode, Run.objects.filter(campaign="debianize").reverse())
    assert [run.run_id for run in got] == forward[::-1]


async def test_first_after_evaluation_reads_the_result_cache(mode: str) -> None:
    queryset = Run.objects.filter(campaign="debianize")
    runs = await evaluate(mode, queryset)
    with assert_num_api_calls(0):
        first = await evaluate(mode, queryset, "first")
    assert first is runs[0]


async def test_clones_share_a_total_in_both_modes(mode: str) -> None:
    queryset = Run.objects.filter(campaign="debianize")
    await evaluate(mode, queryset[:5])
    with assert_num_api_calls(0):
        assert await evaluate(mode, queryset, "count") > 5
    with assert_num_api_calls(0):  # the first page a clone fetched serves the same slice
        assert len(await evaluate(mode, queryset[:5])) == 5


def test_prefetching_a_relation_v1_cannot_batch_is_refused_at_once() -> None:
    for name in ("active_runs", "ready_runs"):
        refused_before_io(
            lambda name=name: Codebase.objects.prefetch_related(name),  # type: ignore[misc]
            rf"prefetch_related\('{name}'\) is not supported",
        )


async def test_distinct_values_hold_the_orderings_columns_as_django_does(
    mode: str, wire: Wire
) -> None:
    runs = wire.items("/api/runs", campaign="debianize")
    rows = Run.objects.filter(campaign="debianize").values("codebase").distinct()
    # Meta.ordering (-start_time, run_id) is selected too: every run stays a distinct row
    assert len(await evaluate(mode, rows)) == len(runs)


async def test_in_bulk_by_a_field_that_is_not_unique(mode: str) -> None:
    with pytest.raises(ValueError, match="must be a unique field but 'campaign' isn't"):
        await Orm(mode)(Run.objects.all(), "in_bulk", ["x"], field_name="campaign")


async def test_a_campaigns_ready_runs_prefetch_per_codebase(mode: str, wire: Wire) -> None:
    """``Prefetch("ready_runs", queryset=ReadyRun.objects.filter(campaign=c))``: the campaign's
    ready runs of each codebase, one batched call (it was refused); without the campaign it is
    refused at ``prefetch_related()``, before any request."""
    campaign = "lintian-fixes"
    ready = wire.items(f"/api/{campaign}/ready")
    names = sorted({item["codebase"] for item in ready})[:3]
    queryset = Codebase.objects.filter(name__in=names).prefetch_related(
        Prefetch("ready_runs", queryset=ReadyRun.objects.filter(campaign=campaign))
    )
    with capture_api_calls() as calls:
        codebases = await evaluate(mode, queryset)
    got = {cb.name: sorted(run.run_id for run in cb.ready_runs.all()) for cb in codebases}
    want = {
        name: sorted(item["run_id"] for item in ready if item["codebase"] == name) for name in names
    }
    assert got == want and all(want.values())
    assert len([call for call in calls if call.sent]) == 2
    refused_before_io(
        lambda: Codebase.objects.prefetch_related(
            Prefetch("ready_runs", queryset=ReadyRun.objects.all())
        ),
        "ReadyRun lists are per campaign",
    )
    refused_before_io(
        lambda: Codebase.objects.prefetch_related("ready_runs"),
        r"Prefetch\('ready_runs', queryset=ReadyRun.objects.filter\(campaign=...\)\)",
    )
