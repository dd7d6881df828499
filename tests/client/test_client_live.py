"""Every client method, sync and async, against the live emulator over HTTP.

Expected values come from raw ``httpx`` requests to the same emulator, so the client is checked
against the wire, not against itself.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import httpx
import pytest

from janitor_site_django import Page, SiteClient, exceptions, schemas
from janitor_site_django.conf import SiteConfig
from janitor_site_django.testing.emulator import EmulatorServer

from .conftest import Both

pytestmark = pytest.mark.anyio


def raw(emulator: EmulatorServer, path: str, **params: Any) -> Any:
    response = httpx.get(emulator.url + path, params=params)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def a_codebase(janitor_emulator: EmulatorServer) -> str:
    """A codebase with runs and merge proposals in the demo data."""
    name: str = raw(janitor_emulator, "/api/merge-proposals", limit=1)["data"][0]["codebase"]
    return name


def dumped(items: Any) -> Any:
    return [item.model_dump(mode="json") for item in items]


@pytest.mark.parametrize(
    ("method", "args", "path", "params"),
    [
        ("list_codebases", (), "/api/codebases", {"limit": 7, "sort": "-value"}),
        ("list_runs", (), "/api/runs", {"limit": 5, "result_codes": ["success", "nothing-to-do"]}),
        ("list_codebase_runs", ("{codebase}",), "/api/c/{codebase}/runs", {"limit": 4}),
        ("list_codebase_merge_proposals", ("{codebase}",), "/api/c/{codebase}/merge-proposals", {}),
        (
            "list_merge_proposals",
            (),
            "/api/merge-proposals",
            {"limit": 6, "statuses": ["open", "merged"]},
        ),
        ("list_queue_items", (), "/api/queue/items", {"limit": 5, "offset": 10}),
        ("list_active_runs", (), "/api/active-runs", {"sort": "-current_duration"}),
        ("list_ready_runs", ("lintian-fixes",), "/api/lintian-fixes/ready", {"limit": 3}),
        ("search", ("py",), "/api/search", {"limit": 5}),
    ],
)
async def test_list_methods_return_the_wire_page(
    api: Both, janitor_emulator: EmulatorServer, method: str, args: tuple[str, ...],
    path: str, params: dict[str, Any], a_codebase: str,
) -> None:  # fmt: skip
    args = tuple(arg.format(codebase=a_codebase) for arg in args)
    path = path.format(codebase=a_codebase)
    page = await api(method, *args, **params)
    wire_params = {k: ",".join(v) if isinstance(v, list) else v for k, v in params.items()}
    if method == "search":
        wire_params["q"] = args[0]
    expected = raw(janitor_emulator, path, **wire_params)
    assert isinstance(page, Page)
    assert (page.total, page.offset, page.limit, page.has_more) == tuple(
        expected["pagination"][key] for key in ("total", "offset", "limit", "has_more")
    )
    items = dumped(page.items)
    if method == "list_active_runs":  # current_duration grows between the two requests
        for item in items + expected["data"]:
            item.pop("current_duration")
    assert items == expected["data"]
    assert page.stale is False


async def test_string_lists(api: Both, janitor_emulator: EmulatorServer) -> None:
    pkgnames = await api("list_pkgnames", q="lib", limit=10)
    assert pkgnames.items == raw(janitor_emulator, "/api/pkgnames", q="lib", limit=10)["data"]
    templates = await api("list_templates")
    assert templates.items == raw(janitor_emulator, "/api/templates")["data"]
    assert "layout.html" in templates.items


async def test_single_objects(api: Both, janitor_emulator: EmulatorServer, a_codebase: str) -> None:
    run_id = raw(janitor_emulator, "/api/runs", limit=1)["data"][0]["run_id"]
    run = await api("get_run", run_id)
    assert isinstance(run, schemas.Run)
    assert run.model_dump(mode="json") == raw(janitor_emulator, f"/api/run/{run_id}")["data"]
    codebase = await api("get_codebase", a_codebase)
    assert codebase.model_dump(mode="json") == raw(janitor_emulator, f"/api/c/{a_codebase}")["data"]
    ready = raw(janitor_emulator, "/api/lintian-fixes/ready", limit=1)["data"][0]
    detail = await api("get_campaign_codebase", "lintian-fixes", ready["codebase"])
    assert detail.last_run is not None and detail.campaign == "lintian-fixes"
    active = raw(janitor_emulator, "/api/active-runs", limit=1)["data"][0]
    assert (await api("get_active_run", active["run_id"])).codebase == active["codebase"]
    stats = await api("get_queue_status")
    assert (
        stats.queue.pending_candidates
        == raw(janitor_emulator, "/api/queue")["data"]["queue"]["pending_candidates"]
    )
    assert (await api("health")).status == "healthy"
    assert (await api("status")).api_version == "1"
    user = await api("get_user")
    assert (user.preferred_username, user.is_admin) == ("alice", True)


async def test_iteration_pages_through_everything(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    config = SiteConfig(url=janitor_emulator.url, page_size=40)
    api = make_client(config=config)
    expected = raw(janitor_emulator, "/api/runs", campaign="debianize", limit=1000)
    runs = await api.collect("iter_runs", campaign="debianize")
    assert [run.run_id for run in runs] == [run["run_id"] for run in expected["data"]]
    assert len(runs) == expected["pagination"]["total"] > 40
    window = await api.collect("iter_runs", campaign="debianize", offset=5, limit=50)
    assert [run.run_id for run in window] == [run["run_id"] for run in expected["data"][5:55]]
    codebases = await api.collect("iter_codebases", vcs_type="git")
    assert (
        len(codebases)
        == raw(janitor_emulator, "/api/codebases", vcs_type="git", limit=0)["pagination"]["total"]
    )


async def test_diff_is_bytes_passed_through(api: Both, janitor_emulator: EmulatorServer) -> None:
    for run in raw(janitor_emulator, "/api/runs", success_only="true", limit=200)["data"]:
        response = httpx.get(f"{janitor_emulator.url}/api/run/{run['run_id']}/diff")
        if response.status_code == 200:
            assert await api("get_run_diff", run["run_id"]) == response.content
            return
    pytest.fail("no run with a diff in the demo data")


async def test_exports_stream_csv_and_json(api: Both, janitor_emulator: EmulatorServer) -> None:
    body = b"".join(
        await api.collect("export", "runs", format="csv", campaign="debianize", limit=30)
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    expected = raw(janitor_emulator, "/api/runs", campaign="debianize", limit=30)["data"]
    assert [row["run_id"] for row in rows] == [run["run_id"] for run in expected]
    body = b"".join(await api.collect("export", "codebases", format="json", sort="-name", limit=5))
    assert (
        json.loads(body) == raw(janitor_emulator, "/api/codebases", sort="-name", limit=5)["data"]
    )


async def test_an_exports_deadline_leaves_out_the_time_its_consumer_takes(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    options = {"base_url": janitor_emulator.url, "token": janitor_emulator.tokens["admin"]}
    whole = b"".join(await make_client(**options).collect("export", "runs", limit=200))
    client = make_client(**options, timeout=1.0).client
    chunks: list[bytes] = []
    if isinstance(client, SiteClient):

        def consume() -> None:
            for chunk in client.export("runs", limit=200):
                chunks.append(chunk)
                time.sleep(2.5 if len(chunks) == 1 else 0)  # past the deadline, not waiting

        await anyio.to_thread.run_sync(consume)
    else:
        async for chunk in client.export("runs", limit=200):
            chunks.append(chunk)
            await asyncio.sleep(2.5 if len(chunks) == 1 else 0)
    assert b"".join(chunks) == whole


async def test_renders(api: Both) -> None:
    html = await api("render_template", "generic/start.html", {"campaign": "lintian-fixes"})
    assert "lintian-fixes" in html
    results = await api("render_templates", [("layout.html", {}), ("nope.html", {})])
    assert isinstance(results[0], schemas.RenderedItem) and "<html" in results[0].html
    assert isinstance(results[1], schemas.RenderError) and results[1].error == "template_not_found"
    with pytest.raises(exceptions.ValidationFailed) as failure:
        await api("render_template", "run.html", {})
    assert failure.value.code == "template_render_error"
    assert failure.value.details["template"] == "run.html"


@pytest.mark.parametrize("name", ["with space", "ünïcode+1", "..", ".", "50%", "x?y#z"])
async def test_path_parameters_round_trip(api: Both, name: str) -> None:
    # Keys with "/" never take the path (contract 1.1 §2.1): tests/client/test_slash_keys.py
    with pytest.raises(exceptions.NotFound) as failure:
        await api("list_codebase_runs", name)
    assert failure.value.details == {"resource": "codebase", "codebase": name}


async def test_error_mapping(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    anonymous = make_client(base_url=janitor_emulator.url)
    with pytest.raises(exceptions.Unauthorized) as unauthorized:
        await anonymous("get_user")
    assert unauthorized.value.code == "unauthorized" and unauthorized.value.request_id
    bad_token = make_client(base_url=janitor_emulator.url, token="not-a-valid-token")
    with pytest.raises(exceptions.Unauthorized) as invalid:
        await bad_token("list_codebases", limit=1)
    assert invalid.value.code == "invalid_token"
    plain_user = make_client(base_url=janitor_emulator.url, token=janitor_emulator.tokens["user"])
    run_id = raw(janitor_emulator, "/api/runs", limit=1)["data"][0]["run_id"]
    with pytest.raises(exceptions.Forbidden) as forbidden:
        await plain_user("update_run", run_id, description="x")
    assert forbidden.value.details == {"required_role": "QaReviewer"}
    with pytest.raises(exceptions.BadRequest) as bad:
        await anonymous("list_runs", page=2**62, limit=1000)
    assert bad.value.details["parameter"] == "page"
    with pytest.raises(exceptions.NotFound):
        await anonymous("list_ready_runs", "no-such-campaign")


@pytest.mark.parametrize(
    ("method", "kwargs", "error"),
    [
        ("list_runs", {"limit": -1}, ValueError),
        ("list_runs", {"run_ids": []}, ValueError),
        ("list_runs", {"run_ids": ["a,b"]}, ValueError),
        ("list_runs", {"sort": "-name"}, ValueError),
        ("list_runs", {"success_only": "yes"}, ValueError),
        ("list_runs", {"vcs_type": "cvsx"}, ValueError),
        ("list_runs", {"nonsense": 1}, TypeError),
        ("list_codebases", {"min_success_chance": 2}, ValueError),
        ("list_queue_items", {"ids": [1, "2"]}, ValueError),
        ("publish", {"campaign": "c", "codebase": "x", "mode": "skip"}, ValueError),
        ("get_run", {"run_id": ""}, ValueError),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    make_client: Callable[..., Both], method: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    api = make_client(base_url="http://127.0.0.1:9")  # nothing listens: any I/O would fail
    with pytest.raises(error):
        await api(method, **kwargs)


async def test_writes(make_client: Callable[..., Both], writable_emulator: EmulatorServer) -> None:
    api = make_client(base_url=writable_emulator.url, token=writable_emulator.tokens["admin"])
    held = {
        (item["codebase"], item["campaign"])
        for item in raw(
            writable_emulator, "/api/queue/items", bucket="update-existing-mp", limit=1000
        )["data"]
    }  # such queue rows are left as they are by a reschedule
    failed = [
        run
        for run in raw(writable_emulator, "/api/runs", result_code="build-failed", limit=50)["data"]
        if (run["codebase"], run["campaign"]) not in held
    ]
    run_id = failed[0]["run_id"] if api.kind == "sync" else failed[1]["run_id"]
    updated = await api("update_run", run_id, description="Reviewed by the client test")
    assert updated.description == "Reviewed by the client test"
    assert (
        raw(writable_emulator, f"/api/run/{run_id}")["data"]["description"] == updated.description
    )
    scheduled = await api("reschedule_run", run_id, offset=-5, refresh=True, requester="tests")
    assert (scheduled.bucket, scheduled.refresh, scheduled.requester) == ("manual", True, "tests")
    success = raw(writable_emulator, "/api/runs", result_code="success", limit=1)["data"][0]
    with pytest.raises(exceptions.Conflict) as conflict:
        await api("reschedule_run", success["run_id"])
    assert conflict.value.code == "cannot_reschedule_success"
    ready = raw(writable_emulator, "/api/fresh-releases/ready", limit=2)["data"]
    pick = ready[0] if api.kind == "sync" else ready[1]
    published = await api("publish", "fresh-releases", pick["codebase"], mode="propose")
    assert published.status in ("initiated", "nothing_to_do")
    assert published.mode == "propose"
