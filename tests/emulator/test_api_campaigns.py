"""Campaign endpoints over HTTP (§5.7): ready lists and one codebase in a campaign, computed in
Python from the database (§4.6); publishing is in test_api_post.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    ENUMS,
    READY_MODES,
    Model,
    contains,
    error,
    fetch_all,
    listing,
    ok,
    parse_sort,
    same,
    sort_items,
    with_key,
)

CAMPAIGNS = ["lintian-fixes", "fresh-releases", "fresh-snapshots", "multiarch-fixes",
             "scrub-obsolete", "debianize"]  # fmt: skip
KINDS = {"start_time": "ts", "finish_time": "ts"}
SORTABLE = ["value", "start_time", "finish_time", "codebase", "run_id"]
DEFAULT = [("value", True), ("start_time", True), ("run_id", False)]


@pytest.fixture(scope="module")
def ready(model: Model) -> dict[str, list[dict[str, Any]]]:
    return {c: sort_items(model.ready_list(c), DEFAULT, KINDS) for c in CAMPAIGNS}


# Ready lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("campaign", CAMPAIGNS)
def test_ready_list(
    api: httpx.Client, ready: dict[str, list[dict[str, Any]]], campaign: str
) -> None:
    expected = ready[campaign]
    assert expected
    same(fetch_all(api, f"/api/{campaign}/ready"), expected)


def test_ready_lists_exercise_the_rules(
    ready: dict[str, list[dict[str, Any]]], model: Model
) -> None:
    """The demo data holds the cases the ready list rules tell apart."""
    runs = [run for runs in ready.values() for run in runs]
    assert any(len(run["unpublished_branches"]) > 1 for run in runs)
    assert any(
        b["mode"] is None or b["mode"] not in READY_MODES
        for run in runs
        for b in run["unpublished_branches"]
    )
    assert any(run["value"] is not None for run in runs)
    for run in runs:
        roles = [b["role"] for b in run["unpublished_branches"]]
        others = [role for role in roles if role != "main"]
        assert roles == sorted(others) + (["main"] if "main" in roles else [])
    # Successful last effective runs with a publishing mode that are not ready: their branch
    # has a merge proposal, or is absorbed.
    ready_ids = {run["run_id"] for run in runs}
    mp_revisions = {mp["revision"] for mp in model.merge_proposals}
    effective = [
        model.runs.get(last["last_effective_run_id"] or "") for last in model.last_runs.values()
    ]
    excluded = [
        run
        for run in effective
        if run is not None
        and run["id"] not in ready_ids
        and run["result_code"] == "success"
        and any(b["revision"] in mp_revisions for b in model.branches[run["id"]])
    ]
    assert excluded


def ready_matches(params: Mapping[str, str], run: dict[str, Any]) -> bool:
    q = params.get("q") or params.get("search")
    return all(
        [
            q is None or contains(run["codebase"], q),
            "codebase" not in params or run["codebase"] == params["codebase"],
            "codebases" not in params or run["codebase"] in params["codebases"].split(","),
            "publish_status" not in params or run["publish_status"] == params["publish_status"],
        ]
    )


def test_ready_filters(api: httpx.Client, ready: dict[str, list[dict[str, Any]]]) -> None:
    runs = ready["lintian-fixes"]
    names = [run["codebase"] for run in runs]
    cases: list[dict[str, str]] = [
        {"q": "PYTHON"},
        {"search": "lib"},
        {"q": names[0][2:6]},
        {"codebase": names[0]},
        {"codebase": names[0].upper()},
        {"codebases": ",".join(names[:3] + ["nope"])},
        {"codebase": names[0], "codebases": ",".join(names[1:3])},
        *({"publish_status": status} for status in ENUMS["PublishStatus"]),
        {"publish_status": "approved", "q": "python"},
        {"campaign": "debianize", "suite": "debianize"},  # no such filters: ignored
    ]
    for params in cases:
        expected = [run for run in runs if ready_matches(params, run)]
        same(fetch_all(api, "/api/lintian-fixes/ready", params), expected)


@pytest.mark.parametrize(
    "sort",
    [*SORTABLE, *(f"-{field}" for field in SORTABLE), "codebase,-value", "-finish_time,value"],
)
def test_ready_sort(api: httpx.Client, ready: dict[str, list[dict[str, Any]]], sort: str) -> None:
    runs = ready["lintian-fixes"]
    expected = sort_items(runs, with_key(parse_sort(sort), ["run_id"]), KINDS)
    data, _ = listing(api.get("/api/lintian-fixes/ready", params={"sort": sort, "limit": 1000}))
    assert [run["run_id"] for run in data] == [run["run_id"] for run in expected]


def test_ready_paging(api: httpx.Client, ready: dict[str, list[dict[str, Any]]]) -> None:
    runs = ready["lintian-fixes"]
    data, pagination = listing(api.get("/api/lintian-fixes/ready", params={"limit": 3, "page": 2}))
    same(data, runs[3:6])
    assert pagination == {"total": len(runs), "offset": 3, "limit": 3, "has_more": len(runs) > 6}


@pytest.mark.parametrize("name", ["no-such-campaign", "Lintian-fixes", "lintian-fixes.json"])
def test_unknown_campaign(api: httpx.Client, name: str) -> None:
    details = {"resource": "campaign", "campaign": name}
    error(api.get(f"/api/{name}/ready"), 404, "not_found", details)
    error(api.get(f"/api/{name}/c/0ad"), 404, "not_found", details)


# One codebase in a campaign ------------------------------------------------------------------


def campaign_codebase(model: Model, campaign: str, codebase: str) -> dict[str, Any]:
    """§4.6 CampaignCodebase, in Python."""
    candidate = model.candidate(codebase, campaign) or {}
    queued = model.chosen(model.queue, codebase, campaign)
    position = next((i for i in model.queue_items() if queued and i["id"] == queued["id"]), None)
    last = model.last_runs.get((codebase, campaign), {})
    row = model.codebases[codebase]
    return {
        "codebase": codebase,
        "campaign": campaign,
        "command": candidate.get("command"),
        "publish_policy": candidate.get("publish_policy"),
        "value": candidate.get("value"),
        "success_chance": candidate.get("success_chance"),
        "context": candidate.get("context"),
        "change_set": candidate.get("change_set"),
        "priority": queued["priority"] if queued else None,
        "vcs_url": row["url"],
        "vcs_type": row["vcs_type"],
        "branch_url": row["branch_url"],
        "last_run": model.run_json(last["last_run_id"]) if last.get("last_run_id") else None,
        "last_effective_run_id": last.get("last_effective_run_id"),
        "last_unabsorbed_run_id": last.get("last_unabsorbed_run_id"),
        "queue_id": position["id"] if position else None,
        "queue_position": position["position"] if position else None,
        "queue_wait_time": position["wait_time"] if position else None,
    }


def _pairs(model: Model) -> list[tuple[str, str]]:
    """Every (campaign, codebase) pair with a candidate or a run."""
    pairs = {(c["suite"], c["codebase"]) for c in model.candidates}
    pairs |= {(r["suite"], r["codebase"]) for r in model.runs.values()}
    return sorted(pairs)


def test_campaign_codebase(api: httpx.Client, model: Model) -> None:
    pairs = _pairs(model)
    runs_pairs = {(r["suite"], r["codebase"]) for r in model.runs.values()}
    candidate_pairs = {(c["suite"], c["codebase"]) for c in model.candidates}
    queued = {(q["suite"], q["codebase"]) for q in model.queue}
    two_candidates = {
        (c["suite"], c["codebase"]) for c in model.candidates if c["change_set"] is not None
    }
    queued_with_change_set = {
        (q["suite"], q["codebase"]) for q in model.queue if q["change_set"] is not None
    }
    inactive = {p for p in pairs if model.codebases[p[1]]["inactive"]}
    special = [
        next(p for p in pairs if p not in runs_pairs),
        next(p for p in pairs if p not in candidate_pairs),
        next(p for p in pairs if p in two_candidates),
        next(p for p in pairs if p in queued_with_change_set),
        next(p for p in pairs if p in queued and p in runs_pairs),
        next(p for p in pairs if p in inactive),
    ]
    for campaign, codebase in special + pairs[::23]:
        response = api.get(f"/api/{campaign}/c/{codebase.replace('+', '%2B')}")
        same(ok(response), campaign_codebase(model, campaign, codebase))


def test_campaign_codebase_not_found(api: httpx.Client, model: Model) -> None:
    pairs = set(_pairs(model))
    campaign, codebase = next(
        (c, n) for c in CAMPAIGNS for n in sorted(model.codebases) if (c, n) not in pairs
    )
    response = api.get(f"/api/{campaign}/c/{codebase}")
    details = {"resource": "campaign_codebase", "campaign": campaign, "codebase": codebase}
    error(response, 404, "not_found", details)
    response = api.get("/api/lintian-fixes/c/no-such-codebase")
    error(response, 404, "not_found", {"resource": "codebase", "codebase": "no-such-codebase"})
    response = api.get("/api/lintian-fixes/c/0AD")
    error(response, 404, "not_found", {"resource": "codebase", "codebase": "0AD"})
    response = api.get("/api/no-such-campaign/c/0ad")
    error(response, 404, "not_found", {"resource": "campaign", "campaign": "no-such-campaign"})
