"""The ORM with keys containing ``/`` (contract §2.1, Revision 1.1), sync and async.

The ORM reaches codebases and runs through the client's operation builders, so a primary key
with ``/`` is read through the list endpoint's exact-match parameter, relations follow, and the
writes the API allows are refused before any request. This module's emulator holds the rows of
``tests/client/test_slash_keys.py``; no SQL reaches the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from janitor_site_django import exceptions
from janitor_site_django.models import Codebase, MergeProposal, Run
from janitor_site_django.testing import assert_num_api_calls, capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from ..client.test_slash_keys import (
    CAMPAIGN,
    MISSING,
    MP_URL,
    PLAIN_RUN_ID,
    RETIRED,
    RUN_ID,
    SLASHED,
    SlashKeys,
    add_slash_keys,
)
from .conftest import Orm, Wire

pytestmark = [pytest.mark.usefixtures("no_sql"), pytest.mark.anyio]


@pytest.fixture(scope="module")
def slash_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator of this module's own: the demo data plus the keys with "/"."""
    path: Path = tmp_path_factory.mktemp("orm-slash-keys") / "emulator.sqlite3"
    with start_emulator(f"sqlite:///{path}") as server:
        yield server


@pytest.fixture(scope="module")
def keys(slash_emulator: EmulatorServer) -> SlashKeys:
    return add_slash_keys(slash_emulator.database_url)


@pytest.fixture(autouse=True)
def api_settings(settings: Any, slash_emulator: EmulatorServer, keys: SlashKeys) -> None:
    """This module's emulator instead of the shared demo one (overrides the conftest's)."""
    settings.JANITOR_SITE_URL = slash_emulator.url
    settings.JANITOR_SITE_API_TOKEN = slash_emulator.tokens["admin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def wire(slash_emulator: EmulatorServer) -> Wire:
    return Wire(slash_emulator.url)


def sent(calls: list[Any]) -> list[tuple[str, str, dict[str, str]]]:
    return [(call.method, call.path, dict(call.params)) for call in calls]


def _fields(codebase: Codebase) -> dict[str, Any]:
    return {"name": codebase.name, "url": codebase.url, "inactive": codebase.inactive}


# get() / aget() by primary key -------------------------------------------------------------


async def test_get_by_a_primary_key_with_a_slash(orm: Orm, wire: Wire) -> None:
    (expected,) = wire.items("/api/codebases", name=SLASHED)
    with capture_api_calls() as calls:
        codebase = await orm(Codebase.objects, "get", pk=SLASHED)
        same = await orm(Codebase.objects, "get", name=SLASHED)
        run = await orm(Run.objects, "get", pk=RUN_ID)
        retired = await orm(Codebase.everything, "get", pk=RETIRED)
    assert _fields(codebase) == _fields(same) == {k: expected[k] for k in _fields(codebase)}
    assert (run.run_id, run.codebase_id, run.campaign) == (RUN_ID, SLASHED, CAMPAIGN)
    assert (retired.name, retired.inactive) == (RETIRED, True)
    assert sent(calls) == [
        ("GET", "/api/codebases", {"name": SLASHED}),
        ("GET", "/api/codebases", {"name": SLASHED}),
        ("GET", "/api/runs", {"run_id": RUN_ID}),
        ("GET", "/api/codebases", {"name": RETIRED, "include_inactive": "true"}),
    ]


async def test_a_missing_slash_key_does_not_exist(orm: Orm) -> None:
    with assert_num_api_calls(3):
        with pytest.raises(Codebase.DoesNotExist):
            await orm(Codebase.objects, "get", pk=MISSING)
        with pytest.raises(Codebase.DoesNotExist):  # inactive: only ``everything`` sees it
            await orm(Codebase.objects, "get", pk=RETIRED)
        with pytest.raises(Run.DoesNotExist):
            await orm(Run.objects, "get", pk="no/such-run")


# Relations ---------------------------------------------------------------------------------


async def test_reverse_managers_of_a_slashed_codebase(orm: Orm, wire: Wire) -> None:
    codebase = await orm(Codebase.objects, "get", pk=SLASHED)
    with capture_api_calls() as calls:
        runs = [run.run_id for run in await orm.list(codebase.runs.all())]
        in_campaign = [
            run.run_id for run in await orm.list(codebase.runs.filter(campaign=CAMPAIGN))
        ]
        proposals = await orm.list(codebase.merge_proposals.all())
        counted = await orm(codebase.runs, "count")
        first = await orm(codebase.runs, "first")
    assert runs == [r["run_id"] for r in wire.items("/api/runs", codebase=SLASHED)]
    assert runs == [RUN_ID, PLAIN_RUN_ID] and in_campaign == [RUN_ID] and counted == 2
    assert first is not None and first.run_id == RUN_ID
    assert [(mp.url, mp.run_id) for mp in proposals] == [(MP_URL, RUN_ID)]
    assert [(path, params.get("codebase")) for _, path, params in sent(calls)] == [
        ("/api/runs", SLASHED),
        ("/api/runs", SLASHED),
        ("/api/merge-proposals", SLASHED),
        ("/api/runs", SLASHED),
        ("/api/runs", SLASHED),
    ]
    assert sent(calls)[1][2]["campaign"] == CAMPAIGN


async def test_selected_relations_to_a_slashed_codebase(orm: Orm) -> None:
    with assert_num_api_calls(2):
        runs = await orm.list(Run.objects.select_related("codebase").filter(codebase=SLASHED))
        assert {run.codebase.name for run in runs} == {SLASHED}


def test_lazy_relations_to_a_slashed_codebase() -> None:
    """Sync only: Django loads a relation lazily in sync code alone."""
    run = Run.objects.get(pk=RUN_ID)
    with capture_api_calls() as calls:
        assert run.codebase.name == SLASHED  # fetched lazily, by primary key
    assert sent(calls) == [("GET", "/api/codebases", {"name": SLASHED, "include_inactive": "true"})]
    proposal = MergeProposal.objects.get(pk=MP_URL)
    with assert_num_api_calls(1):
        assert proposal.codebase.name == SLASHED


# filter() ----------------------------------------------------------------------------------


async def test_filter_by_a_slashed_codebase(orm: Orm, wire: Wire) -> None:
    with capture_api_calls() as calls:
        runs = [run.run_id for run in await orm.list(Run.objects.filter(codebase=SLASHED))]
        both = await orm.list(Run.objects.filter(codebase__in=[SLASHED, RETIRED]))
        proposals = await orm.list(MergeProposal.objects.filter(codebase=SLASHED))
        in_campaign = await orm.list(MergeProposal.objects.filter(campaign=CAMPAIGN))
        codebases = await orm.list(Codebase.objects.filter(name__in=[SLASHED, RETIRED]))
        everything = await orm(Codebase.everything, "in_bulk", [SLASHED, RETIRED, MISSING])
        counted = await orm(MergeProposal.objects.filter(codebase=SLASHED), "count")
        exists = await orm(Run.objects.filter(codebase=SLASHED, campaign=CAMPAIGN), "exists")
    assert runs == [run.run_id for run in both]
    assert runs == [r["run_id"] for r in wire.items("/api/runs", codebase=SLASHED)]
    assert [mp.url for mp in proposals] == [mp.url for mp in in_campaign] == [MP_URL]
    assert [c.name for c in codebases] == [SLASHED]  # the inactive one is not listed by default
    assert sorted(everything) == [SLASHED, RETIRED]
    assert (counted, exists) == (1, True)
    assert all(call.status == 200 for call in calls)


# Writes: refused before any request --------------------------------------------------------


async def test_writes_to_slash_keys_are_refused_before_any_request(orm: Orm) -> None:
    run = await orm(Run.objects, "get", pk=RUN_ID)
    codebase = await orm(Codebase.objects, "get", pk=SLASHED)
    run.description = "Reviewed"
    with assert_num_api_calls(0):
        with pytest.raises(exceptions.UnaddressableKey, match="run_id 'slash/run-1'"):
            await orm(run, "save", update_fields=["description"])
        with pytest.raises(exceptions.UnaddressableKey, match="reschedule"):
            await orm(run, "reschedule")
        with pytest.raises(exceptions.UnaddressableKey, match="codebase 'debian/python-slash'"):
            await orm(codebase, "publish", "lintian-fixes")
