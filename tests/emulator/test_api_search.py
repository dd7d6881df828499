"""Search endpoints over HTTP (§5.8): ``/api/search`` items and ``/api/pkgnames``, with their
default orders (prefix rank, latest finish time), computed in Python from the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    Model,
    contains,
    fetch_all,
    listing,
    parse_sort,
    same,
    sort_items,
    with_key,
)

KINDS = {"finish_time": "ts"}
SORTABLE = ["codebase", "campaign", "finish_time", "result_code"]
KEY = ["codebase", "campaign"]


@pytest.fixture(scope="module")
def items(model: Model) -> list[dict[str, Any]]:
    return model.search_items()


def rank(q: str) -> Any:
    """The prefix rank of §5.8 as a sort field getter."""

    def get(item: dict[str, Any], field: str) -> Any:
        if field == "rank":
            name = item if isinstance(item, str) else item["codebase"]
            return 0 if name.lower().startswith(q.lower()) else 1
        return item if isinstance(item, str) else item[field]

    return get


def search_matches(model: Model, params: Mapping[str, str], item: dict[str, Any]) -> bool:
    q = params.get("q") or params.get("search")
    campaign = params.get("campaign") or params.get("suite")
    return all(
        [
            q is None or contains(item["codebase"], q) or contains(item["vcs_url"], q),
            campaign is None or item["campaign"] == campaign,
            "result_code" not in params or item["result_code"] == params["result_code"],
            params.get("publishable_only") != "true"
            or (item["codebase"], item["campaign"]) in model.publishable,
        ]
    )


def expected_search(
    model: Model, items: list[dict[str, Any]], params: Mapping[str, str]
) -> list[dict[str, Any]]:
    found = [item for item in items if search_matches(model, params, item)]
    q = params.get("q") or params.get("search")
    if "sort" in params:
        keys = with_key(parse_sort(params["sort"]), KEY)
    elif q is not None:
        keys = [("rank", False), ("codebase", False), ("campaign", False)]
    else:
        keys = [("finish_time", True), ("codebase", False), ("campaign", False)]
    return sort_items(found, keys, KINDS, rank(q or ""))


def test_search_items(api: httpx.Client, model: Model, items: list[dict[str, Any]]) -> None:
    same(fetch_all(api, "/api/search"), expected_search(model, items, {}))
    assert len({item["codebase"] for item in items}) < len(items)


SEARCHES: list[dict[str, str]] = [
    {"q": "python"},
    {"q": "PYTHON-D"},
    {"q": "lib"},
    {"search": "perl"},
    {"q": "github"},
    {"q": "%"},
    {"q": "+"},
    {"q": "salsa.debian.org/python-team/packages/python-debian"},
    {"campaign": "lintian-fixes"},
    {"suite": "debianize"},
    {"campaign": "no-such-campaign"},
    {"result_code": "success"},
    {"result_code": "success", "campaign": "fresh-releases"},
    {"publishable_only": "true"},
    {"publishable_only": "true", "campaign": "multiarch-fixes"},
    {"publishable_only": "false", "q": "ruby"},
    {"q": "python", "sort": "-finish_time"},
    {"q": "lib", "sort": "campaign"},
    {"q": "o", "sort": "-codebase,-campaign"},
    {"q": "python", "result_code": "build-failed"},
]


@pytest.mark.parametrize(
    "params", SEARCHES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_search(
    api: httpx.Client, model: Model, items: list[dict[str, Any]], params: dict[str, str]
) -> None:
    same(fetch_all(api, "/api/search", params), expected_search(model, items, params))


def test_prefix_rank_comes_first(api: httpx.Client) -> None:
    found = fetch_all(api, "/api/search", {"q": "py"})
    ranks = [0 if item["codebase"].startswith("py") else 1 for item in found]
    assert ranks == sorted(ranks) and 0 in ranks and 1 in ranks


@pytest.mark.parametrize(
    "sort", [*SORTABLE, *(f"-{field}" for field in SORTABLE), "result_code,-finish_time",
             "-campaign,codebase", "campaign,-codebase"]
)  # fmt: skip
def test_search_sort(
    api: httpx.Client, model: Model, items: list[dict[str, Any]], sort: str
) -> None:
    data, _ = listing(api.get("/api/search", params={"sort": sort, "limit": 1000}))
    expected = expected_search(model, items, {"sort": sort})
    assert [(i["codebase"], i["campaign"]) for i in data] == [
        (i["codebase"], i["campaign"]) for i in expected
    ]


# Package names ---------------------------------------------------------------------------------


def expected_names(model: Model, params: Mapping[str, str]) -> list[str]:
    q = params.get("q") or params.get("search")
    names = [
        name
        for name, row in model.codebases.items()
        if (params.get("include_inactive") == "true" or not row["inactive"])
        and (q is None or contains(name, q))
    ]
    if "sort" in params:
        return sort_items(names, with_key(parse_sort(params["sort"]), ["name"]), {},
                          lambda name, _field: name)  # fmt: skip
    if q is not None:
        return sort_items(names, [("rank", False), ("name", False)], {}, rank(q))
    latest: dict[str, Any] = {}
    for run in model.runs.values():
        if run["finish_time"] is not None:
            latest[run["codebase"]] = max(
                run["finish_time"], latest.get(run["codebase"]) or run["finish_time"]
            )
    return sort_items(
        names,
        [("latest", True), ("name", False)],
        {},
        lambda name, field: latest.get(name) if field == "latest" else name,
    )


PKGNAMES: list[dict[str, str]] = [
    {},
    {"include_inactive": "true"},
    {"include_inactive": "false"},
    {"q": "python"},
    {"q": "Lib"},
    {"search": "perl"},
    {"q": "+"},
    {"q": "on"},
    {"q": "zzz"},
    {"q": "lib", "include_inactive": "true"},
    {"sort": "name"},
    {"sort": "-name"},
    {"sort": "name", "order": "desc", "include_inactive": "true"},
    {"q": "python", "sort": "-name"},
]


@pytest.mark.parametrize(
    "params", PKGNAMES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_pkgnames(api: httpx.Client, model: Model, params: dict[str, str]) -> None:
    query = dict(params)
    if query.get("order") == "desc":
        del query["order"]
        query["sort"] = "-" + query["sort"]
    assert fetch_all(api, "/api/pkgnames", params) == expected_names(model, query)


def test_pkgnames_default_limit(api: httpx.Client, model: Model) -> None:
    data, pagination = listing(api.get("/api/pkgnames", params={"q": "a"}))
    assert data == expected_names(model, {"q": "a"})[:50]
    assert pagination["limit"] == 50 and pagination["total"] > 50
    assert all(isinstance(name, str) for name in data)
