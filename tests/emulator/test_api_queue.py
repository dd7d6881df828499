"""Queue endpoints over HTTP (§5.5): statistics and the queue items, with positions and wait
times computed in Python from the ``queue`` table (view ``queue_positions``, §4.4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    ENUMS,
    Model,
    contains,
    fetch_all,
    invalid_parameter,
    listing,
    ok,
    parse_sort,
    parse_ts,
    same,
    sort_items,
    ts,
    with_key,
)

KINDS = {"bucket": ENUMS["QueueBucket"]}
SORTABLE = ["position", "id", "codebase", "campaign", "bucket", "priority", "estimated_duration"]


@pytest.fixture(scope="module")
def items(model: Model) -> list[dict[str, Any]]:
    return model.queue_items()


def test_full_queue(api: httpx.Client, items: list[dict[str, Any]]) -> None:
    same(fetch_all(api, "/api/queue/items"), items)
    assert [item["position"] for item in items] == list(range(1, len(items) + 1))
    assert len({item["bucket"] for item in items}) == len(ENUMS["QueueBucket"])


# Statistics ------------------------------------------------------------------------------------


def test_queue_stats(api: httpx.Client, model: Model) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    response = api.get("/api/queue")
    after = dt.datetime.now(dt.timezone.utc)
    stats = ok(response)
    assert response.headers["cache-control"] == "no-cache" and response.headers["etag"]
    computed_at = parse_ts(stats["additional_stats"]["timestamp"])
    assert before - dt.timedelta(seconds=1) <= computed_at <= after + dt.timedelta(seconds=1)
    assert stats["additional_stats"]["timestamp"] == ts(computed_at.replace(tzinfo=None))

    active = {name for name, row in model.codebases.items() if not row["inactive"]}
    campaigns = sorted({c["suite"] for c in model.candidates} | {q["suite"] for q in model.queue})
    expected_campaigns = []
    for name in campaigns:
        runs = [r for r in model.runs.values() if r["suite"] == name]
        finished = [r["finish_time"] for r in runs if r["finish_time"] is not None]
        successes = sum(r["result_code"] == "success" for r in runs)
        config = model.campaigns.get(name)
        expected_campaigns.append(
            {
                "name": name,
                "total_candidates": sum(
                    c["suite"] == name and c["codebase"] in active for c in model.candidates
                ),
                "pending_candidates": sum(q["suite"] == name for q in model.queue),
                "active_runs": sum(a["suite"] == name for a in model.active_runs),
                "success_rate": successes / len(runs) if runs else None,
                "last_updated": ts(max(finished)) if finished else None,
                "description": config["description"] if config else None,
            }
        )
    day_ago = computed_at.replace(tzinfo=None) - dt.timedelta(hours=24)
    expected = {
        "queue": {
            "total_candidates": sum(c["codebase"] in active for c in model.candidates),
            "pending_candidates": len(model.queue),
            "active_runs": len(model.active_runs),
            "campaigns": expected_campaigns,
        },
        "additional_stats": {
            "recent_successful_runs": sum(
                r["result_code"] == "success"
                and r["finish_time"] is not None
                and r["finish_time"] >= day_ago
                for r in model.runs.values()
            ),
            "timestamp": stats["additional_stats"]["timestamp"],
        },
    }
    same(stats, expected)


def test_queue_stats_ignore_parameters(api: httpx.Client) -> None:
    response = api.get("/api/queue", params={"limit": "-1", "sort": "nope", "campaign": "x"})
    assert list(ok(response)) == ["queue", "additional_stats"]


# Filters ---------------------------------------------------------------------------------------


def item_matches(params: Mapping[str, str], item: dict[str, Any]) -> bool:
    """§5.5 filters, in Python."""
    q = params.get("q") or params.get("search")
    campaign = params.get("campaign") or params.get("suite")
    checks = [
        q is None or contains(item["codebase"], q),
        "id" not in params or item["id"] == int(params["id"]),
        "ids" not in params or item["id"] in [int(i) for i in params["ids"].split(",")],
        "codebase" not in params or item["codebase"] == params["codebase"],
        "codebases" not in params or item["codebase"] in params["codebases"].split(","),
        campaign is None or item["campaign"] == campaign,
        "campaigns" not in params or item["campaign"] in params["campaigns"].split(","),
        "bucket" not in params or item["bucket"] == params["bucket"],
        "change_set" not in params or item["change_set"] == params["change_set"],
        "requester" not in params or item["requester"] == params["requester"],
    ]
    return all(checks)


FILTERS: list[dict[str, str]] = [
    {"q": "PERL"},
    {"search": "python-"},
    {"id": "1"},
    {"id": "0007"},
    {"id": "-3"},
    {"ids": "1,2,3,500,501,-1"},
    {"ids": "10", "id": "10"},
    {"ids": "10", "id": "11"},
    {"codebase": "python-debian"},
    {"codebases": "python-debian,0ad,golang-github-afero-cobra"},
    {"campaign": "lintian-fixes"},
    {"suite": "debianize"},
    {"campaigns": "fresh-releases,fresh-snapshots"},
    {"campaign": "debianize", "campaigns": "debianize,lintian-fixes"},
    *({"bucket": bucket} for bucket in ENUMS["QueueBucket"]),
    {"requester": "Debian Janitor"},
    {"requester": "alice@example.org", "bucket": "manual"},
    {"requester": "debian janitor"},
    {"q": "lib", "bucket": "default", "campaign": "lintian-fixes"},
]


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_filter(api: httpx.Client, items: list[dict[str, Any]], params: dict[str, str]) -> None:
    expected = [item for item in items if item_matches(params, item)]
    same(fetch_all(api, "/api/queue/items", params), expected)


def test_change_set_filter(api: httpx.Client, items: list[dict[str, Any]]) -> None:
    change_sets = sorted({i["change_set"] for i in items if i["change_set"] is not None})
    assert change_sets
    for change_set in change_sets:
        expected = [i for i in items if i["change_set"] == change_set]
        same(fetch_all(api, "/api/queue/items", {"change_set": change_set}), expected)


def test_position_is_the_rank_in_the_whole_queue(
    api: httpx.Client, items: list[dict[str, Any]]
) -> None:
    last = items[-1]
    data, _ = listing(api.get("/api/queue/items", params={"id": last["id"]}))
    assert data[0]["position"] == len(items)
    assert data[0]["wait_time"] == last["wait_time"]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("id", "x"), ("id", "1.0"), ("ids", "1,x"), ("ids", "1, 2"), ("ids", "1,,2"),
     ("ids", "9223372036854775808"), ("bucket", "Manual"), ("bucket", "manual,default")],
)  # fmt: skip
def test_bad_filters(api: httpx.Client, parameter: str, value: str) -> None:
    details = invalid_parameter(
        api.get("/api/queue/items", params={parameter: value}), parameter, value
    )
    if parameter == "bucket":
        assert all(bucket in details["expected"] for bucket in ENUMS["QueueBucket"])


# Order -----------------------------------------------------------------------------------------

SORTS = [*SORTABLE, *(f"-{field}" for field in SORTABLE),
         "bucket,-priority", "-bucket,id", "campaign,-estimated_duration", "-codebase,position",
         "estimated_duration,-bucket"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
def test_sort(api: httpx.Client, items: list[dict[str, Any]], sort: str) -> None:
    data, _ = listing(api.get("/api/queue/items", params={"sort": sort, "limit": 1000}))
    expected = sort_items(items, with_key(parse_sort(sort), ["id"]), KINDS)
    assert [item["id"] for item in data] == [item["id"] for item in expected]


def test_default_order_is_the_queue_order(api: httpx.Client, items: list[dict[str, Any]]) -> None:
    for sort in ("position", "bucket,priority,id"):
        data, _ = listing(api.get("/api/queue/items", params={"sort": sort, "limit": 1000}))
        assert data == items
    by_duration = fetch_all(api, "/api/queue/items", {"sort": "-estimated_duration"})
    durations = [item["estimated_duration"] for item in by_duration]
    assert durations[-1] is None and durations[0] == max(d for d in durations if d is not None)
