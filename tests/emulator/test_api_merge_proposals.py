"""Merge proposal endpoints over HTTP (§5.4): the list, its filters and orders, and a
campaign's merge proposals; ``campaign``/``run_id`` derived in Python as §4.3 says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    ENUMS,
    Model,
    contains,
    error,
    fetch_all,
    invalid_parameter,
    listing,
    parse_sort,
    same,
    sort_items,
    with_key,
)

KINDS = {"status": ENUMS["MergeProposalStatus"], "merged_at": "ts", "last_scanned": "ts"}
SORTABLE = ["url", "status", "codebase", "campaign", "merged_at", "last_scanned", "can_be_merged"]
DEFAULT = [("merged_at", True), ("url", False)]


@pytest.fixture(scope="module")
def all_mps(model: Model) -> list[dict[str, Any]]:
    return sort_items([model.mp_json(mp) for mp in model.merge_proposals], DEFAULT, KINDS)


def test_full_list(api: httpx.Client, all_mps: list[dict[str, Any]]) -> None:
    same(fetch_all(api, "/api/merge-proposals"), all_mps)
    for field in ("status", "codebase", "campaign", "run_id", "merged_at", "can_be_merged"):
        assert any(mp[field] is None for mp in all_mps), field
    assert any(mp["revision"] and mp["run_id"] is None for mp in all_mps)


# Filters ---------------------------------------------------------------------------------------


def mp_matches(params: Mapping[str, str], mp: dict[str, Any]) -> bool:
    """§5.4 filters, in Python."""
    q = params.get("q") or params.get("search")
    campaign = params.get("campaign") or params.get("suite")
    checks = [
        q is None or contains(mp["url"], q) or contains(mp["codebase"], q),
        "url" not in params or mp["url"] == params["url"],
        "status" not in params or mp["status"] == params["status"],
        "statuses" not in params or mp["status"] in params["statuses"].split(","),
        "codebase" not in params or mp["codebase"] == params["codebase"],
        "codebases" not in params or mp["codebase"] in params["codebases"].split(","),
        campaign is None or mp["campaign"] == campaign,
        "can_be_merged" not in params or mp["can_be_merged"] is (params["can_be_merged"] == "true"),
    ]
    return all(checks)


FILTERS: list[dict[str, str]] = [
    {"q": "GITHUB.COM"},
    {"q": "merge_requests/1"},
    {"search": "python"},
    {"q": "_"},
    {"q": "%"},
    *({"status": status} for status in ENUMS["MergeProposalStatus"]),
    {"statuses": "open,merged"},
    {"statuses": "applied,abandoned,rejected,closed"},
    {"status": "open", "statuses": "open,closed"},
    {"status": "open", "statuses": "closed"},
    {"codebase": "python-debian"},
    {"codebases": "python-debian,0ad,node-io"},
    {"campaign": "lintian-fixes"},
    {"suite": "fresh-releases"},
    {"campaign": "no-such-campaign"},
    {"can_be_merged": "true"},
    {"can_be_merged": "false"},
    {"can_be_merged": "true", "status": "open", "campaign": "multiarch-fixes"},
    {"q": "salsa", "statuses": "merged,applied", "can_be_merged": "false"},
]


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_filter(api: httpx.Client, all_mps: list[dict[str, Any]], params: dict[str, str]) -> None:
    expected = [mp for mp in all_mps if mp_matches(params, mp)]
    same(fetch_all(api, "/api/merge-proposals", params), expected)


def test_url_filter(api: httpx.Client, all_mps: list[dict[str, Any]]) -> None:
    for mp in all_mps[::37]:
        same(fetch_all(api, "/api/merge-proposals", {"url": mp["url"]}), [mp])
        assert fetch_all(api, "/api/merge-proposals", {"url": mp["url"].upper()}) == []
        assert fetch_all(api, "/api/merge-proposals", {"url": mp["url"] + "/"}) == []


def test_codebase_filter_never_matches_null(
    api: httpx.Client, all_mps: list[dict[str, Any]]
) -> None:
    orphans = [mp for mp in all_mps if mp["codebase"] is None]
    assert orphans
    found = fetch_all(api, "/api/merge-proposals", {"q": "/"})
    assert all(mp in found for mp in orphans)  # matched through the url


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("status", "OPEN"), ("status", "open,closed"), ("statuses", "open,Closed"),
     ("statuses", "open,,closed"), ("can_be_merged", "yes"), ("status", "null")],
)  # fmt: skip
def test_bad_filters(api: httpx.Client, parameter: str, value: str) -> None:
    details = invalid_parameter(
        api.get("/api/merge-proposals", params={parameter: value}), parameter, value
    )
    if parameter in ("status", "statuses") and ",," not in value:
        assert all(status in details["expected"] for status in ENUMS["MergeProposalStatus"])


# Order -----------------------------------------------------------------------------------------

SORTS = [*SORTABLE, *(f"-{field}" for field in SORTABLE),
         "status,-merged_at", "-can_be_merged,codebase", "campaign,-last_scanned",
         "-status,-url", "codebase,-campaign,status"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
def test_sort(api: httpx.Client, all_mps: list[dict[str, Any]], sort: str) -> None:
    data, _ = listing(api.get("/api/merge-proposals", params={"sort": sort, "limit": 1000}))
    expected = sort_items(all_mps, with_key(parse_sort(sort), ["url"]), KINDS)
    assert [mp["url"] for mp in data] == [mp["url"] for mp in expected]


def test_status_sorts_in_declaration_order(api: httpx.Client) -> None:
    data, _ = listing(api.get("/api/merge-proposals", params={"sort": "-status", "limit": 1000}))
    statuses = [mp["status"] for mp in data]
    present = [s for s in statuses if s is not None]
    assert statuses == present + [None] * (len(statuses) - len(present)) and None in statuses
    ranks = [ENUMS["MergeProposalStatus"].index(s) for s in present]
    assert ranks == sorted(ranks, reverse=True)
    booleans = [mp["can_be_merged"] for mp in fetch_all(api, "/api/merge-proposals",
                                                         {"sort": "can_be_merged"})]  # fmt: skip
    assert booleans.index(True) > max(i for i, b in enumerate(booleans) if b is False)
    assert booleans[-1] is None


# A campaign's merge proposals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "campaign",
    ["lintian-fixes", "fresh-releases", "fresh-snapshots", "multiarch-fixes", "scrub-obsolete",
     "debianize"],
)  # fmt: skip
def test_campaign_merge_proposals(
    api: httpx.Client, all_mps: list[dict[str, Any]], campaign: str
) -> None:
    expected = [mp for mp in all_mps if mp["campaign"] == campaign]
    path = f"/api/{campaign}/merge-proposals"
    same(fetch_all(api, path), expected)
    same(fetch_all(api, path, {"campaign": "debianize", "suite": "lintian-fixes"}), expected)
    data, pagination = listing(
        api.get(path, params={"status": "merged", "sort": "url", "limit": 5})
    )
    merged = sorted((mp for mp in expected if mp["status"] == "merged"), key=lambda mp: mp["url"])
    same(data, merged[:5])
    assert pagination["total"] == len(merged)


def test_unknown_campaign(api: httpx.Client) -> None:
    for name in ("no-such-campaign", "Lintian-Fixes", "lintian-fixes "):
        path = "/api/" + httpx.URL(name).raw_path.decode().lstrip("/") + "/merge-proposals"
        error(api.get(path), 404, "not_found", {"resource": "campaign", "campaign": name})
