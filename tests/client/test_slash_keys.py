"""Keys containing ``/`` (contract §2.1, Revision 1.1), sync and async, over a live emulator.

A decoded path parameter with ``/`` never matches on a v1 server, so the client reaches such a
codebase or run through the list endpoint's exact-match parameter, and refuses before any
request the calls that have no such form. The demo data has no such key: this module's emulator
gets codebases, runs and a merge proposal with ``/`` in their keys, copied from demo rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from janitor_site_django import Page, exceptions
from janitor_site_django.testing import capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from janitor_site_emulator import schema as t

from .conftest import Both

pytestmark = pytest.mark.anyio

#: An active codebase, an inactive one, and one that does not exist.
SLASHED = "debian/python-slash"
RETIRED = "debian/retired-slash"
MISSING = "debian/no-such-codebase"
#: A campaign with "/", known from the run below.
CAMPAIGN = "team/lintian-fixes"
#: Runs of SLASHED: one whose id has "/" (campaign CAMPAIGN, it made the merge proposal), one
#: without (in a demo campaign, started earlier).
RUN_ID = "slash/run-1"
PLAIN_RUN_ID = "plain-run-of-a-slashed-codebase"
MP_URL = "https://salsa.debian.org/debian/python-slash/-/merge_requests/1"
REVISION = "5a5a5a5a5a5a5a5a"


@dataclasses.dataclass(frozen=True)
class SlashKeys:
    """What :func:`add_slash_keys` stored, and demo keys without "/" to compare with."""

    plain_codebase: str
    plain_run_id: str
    demo_campaign: str


def _lowered(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    """``row`` with its ``*_lower`` search columns recomputed (``str.lower()``, as seeded)."""
    return {
        **row,
        **{f"{c}_lower": row[c].lower() if row[c] is not None else None for c in columns},
    }


def one(conn: sa.Connection, query: Any, *, required: bool = True) -> dict[str, Any]:
    """The first row of ``query`` as a dict (``{}`` when none and not ``required``)."""
    row = conn.execute(query.limit(1)).mappings().first()
    assert row is not None or not required, f"no row for {query}"
    return dict(row or {})


def add_slash_keys(database_url: str) -> SlashKeys:
    """Store keys with "/" in an emulator's database, each row a copy of a demo row."""
    engine = t.create_engine(database_url)
    try:
        with engine.begin() as conn:
            active = sa.select(t.codebase.c.name).where(t.codebase.c.inactive.is_(False))
            mp = one(
                conn,
                sa.select(t.merge_proposal)
                .where(t.merge_proposal.c.codebase.in_(active))
                .order_by(t.merge_proposal.c.url),
            )
            codebase = one(conn, sa.select(t.codebase).where(t.codebase.c.name == mp["codebase"]))
            run = one(
                conn,
                sa.select(t.run)
                .where(t.run.c.codebase == codebase["name"], t.run.c.start_time.is_not(None))
                .order_by(t.run.c.id),
            )
            branch = one(
                conn,
                sa.select(t.new_result_branch).where(t.new_result_branch.c.run_id == run["id"]),
                required=False,
            )
            conn.execute(
                t.codebase.insert(),
                [
                    _lowered({**codebase, "name": SLASHED, "inactive": False}, "name", "url"),
                    _lowered({**codebase, "name": RETIRED, "inactive": True}, "name", "url"),
                ],
            )
            earlier = run["start_time"] - dt.timedelta(days=365)
            run_columns = ("id", "codebase", "description")
            conn.execute(
                t.run.insert(),
                [
                    _lowered(
                        {**run, "id": RUN_ID, "codebase": SLASHED, "suite": CAMPAIGN}, *run_columns
                    ),
                    _lowered(
                        {**run, "id": PLAIN_RUN_ID, "codebase": SLASHED, "start_time": earlier},
                        *run_columns,
                    ),
                ],
            )
            conn.execute(
                t.new_result_branch.insert(),
                {
                    **(branch or {"role": "main", "remote_name": "master", "absorbed": False}),
                    "run_id": RUN_ID,
                    "revision": REVISION,
                },
            )
            proposal = {**mp, "url": MP_URL, "codebase": SLASHED, "revision": REVISION}
            conn.execute(t.merge_proposal.insert(), _lowered(proposal, "url", "codebase"))
    finally:
        engine.dispose()
    return SlashKeys(codebase["name"], run["id"], run["suite"])


@pytest.fixture(scope="module")
def slash_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator of this module's own, its demo data plus the keys with "/"."""
    path: Path = tmp_path_factory.mktemp("slash-keys") / "emulator.sqlite3"
    with start_emulator(f"sqlite:///{path}") as server:
        yield server


@pytest.fixture(scope="module")
def keys(slash_emulator: EmulatorServer) -> SlashKeys:
    return add_slash_keys(slash_emulator.database_url)


@pytest.fixture
def api(make_client: Callable[..., Both], slash_emulator: EmulatorServer, keys: SlashKeys) -> Both:
    return make_client(base_url=slash_emulator.url, token=slash_emulator.tokens["admin"])


def wire(emulator: EmulatorServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(emulator.url + path, params=params)


def sent(calls: list[Any]) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    return [(call.method, call.path, call.params) for call in calls]


def dumped(items: Any) -> list[Any]:
    return [item.model_dump(mode="json") for item in items]


# The premise: the path form never finds them, the list form does ---------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/c/debian%2Fpython-slash",
        "/api/c/debian%2Fpython-slash/runs",
        "/api/c/debian%2Fpython-slash/merge-proposals",
        "/api/run/slash%2Frun-1",
        "/api/team%2Flintian-fixes/merge-proposals",
    ],
)
def test_the_path_form_of_a_slash_key_is_a_404_route(
    slash_emulator: EmulatorServer, keys: SlashKeys, path: str
) -> None:
    response = wire(slash_emulator, path)
    assert response.status_code == 404
    assert response.json()["details"]["resource"] == "route"


def test_the_list_form_finds_them(slash_emulator: EmulatorServer, keys: SlashKeys) -> None:
    def names(path: str, field: str, **params: Any) -> list[str]:
        response = wire(slash_emulator, path, **params)
        response.raise_for_status()
        return [item[field] for item in response.json()["data"]]

    assert names("/api/codebases", "name", name=SLASHED) == [SLASHED]
    assert names("/api/codebases", "name", name=RETIRED, include_inactive="true") == [RETIRED]
    assert names("/api/runs", "run_id", codebase=SLASHED) == [RUN_ID, PLAIN_RUN_ID]
    assert names("/api/runs", "run_id", run_id=RUN_ID) == [RUN_ID]
    assert names("/api/merge-proposals", "run_id", codebase=SLASHED) == [RUN_ID]
    assert names("/api/merge-proposals", "url", campaign=CAMPAIGN) == [MP_URL]
    assert names("/api/codebases", "name", q="python-slash") == [SLASHED]  # *_lower filled


# Details: the same model as the path form; a missing key is the path form's 404 -------------


async def test_get_codebase_with_a_slash(api: Both, slash_emulator: EmulatorServer) -> None:
    expected = wire(slash_emulator, "/api/codebases", name=SLASHED).json()["data"]
    with capture_api_calls() as calls:
        codebase = await api("get_codebase", SLASHED)
        retired = await api("get_codebase", RETIRED, include_inactive=True)
    assert dumped([codebase]) == expected
    assert (codebase.name, retired.name, retired.inactive) == (SLASHED, RETIRED, True)
    assert sent(calls) == [
        ("GET", "/api/codebases", (("name", SLASHED),)),
        ("GET", "/api/codebases", (("name", RETIRED), ("include_inactive", "true"))),
    ]


async def test_get_run_with_a_slash(api: Both, slash_emulator: EmulatorServer) -> None:
    expected = wire(slash_emulator, "/api/runs", run_id=RUN_ID).json()["data"]
    with capture_api_calls() as calls:
        run = await api("get_run", RUN_ID)
    assert dumped([run]) == expected
    assert (run.run_id, run.codebase, run.campaign) == (RUN_ID, SLASHED, CAMPAIGN)
    assert sent(calls) == [("GET", "/api/runs", (("run_id", RUN_ID),))]


async def test_the_detail_form_and_the_list_form_give_the_same_model(
    api: Both, keys: SlashKeys
) -> None:
    plain = await api("get_codebase", keys.plain_codebase)
    slashed = await api("get_codebase", SLASHED)
    assert type(plain) is type(slashed)
    assert dumped([plain]) == [{**dumped([slashed])[0], "name": keys.plain_codebase}]
    plain_run, slashed_run = await api("get_run", keys.plain_run_id), await api("get_run", RUN_ID)
    assert type(plain_run) is type(slashed_run)
    ignore = {"run_id", "codebase", "campaign", "suite", "result_branches"}
    assert {k: v for k, v in dumped([plain_run])[0].items() if k not in ignore} == {
        k: v for k, v in dumped([slashed_run])[0].items() if k not in ignore
    }


@pytest.mark.parametrize(
    ("method", "plain", "slashed", "extra"),
    [
        ("get_codebase", "no-such-codebase", MISSING, {}),
        ("get_codebase", "no-such-codebase", RETIRED, {}),  # inactive: 404 unless asked for
        ("get_codebase", "no-such-codebase", MISSING, {"include_inactive": True}),
        ("get_run", "no-such-run", "no/such-run", {}),
    ],
)
async def test_a_missing_slash_key_is_the_path_forms_404(
    api: Both, method: str, plain: str, slashed: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(exceptions.NotFound) as path_form:
        await api(method, plain, **extra)
    with capture_api_calls() as calls, pytest.raises(exceptions.NotFound) as list_form:
        await api(method, slashed, **extra)
    assert len(calls) == 1 and calls[0].path in ("/api/codebases", "/api/runs")
    expected, got = path_form.value, list_form.value
    assert (got.status, got.code) == (expected.status, expected.code) == (404, "not_found")
    assert got.details == {
        k: slashed if k != "resource" else v for k, v in expected.details.items()
    }
    assert got.reason == expected.reason.replace(repr(plain), repr(slashed))
    assert got.request_id and got.method == "GET" and got.path == calls[0].path
    assert slashed in str(got)


# Sub-lists: the list endpoint with the key first, the filters passed through ---------------


@pytest.mark.parametrize(
    ("method", "list_path", "key", "filters"),
    [
        ("list_codebase_runs", "/api/runs", "codebase", {}),
        ("list_codebase_runs", "/api/runs", "codebase", {"limit": 1, "offset": 1}),
        ("list_codebase_runs", "/api/runs", "codebase", {"campaign": CAMPAIGN, "limit": 5}),
        ("list_codebase_runs", "/api/runs", "codebase", {"sort": "start_time", "limit": 1}),
        ("list_codebase_runs", "/api/runs", "codebase", {"q": "plain-run", "page": 1}),
        ("list_codebase_merge_proposals", "/api/merge-proposals", "codebase", {}),
        ("list_codebase_merge_proposals", "/api/merge-proposals", "codebase", {"limit": 0}),
        ("list_codebase_merge_proposals", "/api/merge-proposals", "codebase",
         {"statuses": ["open", "merged", "closed", "applied", "abandoned", "rejected"]}),
    ],
)  # fmt: skip
async def test_codebase_lists_with_a_slash(
    api: Both, slash_emulator: EmulatorServer, method: str, list_path: str, key: str,
    filters: dict[str, Any],
) -> None:  # fmt: skip
    with capture_api_calls() as calls:
        page = await api(method, SLASHED, **filters)
    encoded = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in filters.items()}
    assert sent(calls) == [("GET", list_path, ((key, SLASHED), *sorted(encoded.items())))]
    expected = wire(slash_emulator, list_path, **{key: SLASHED}, **encoded).json()
    assert isinstance(page, Page)
    assert dumped(page.items) == expected["data"]
    info = expected["pagination"]
    assert (page.total, page.offset, page.limit, page.has_more) == (
        info["total"], info["offset"], info["limit"], info["has_more"],
    )  # fmt: skip


async def test_the_briefs_example(api: Both) -> None:
    with capture_api_calls() as calls:
        page = await api("list_codebase_runs", SLASHED, campaign=CAMPAIGN, limit=5)
    assert sent(calls) == [
        ("GET", "/api/runs", (("codebase", SLASHED), ("campaign", CAMPAIGN), ("limit", "5")))
    ]
    assert [run.run_id for run in page] == [RUN_ID]
    assert (page.total, page.limit, page.has_more) == (1, 5, False)


async def test_the_lists_of_a_slashed_codebase_hold_its_runs_and_proposals(api: Both) -> None:
    runs = await api("list_codebase_runs", SLASHED)
    assert [run.run_id for run in runs] == [RUN_ID, PLAIN_RUN_ID]  # -start_time, run_id
    proposals = await api("list_codebase_merge_proposals", SLASHED)
    assert [(mp.url, mp.run_id, mp.campaign) for mp in proposals] == [(MP_URL, RUN_ID, CAMPAIGN)]
    assert (await api("list_codebase_runs", MISSING)).total == 0  # v1's list: no parent 404


async def test_campaign_merge_proposals_with_a_slash(
    api: Both, slash_emulator: EmulatorServer
) -> None:
    with capture_api_calls() as calls:
        page = await api("list_merge_proposals", campaign=CAMPAIGN, codebase=SLASHED, limit=3)
        everything = await api("list_merge_proposals", CAMPAIGN)
    assert sent(calls) == [
        ("GET", "/api/merge-proposals",
         (("campaign", CAMPAIGN), ("codebase", SLASHED), ("limit", "3"))),
        ("GET", "/api/merge-proposals", (("campaign", CAMPAIGN),)),
    ]  # fmt: skip
    expected = wire(slash_emulator, "/api/merge-proposals", campaign=CAMPAIGN).json()["data"]
    assert dumped(page.items) == dumped(everything.items) == expected
    assert [mp.url for mp in page] == [MP_URL]


@pytest.mark.parametrize(
    ("method", "args", "filters"),
    [
        ("list_codebase_runs", (SLASHED,), {"codebase": "python-apt"}),
        ("list_codebase_runs", (SLASHED,), {"codebases": ["python-apt"]}),
        ("list_codebase_merge_proposals", (SLASHED,), {"codebase": "python-apt"}),
        ("list_codebase_merge_proposals", (SLASHED,), {"codebases": ["python-apt", SLASHED]}),
        ("list_merge_proposals", (CAMPAIGN,), {"suite": "lintian-fixes"}),
    ],
)
async def test_a_filter_naming_another_key_is_refused_as_on_the_path_form(
    api: Both, method: str, args: tuple[str, ...], filters: dict[str, Any]
) -> None:
    plain_args = tuple(arg.replace("/", "-") for arg in args)
    with capture_api_calls() as calls:
        with pytest.raises(TypeError) as path_form:
            await api(method, *plain_args, **filters)
        with pytest.raises(TypeError) as list_form:
            await api(method, *args, **filters)
    assert calls == []
    assert str(list_form.value) == str(path_form.value)
    assert next(iter(filters)) in str(list_form.value)


@pytest.mark.parametrize("value", ["", "a/\x00b"])
async def test_keys_are_still_checked(api: Both, value: str) -> None:
    with capture_api_calls() as calls:
        for method in ("get_codebase", "list_codebase_runs", "list_codebase_merge_proposals"):
            with pytest.raises(ValueError, match="name"):
                await api(method, value)
        with pytest.raises(ValueError, match="run_id"):
            await api("get_run", value)
        with pytest.raises(ValueError, match="campaign"):
            await api("list_merge_proposals", value)
    assert calls == []


# Keys without "/": the path, exactly as before ---------------------------------------------


async def test_keys_without_a_slash_keep_their_path(api: Both, keys: SlashKeys) -> None:
    name, run_id, campaign = keys.plain_codebase, keys.plain_run_id, keys.demo_campaign
    with capture_api_calls() as calls:
        await api("get_codebase", name)
        await api("get_codebase", name, include_inactive=True)
        await api("list_codebase_runs", name, campaign=campaign, limit=5)
        await api("list_codebase_merge_proposals", name)
        await api("get_run", run_id)
        await api("list_merge_proposals", campaign, limit=2)
        await api("list_ready_runs", campaign, limit=1)
        await api("get_campaign_codebase", campaign, name)
    assert sent(calls) == [
        ("GET", f"/api/c/{name}", ()),
        ("GET", f"/api/c/{name}", (("include_inactive", "true"),)),
        ("GET", f"/api/c/{name}/runs", (("campaign", campaign), ("limit", "5"))),
        ("GET", f"/api/c/{name}/merge-proposals", ()),
        ("GET", f"/api/run/{run_id}", ()),
        ("GET", f"/api/{campaign}/merge-proposals", (("limit", "2"),)),
        ("GET", f"/api/{campaign}/ready", (("limit", "1"),)),
        ("GET", f"/api/{campaign}/c/{name}", ()),
    ]
    assert all(call.status == 200 for call in calls)


# Calls with no list form: refused before any request --------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "parameter", "key", "route"),
    [
        ("update_run", (RUN_ID,), {"description": "x"}, "run_id", RUN_ID,
         "POST /api/run/{run_id}"),
        ("reschedule_run", (RUN_ID,), {}, "run_id", RUN_ID, "POST /api/run/{run_id}/reschedule"),
        ("publish", ("lintian-fixes", SLASHED), {"mode": "propose"}, "codebase", SLASHED,
         "POST /api/{campaign}/c/{codebase}/publish"),
        ("publish", (CAMPAIGN, "python-apt"), {}, "campaign", CAMPAIGN,
         "POST /api/{campaign}/c/{codebase}/publish"),
        ("get_run_diff", (RUN_ID,), {}, "run_id", RUN_ID, "GET /api/run/{run_id}/diff"),
        ("get_active_run", ("a/b",), {}, "run_id", "a/b", "GET /api/active-runs"),
        ("list_ready_runs", (CAMPAIGN,), {"limit": 1}, "campaign", CAMPAIGN,
         "GET /api/{campaign}/ready"),
        ("get_campaign_codebase", ("lintian-fixes", SLASHED), {}, "codebase", SLASHED,
         "GET /api/{campaign}/c/{codebase}"),
        ("get_campaign_codebase", (CAMPAIGN, "python-apt"), {}, "campaign", CAMPAIGN,
         "GET /api/{campaign}/c/{codebase}"),
    ],
)  # fmt: skip
async def test_calls_without_a_list_form_are_refused_before_any_request(
    make_client: Callable[..., Both], slash_emulator: EmulatorServer, method: str,
    args: tuple[str, ...], kwargs: dict[str, Any], parameter: str, key: str, route: str,
) -> None:  # fmt: skip
    api = make_client(base_url=slash_emulator.url, token=slash_emulator.tokens["admin"])
    with capture_api_calls() as calls, pytest.raises(exceptions.UnaddressableKey) as refused:
        await api(method, *args, **kwargs)
    assert calls == []  # not even the v1 probe of a POST
    message = str(refused.value)
    assert message.startswith(f"{method}(): {parameter} {key!r} contains '/'")
    assert "§2.1" in message and route in message and "no request was sent" in message
    assert isinstance(refused.value, exceptions.JanitorSiteError)
