"""Async evaluation, relations (select/prefetch, reverse managers) and the writes the API allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.db import NotSupportedError

from janitor_site_django import exceptions
from janitor_site_django.models import Codebase, Run
from janitor_site_django.testing import assert_num_api_calls, capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from .conftest import Orm, Wire


@pytest.mark.anyio
async def test_async_evaluation_uses_the_async_client(wire: Wire) -> None:
    expected = wire.items("/api/runs", campaign="scrub-obsolete")
    queryset = Run.objects.filter(campaign="scrub-obsolete")
    with capture_api_calls() as calls:
        assert [run.run_id async for run in queryset] == [r["run_id"] for r in expected]
        assert await queryset.acount() == len(expected)
        assert await queryset.aexists()
        first, last = await queryset.afirst(), await queryset.alast()
        got = await Run.objects.aget(pk=expected[0]["run_id"])
        bulk = await Run.objects.ain_bulk([r["run_id"] for r in expected[:5]])
        streamed = [run.run_id async for run in queryset.aiterator(chunk_size=7)]
    assert first is not None and first.run_id == expected[0]["run_id"]
    assert last is not None and got.codebase_id == expected[0]["codebase"]
    assert sorted(bulk) == sorted(r["run_id"] for r in expected[:5])
    assert streamed == [r["run_id"] for r in expected]
    assert all(call.status == 200 for call in calls)
    with pytest.raises(Run.DoesNotExist):
        await Run.objects.aget(pk="no-such-run")


@pytest.mark.anyio
async def test_select_related_is_one_batched_request(orm: Orm, wire: Wire) -> None:
    with assert_num_api_calls(2):
        runs = await orm.list(
            Run.objects.select_related("codebase").filter(campaign="debianize")[:40]
        )
        urls = {run.codebase.url for run in runs}
    with assert_num_api_calls(2):
        one = await orm(Run.objects.select_related("codebase"), "get", pk=runs[0].run_id)
    with assert_num_api_calls(0):
        assert one.codebase.url in urls
    assert urls == {
        c["url"]
        for c in wire.items("/api/codebases", include_inactive="true")
        if c["name"] in {run.codebase_id for run in runs}
    }


@pytest.mark.anyio
async def test_prefetch_related_batches_forward_and_reverse(orm: Orm, wire: Wire) -> None:
    with assert_num_api_calls(2):
        runs = await orm.list(
            Run.objects.filter(campaign="debianize").prefetch_related("codebase")[:30]
        )
    with assert_num_api_calls(0):
        assert all(run.codebase.name == run.codebase_id for run in runs)
    names = [c["name"] for c in wire.items("/api/codebases")][:3]
    with assert_num_api_calls(2):
        codebases = await orm.list(Codebase.objects.filter(name__in=names).prefetch_related("runs"))
    with assert_num_api_calls(0):
        counted = {c.name: len(c.runs.all()) for c in codebases}
    expected = {name: len(wire.items("/api/runs", codebase=name)) for name in names}
    assert counted == expected


@pytest.mark.anyio
async def test_reverse_managers_and_lazy_forward_access(orm: Orm, wire: Wire) -> None:
    name = wire.items("/api/merge-proposals")[0]["codebase"]
    codebase = await orm(Codebase.objects, "get", pk=name)
    assert [r.run_id for r in await orm.list(codebase.runs.all())] == [
        r["run_id"] for r in wire.items("/api/runs", codebase=name)
    ]
    assert await orm(codebase.merge_proposals, "count") == len(
        wire.items("/api/merge-proposals", codebase=name)
    )
    run = await orm(codebase.runs, "first")
    assert run is not None
    with assert_num_api_calls(0):
        assert run.codebase is codebase  # known from the reverse manager


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with start_emulator(f"sqlite:///{tmp_path_factory.mktemp('orm') / 'w.sqlite3'}") as server:
        yield server


@pytest.fixture
def on_writable(settings: Any, writable: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = writable.url
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["admin"]
    return writable


@pytest.mark.usefixtures("no_sql")
def test_description_updates_through_save(on_writable: EmulatorServer) -> None:
    run = Run.objects.filter(result_code="build-failed").first()
    assert run is not None
    run.description = "Needs a newer debhelper (ORM test)"
    with assert_num_api_calls(2) as calls:  # the one-off v1 probe, then the POST
        run.save(update_fields=["description"])
    assert calls[-1].method == "POST"
    assert Run.objects.get(pk=run.pk).description == "Needs a newer debhelper (ORM test)"
    with pytest.raises(NotSupportedError, match="update_fields=\\['description'\\]"):
        run.save()
    with pytest.raises(NotSupportedError, match="cannot be deleted"):
        run.delete()


@pytest.mark.usefixtures("no_sql")
def test_reschedule_and_publish(on_writable: EmulatorServer) -> None:
    failed = Run.objects.filter(result_code="build-failed")[5]
    scheduled = failed.reschedule(offset=-2, requester="orm-test")
    assert scheduled.codebase == failed.codebase_id and scheduled.requester in ("orm-test", None)
    succeeded = Run.objects.filter(result_code="success").first()
    assert succeeded is not None
    with pytest.raises(exceptions.Conflict):
        succeeded.reschedule()
    codebase = Codebase.objects.api_params(publishable_only=True, campaign="lintian-fixes").first()
    assert codebase is not None
    result = codebase.publish("lintian-fixes", mode="propose")
    assert result.status in ("initiated", "nothing_to_do") and result.codebase == codebase.name


@pytest.mark.anyio
async def test_async_writes(settings: Any, writable: EmulatorServer) -> None:
    settings.JANITOR_SITE_URL = writable.url
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["qa"]
    run = await Run.objects.filter(result_code="build-failed").afirst()
    assert run is not None
    run.description = "async review"
    await run.asave(update_fields=["description"])
    assert (await Run.objects.aget(pk=run.pk)).description == "async review"


@pytest.mark.usefixtures("no_sql")
def test_using_token_and_the_token_chain(settings: Any, janitor_emulator: EmulatorServer) -> None:
    settings.JANITOR_SITE_API_TOKEN = None
    with capture_api_calls() as calls:
        Codebase.objects.using_token(janitor_emulator.tokens["user"]).count()
    assert calls[0].status == 200
    settings.JANITOR_SITE_API_TOKEN = "not-a-valid-token"
    with pytest.raises(exceptions.Unauthorized):
        Codebase.objects.count()
    assert Codebase.objects.using_token(janitor_emulator.tokens["user"]).count() > 0


@pytest.mark.anyio
async def test_aiterator_puts_the_pages_ahead_on_the_wire_before_the_consumer_runs(
    wire: Wire,
) -> None:
    """The consumer keeps the event loop while it handles a page: the pages requested ahead
    must be sent before it gets the page, or the server idles meanwhile. (The sync shell hands
    them to threads at once.)"""
    from janitor_site_django.client import get_async_client
    from janitor_site_django.query.paging import PREFETCH_DEPTH

    size, total = 10, len(wire.items("/api/runs"))
    started: list[int] = []

    async def record(request: httpx.Request) -> None:
        started.append(int(request.url.params.get("offset", 0)))

    hooks = get_async_client()._http.event_hooks["request"]
    hooks.append(record)
    try:
        seen = 0
        async for _run in Run.objects.aiterator(chunk_size=size):
            if seen % size == 0 and seen:  # the first object of a later page (those after the
                # first are requested once it is consumed: a match in it costs one request)
                wanted = min(seen + size * PREFETCH_DEPTH, (total - 1) // size * size)
                assert max(started) >= wanted, (seen, sorted(started))
            seen += 1
    finally:
        hooks.remove(record)
    assert seen == total
