"""Concurrent reschedules (§5.3 step 5) over HTTP: 200 POSTs at once over a handful of
(codebase, campaign) pairs, on an emulator with two worker processes, on each backend.

The test holds the ``queue`` table's writers back while the requests arrive, so that many of
them have looked for their pair's row before any of them writes it: a select-then-insert then
fails on the unique index for certain. The upsert is one statement, so no request may fail (no
5xx), each pair keeps one queue row, every answer for a pair names that row, and a row in an
earlier bucket stays as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from janitor_site_django.testing.emulator import EmulatorServer
from janitor_site_emulator import schema

from .api_support import bearer, fetch_all, own_emulator

CAMPAIGNS = ("lintian-fixes", "debianize")
#: Pairs sharing the queue: 3 codebases × 2 campaigns, each with a few failed runs.
CODEBASES = 3
RUNS_PER_PAIR = 4
REQUESTS = 200
#: Requests in flight at once (connections of the client).
CONCURRENCY = 100
#: The queue's writers are held back until this many wait (PostgreSQL tells; at most
#: ``HOLD_SECONDS``), or for ``SQLITE_HOLD_SECONDS`` (SQLite cannot tell; well under the
#: emulator's 10 s busy timeout).
HELD_WRITERS = 12
HOLD_SECONDS = 30.0
SQLITE_HOLD_SECONDS = 5.0
#: Names of the codebases made here (no seeded codebase has it).
PREFIX = "zz-race-"
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmulatorServer]:
    """An empty emulator of its own, with two worker processes: the race spans processes."""
    with own_emulator(request.param, tmp_path, extra_args=["--workers", "2"], seed="none") as e:
        yield e


def _codebase(name: str) -> dict[str, Any]:
    url = f"https://example.org/{name}.git"
    return {
        "name": name,
        "url": url,
        "branch": "main",
        "branch_url": f"{url},branch=main",
        "subpath": "",
        "vcs_type": "git",
        "inactive": False,
        "hostname": "example.org",
        "name_lower": name.lower(),
        "url_lower": url.lower(),
    }


def _failed_run(codebase: str, campaign: str) -> dict[str, Any]:
    run_id = str(uuid.uuid4())
    start = NOW - dt.timedelta(days=1)
    return {
        "id": run_id,
        "codebase": codebase,
        "suite": campaign,
        "command": f"fix {campaign}",
        "result_code": "build-failed",
        "start_time": start,
        "finish_time": start + dt.timedelta(seconds=60),
        "duration": 60.0,
        "logfilenames": "[]",
        "publish_status": "unknown",
        "change_set": str(uuid.uuid4()),
        "id_lower": run_id.lower(),
        "codebase_lower": codebase.lower(),
    }


def _queue_row(codebase: str, campaign: str, **fields: Any) -> dict[str, Any]:
    return {
        "codebase": codebase,
        "codebase_lower": codebase.lower(),
        "suite": campaign,
        "priority": 100,
        "command": "old-command",
        "requester": "earlier",
        "change_set": None,
        **fields,
    }


def _populate(database_url: str) -> tuple[dict[tuple[str, str], list[str]], tuple[str, str]]:
    """The runs of each pair, and the pair whose queue row sits in an earlier bucket."""
    names = [f"{PREFIX}{index}" for index in range(CODEBASES)]
    runs: list[dict[str, Any]] = []
    for name in names:
        for campaign in CAMPAIGNS:
            runs += [_failed_run(name, campaign) for _ in range(RUNS_PER_PAIR)]
    earlier = (names[0], CAMPAIGNS[0])
    engine = schema.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(schema.codebase.insert(), [_codebase(name) for name in names])
            conn.execute(schema.run.insert(), runs)
            conn.execute(
                schema.queue.insert(),
                [
                    _queue_row(*earlier, bucket="update-existing-mp", priority=7),
                    # A change set's row of another pair: another key, left alone.
                    _queue_row(names[1], CAMPAIGNS[1], bucket="hook", change_set="cs-1"),
                ],
            )
    finally:
        engine.dispose()
    by_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
    for run in runs:
        by_pair[run["codebase"], run["suite"]].append(run["id"])
    return by_pair, earlier


@contextlib.contextmanager
def _queue_writes_held(database_url: str) -> Iterator[Callable[[], int | None]]:
    """Keep every writer out of the ``queue`` table meanwhile (readers go on): the reschedules
    in flight read their pair's row, then wait to write it, so that their windows overlap.

    Yields a count of the writers waiting (``None`` where the backend cannot tell: SQLite).
    """
    engine = schema.create_engine(database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield lambda: None
            else:
                conn.exec_driver_sql("LOCK TABLE queue IN SHARE MODE")
                waiting = sa.text(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE relation = 'queue'::regclass AND NOT granted"
                )
                yield lambda: int(conn.scalar(waiting) or 0)
            conn.rollback()
    finally:
        engine.dispose()


async def _hold(waiting: Callable[[], int | None]) -> None:
    """Until ``HELD_WRITERS`` writers wait (at most ``HOLD_SECONDS``), or ``SQLITE_HOLD_SECONDS``
    where the backend cannot tell."""
    if waiting() is None:
        await asyncio.sleep(SQLITE_HOLD_SECONDS)
        return
    deadline = time.monotonic() + HOLD_SECONDS
    while (waiting() or 0) < HELD_WRITERS and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _reschedule_all(server: EmulatorServer, run_ids: list[str]) -> list[httpx.Response]:
    # A connection per request: reusing keep-alive connections under this load sometimes ended
    # in a client-side ReadError, which says nothing about the emulator.
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=server.url, headers=bearer(server, "qa"), limits=limits, timeout=120.0
    ) as client:
        with _queue_writes_held(server.database_url) as waiting:
            requests = asyncio.gather(
                *(
                    client.post(f"/api/run/{run_id}/reschedule", json={"offset": index % 7 - 3})
                    for index, run_id in enumerate(run_ids)
                )
            )
            await _hold(waiting)
        return await requests


def test_concurrent_reschedules_share_one_queue_row_per_pair(server: EmulatorServer) -> None:
    runs, earlier = _populate(server.database_url)
    pairs = sorted(runs)
    # Round-robin over the pairs, so every pair has requests in flight at the same time.
    run_ids = [
        runs[pairs[i % len(pairs)]][i // len(pairs) % RUNS_PER_PAIR] for i in range(REQUESTS)
    ]
    responses = asyncio.run(_reschedule_all(server, run_ids))

    with httpx.Client(base_url=server.url, timeout=30.0) as api:
        items = fetch_all(api, "/api/queue/items", {"q": PREFIX})
    keyed = [item for item in items if item["change_set"] is None]
    statuses = Counter(response.status_code for response in responses)
    failures = [r.text[:300] for r in responses if r.status_code >= 500]
    # Both numbers in one assertion: the 5xx count and the rows of each pair.
    assert (statuses, Counter((i["codebase"], i["campaign"]) for i in keyed)) == (
        {200: REQUESTS},
        dict.fromkeys(pairs, 1),
    ), failures[:2]
    assert [i["change_set"] for i in items if i["change_set"] is not None] == ["cs-1"]
    row = {(i["codebase"], i["campaign"]): i for i in keyed}

    answered: dict[tuple[str, str], set[int]] = defaultdict(set)
    for response in responses:
        result = response.json()["data"]
        answered[result["codebase"], result["campaign"]].add(result["queue_id"])
    assert answered == {pair: {row[pair]["id"]} for pair in pairs}
    item = row[earlier]
    assert (item["bucket"], item["priority"], item["command"], item["requester"]) == (
        "update-existing-mp",
        7,
        "old-command",
        "earlier",
    )
    for codebase, campaign in pairs:
        if (codebase, campaign) != earlier:
            item = row[codebase, campaign]
            assert (item["bucket"], item["command"], item["requester"]) == (
                "manual",
                f"fix {campaign}",
                "bob",
            )
