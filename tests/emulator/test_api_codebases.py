"""Codebase endpoints over HTTP (§5.2): the list, its filters and orders, one codebase, and its
runs and merge proposals; expectations computed in Python from the database (§4.1, §4.6)."""

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
    listing,
    naive_utc,
    ok,
    parse_sort,
    same,
    sort_items,
    ts,
    with_key,
)

KINDS = {"vcs_type": ENUMS["VcsType"], "last_scanned": "ts"}
SORTABLE = ["name", "url", "branch", "subpath", "vcs_type", "value", "last_scanned", "web_url",
            "inactive"]  # fmt: skip


@pytest.fixture(scope="module")
def everything(api: httpx.Client) -> list[dict[str, Any]]:
    return fetch_all(api, "/api/codebases", {"include_inactive": "true"})


def test_full_list(everything: list[dict[str, Any]], model: Model) -> None:
    same(everything, [model.codebase_json(name) for name in sorted(model.codebases)])
    assert any(c["inactive"] for c in everything) and any(c["url"] is None for c in everything)


def test_inactive_excluded_by_default(api: httpx.Client, everything: list[dict[str, Any]]) -> None:
    same(fetch_all(api, "/api/codebases"), [c for c in everything if not c["inactive"]])


# Filters ---------------------------------------------------------------------------------------


def expected_names(model: Model, params: Mapping[str, str]) -> list[str]:
    """§5.2 filters, in Python."""
    campaign = params.get("campaign") or params.get("suite")
    lr_conditions = []
    if "result_code" in params:
        lr_conditions.append(lambda run: run["result_code"] == params["result_code"])
    if "result_codes" in params:
        lr_conditions.append(lambda run: run["result_code"] in params["result_codes"].split(","))
    if params.get("success_only") == "true":
        lr_conditions.append(lambda run: run["result_code"] == "success")
    if "start_time" in params:
        low = naive_utc(params["start_time"])
        lr_conditions.append(lambda run: run["start_time"] is not None and run["start_time"] >= low)
    if "end_time" in params:
        high = naive_utc(params["end_time"])
        lr_conditions.append(lambda run: run["start_time"] is not None and run["start_time"] < high)
    c_conditions = []
    if "min_success_chance" in params:
        low_chance = float(params["min_success_chance"])
        c_conditions.append(lambda c: c["success_chance"] >= low_chance)
    if "max_success_chance" in params:
        high_chance = float(params["max_success_chance"])
        c_conditions.append(lambda c: c["success_chance"] <= high_chance)

    def matches(name: str, row: dict[str, Any]) -> bool:
        if row["inactive"] and params.get("include_inactive") != "true":
            return False
        q = params.get("q") or params.get("search")
        if q is not None and not (contains(name, q) or contains(row["url"], q)):
            return False
        if "name" in params and name != params["name"]:
            return False
        if "names" in params and name not in params["names"].split(","):
            return False
        if "vcs_type" in params and row["vcs_type"] != params["vcs_type"]:
            return False
        lasts = [
            model.runs[last["last_run_id"]]
            for (codebase, suite), last in model.last_runs.items()
            if codebase == name and campaign in (None, suite) and last["last_run_id"]
        ]
        candidates = [
            c for c in model.candidates if c["codebase"] == name and campaign in (None, c["suite"])
        ]
        if campaign is not None and not (lasts or candidates):
            return False
        if lr_conditions and not any(all(f(run) for f in lr_conditions) for run in lasts):
            return False
        if c_conditions and not any(
            c["success_chance"] is not None and all(f(c) for f in c_conditions) for c in candidates
        ):
            return False
        return params.get("publishable_only") != "true" or any(
            cb == name and campaign in (None, c) for cb, c in model.publishable
        )

    return sorted(name for name, row in model.codebases.items() if matches(name, row))


FILTERS: list[dict[str, str]] = [
    {"q": "PYTHON"},
    {"q": "salsa.debian.org/perl-team"},
    {"q": "github.com"},
    {"search": "GoLang"},
    {"q": "+"},
    {"q": "%"},
    {"q": "_"},
    {"q": "data.table"},
    {"q": "https://"},
    {"q": "no such text"},
    {"name": "0ad"},
    {"name": "0AD"},
    {"name": "python3.11"},
    {"names": "0ad,python-debian,libsigc++-2.0,nope"},
    {"names": "0ad", "name": "python-debian"},
    *({"vcs_type": value} for value in ENUMS["VcsType"]),
    {"include_inactive": "true", "vcs_type": "git"},
    {"include_inactive": "false"},
    *({"campaign": c} for c in ("lintian-fixes", "fresh-releases", "debianize", "scrub-obsolete")),
    {"campaign": "no-such-campaign"},
    {"suite": "multiarch-fixes"},
    {"campaign": "multiarch-fixes", "include_inactive": "true"},
    {"result_code": "success"},
    {"result_code": "success", "campaign": "lintian-fixes"},
    {"result_code": "nothing-to-do", "include_inactive": "true"},
    {"result_codes": "build-failed,worker-failure"},
    {"result_codes": "build-failed", "result_code": "success"},
    {"result_codes": "success,build-failed", "result_code": "success", "campaign": "debianize"},
    {"success_only": "true"},
    {"success_only": "false"},
    {"success_only": "true", "campaign": "fresh-releases"},
    {"start_time": "2026-10-01T00:00:00Z"},
    {"end_time": "2025-06-01"},
    {"start_time": "2026-06-01", "end_time": "2026-09-01T12:30:00+02:00"},
    {"result_code": "success", "start_time": "2026-09-01"},
    {"success_only": "true", "end_time": "2025-12-01", "campaign": "lintian-fixes"},
    {"publishable_only": "true"},
    {"publishable_only": "true", "campaign": "lintian-fixes"},
    {"publishable_only": "true", "campaign": "fresh-snapshots", "include_inactive": "true"},
    {"publishable_only": "false"},
    {"min_success_chance": "0.5"},
    {"max_success_chance": "0.2"},
    {"min_success_chance": "0.25", "max_success_chance": "0.75"},
    {"min_success_chance": "0"},
    {"max_success_chance": "1"},
    {"min_success_chance": "0.9", "campaign": "lintian-fixes"},
    {"min_success_chance": "1e-1", "max_success_chance": "2E-1", "campaign": "fresh-releases"},
    {"q": "lib", "vcs_type": "git", "campaign": "lintian-fixes", "success_only": "true"},
    {"q": "python", "publishable_only": "true", "min_success_chance": "0.1"},
]


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_filter(api: httpx.Client, model: Model, params: dict[str, str]) -> None:
    data, pagination = listing(api.get("/api/codebases", params={**params, "limit": 1000}))
    expected = expected_names(model, params)
    assert [c["name"] for c in data] == expected
    assert pagination["total"] == len(expected)
    same(data, [model.codebase_json(name) for name in expected])


def test_last_run_conditions_hold_on_one_row(api: httpx.Client, model: Model) -> None:
    """A codebase whose last runs succeed in one campaign and start late in another matches
    ``success_only`` and ``start_time`` separately but not together (§5.2 LR)."""
    mixed = None
    for name in sorted(model.codebases):
        lasts = [
            model.runs[last["last_run_id"]]
            for (codebase, _), last in model.last_runs.items()
            if codebase == name
        ]
        successes = [r["start_time"] for r in lasts if r["result_code"] == "success"]
        others = [r["start_time"] for r in lasts if r["result_code"] != "success"]
        if (
            successes
            and others
            and None not in successes + others
            and max(others) > max(successes)
            and not model.codebases[name]["inactive"]
        ):
            mixed = name, max(successes), max(others)
            break
    assert mixed is not None
    name, latest_success, latest_other = mixed
    bound = ts(latest_other)
    assert latest_success < latest_other

    def names(**params: str) -> list[str]:
        data, _ = listing(api.get("/api/codebases", params={"name": name, **params}))
        return [c["name"] for c in data]

    assert names(success_only="true") == [name]
    assert names(start_time=bound) == [name]
    assert names(success_only="true", start_time=bound) == []


def test_time_bounds_are_half_open(api: httpx.Client, model: Model) -> None:
    last = next(
        model.runs[lr["last_run_id"]]
        for (name, _), lr in sorted(model.last_runs.items())
        if model.runs[lr["last_run_id"]]["start_time"] and not model.codebases[name]["inactive"]
    )
    moment = ts(last["start_time"])
    data, _ = listing(
        api.get("/api/codebases", params={"name": last["codebase"], "start_time": moment})
    )
    assert [c["name"] for c in data] == [last["codebase"]]
    params = {"name": last["codebase"], "end_time": moment, "campaign": last["suite"]}
    assert listing(api.get("/api/codebases", params=params))[0] == []


# Order -----------------------------------------------------------------------------------------

SORTS = [*SORTABLE, *(f"-{field}" for field in SORTABLE),
         "vcs_type,-value", "-inactive,url", "subpath,-last_scanned", "-web_url,branch",
         "value,-name", "-branch,-vcs_type"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
def test_sort(api: httpx.Client, everything: list[dict[str, Any]], sort: str) -> None:
    params = {"sort": sort, "include_inactive": "true", "limit": 1000}
    data, _ = listing(api.get("/api/codebases", params=params))
    expected = sort_items(everything, with_key(parse_sort(sort), ["name"]), KINDS)
    assert [c["name"] for c in data] == [c["name"] for c in expected]


@pytest.mark.parametrize("field", SORTABLE)
def test_sort_with_order(api: httpx.Client, field: str) -> None:
    params = {"include_inactive": "true", "limit": 1000}
    by_order = api.get("/api/codebases", params={**params, "sort": field, "order": "desc"})
    by_prefix = api.get("/api/codebases", params={**params, "sort": f"-{field}"})
    assert by_order.content == by_prefix.content


@pytest.mark.parametrize("sort", ["vcs_type", "-vcs_type", "value", "-value", "url", "-url"])
def test_nulls_last_enum_order_and_key(api: httpx.Client, sort: str) -> None:
    """The rules of §2.6 checked directly, without the test's own sorting helper."""
    field = sort.removeprefix("-")
    params = {"sort": sort, "include_inactive": "true", "limit": 1000}
    data, _ = listing(api.get("/api/codebases", params=params))
    values = [c[field] for c in data]
    present = [v for v in values if v is not None]
    assert None in values
    assert values == present + [None] * (len(values) - len(present))
    ranks = [ENUMS["VcsType"].index(v) if field == "vcs_type" else v for v in present]
    assert ranks == sorted(ranks, reverse=sort.startswith("-"))
    for value in set(values):
        names = [c["name"] for c in data if c[field] == value]
        assert names == sorted(names)


# One codebase ----------------------------------------------------------------------------------


def test_every_codebase(api: httpx.Client, model: Model) -> None:
    for name in sorted(model.codebases)[::7] + ["python3.11", "libsigc++-2.0", "gtk+3.0"]:
        row = model.codebases[name]
        response = api.get(
            f"/api/c/{name.replace('+', '%2B')}", params={"include_inactive": "true"}
        )
        same(ok(response), model.codebase_json(name))
        if not row["inactive"]:
            same(ok(api.get(f"/api/c/{name.replace('+', '%2B')}")), model.codebase_json(name))


def test_inactive_codebase(api: httpx.Client, model: Model) -> None:
    name = next(name for name, row in sorted(model.codebases.items()) if row["inactive"])
    details = {"resource": "codebase", "codebase": name}
    error(api.get(f"/api/c/{name}"), 404, "not_found", details)
    error(
        api.get(f"/api/c/{name}", params={"include_inactive": "false"}), 404, "not_found", details
    )
    same(
        ok(api.get(f"/api/c/{name}", params={"include_inactive": "true"})),
        model.codebase_json(name),
    )


@pytest.mark.parametrize("name", ["no-such-codebase", "café", "a b", "0ad.html", "%"])
def test_unknown_codebase(api: httpx.Client, name: str) -> None:
    response = api.get("/api/c/" + httpx.URL(name).raw_path.decode().lstrip("/"))
    error(response, 404, "not_found", {"resource": "codebase", "codebase": name})
    for tail in ("runs", "merge-proposals"):
        response = api.get("/api/c/" + httpx.URL(name).raw_path.decode().lstrip("/") + "/" + tail)
        error(response, 404, "not_found", {"resource": "codebase", "codebase": name})


# Runs and merge proposals of a codebase ------------------------------------------------------


def _run_order(model: Model, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sort_items(runs, [("start_time", True), ("run_id", False)], {"start_time": "ts"})


@pytest.mark.parametrize("name", ["python-debian", "0ad", "libsigc++-2.0", "python3.11"])
def test_codebase_runs(api: httpx.Client, model: Model, name: str) -> None:
    path = f"/api/c/{name.replace('+', '%2B')}/runs"
    expected = _run_order(
        model, [model.run_json(i) for i, r in model.runs.items() if r["codebase"] == name]
    )
    assert expected
    same(fetch_all(api, path), expected)
    ignored = {"codebase": "0ad" if name != "0ad" else "python-debian", "codebases": "zzz"}
    same(fetch_all(api, path, ignored), expected)
    data, pagination = listing(
        api.get(
            path, params={"result_codes": "success,build-failed", "sort": "-duration", "limit": 3}
        )
    )
    filtered = [r for r in expected if r["result_code"] in ("success", "build-failed")]
    ordered = sort_items(filtered, [("duration", True), ("run_id", False)], {})
    same(data, ordered[:3])
    assert pagination["total"] == len(filtered)


def test_runs_of_an_inactive_codebase(api: httpx.Client, model: Model) -> None:
    name = next(
        name
        for name, row in sorted(model.codebases.items())
        if row["inactive"] and any(r["codebase"] == name for r in model.runs.values())
    )
    runs = [model.run_json(i) for i, r in model.runs.items() if r["codebase"] == name]
    same(fetch_all(api, f"/api/c/{name}/runs"), _run_order(model, runs))


def _mp_order(mps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sort_items(mps, [("merged_at", True), ("url", False)], {"merged_at": "ts"})


def test_codebase_merge_proposals(api: httpx.Client, model: Model) -> None:
    counts: dict[str, int] = {}
    for mp in model.merge_proposals:
        if mp["codebase"] is not None:
            counts[mp["codebase"]] = counts.get(mp["codebase"], 0) + 1
    busiest = sorted(counts, key=lambda name: (-counts[name], name))[:3]
    without = next(name for name in sorted(model.codebases) if name not in counts)
    for name in [*busiest, without]:
        expected = _mp_order(
            [model.mp_json(mp) for mp in model.merge_proposals if mp["codebase"] == name]
        )
        path = f"/api/c/{name}/merge-proposals"
        same(fetch_all(api, path), expected)
        same(fetch_all(api, path, {"codebase": "0ad", "codebases": "x,y"}), expected)
        merged = fetch_all(api, path, {"status": "merged", "sort": "url"})
        assert [mp["url"] for mp in merged] == sorted(
            mp["url"] for mp in expected if mp["status"] == "merged"
        )


def test_merge_proposals_of_an_inactive_codebase(api: httpx.Client, model: Model) -> None:
    name = next(name for name, row in sorted(model.codebases.items()) if row["inactive"])
    expected = _mp_order(
        [model.mp_json(mp) for mp in model.merge_proposals if mp["codebase"] == name]
    )
    same(fetch_all(api, f"/api/c/{name}/merge-proposals"), expected)
