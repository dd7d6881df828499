"""Helpers of the functional API tests (``test_api_*.py``), independent of the emulator's SQL.

* response checks: the v1 envelope, compact JSON, error bodies, list pagination (§2.2–2.5);
* the contract's ordering rules in Python (§2.6): code point order, nulls last both ways,
  enum declaration order, the primary key appended;
* :class:`Model`: the emulator's database read with plain ``SELECT *``, and the v1 objects and
  derived lists (ready lists, queue positions, search items...) computed from it in Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from janitor_site_emulator import schema
from tests.conftest import POSTGRESQL_URL, _postgresql_error

JSON_TYPE = "application/json"
PAGINATION_KEYS = ["total", "offset", "limit", "has_more"]

#: §4.8, declaration order = sort order.
ENUMS: dict[str, tuple[str, ...]] = {
    "VcsType": ("bzr", "git", "svn", "mtn", "hg", "arch", "cvs", "darcs"),
    "MergeProposalStatus": ("open", "closed", "merged", "applied", "abandoned", "rejected"),
    "PublishStatus": (
        "unknown", "blocked", "needs-manual-review", "rejected", "approved", "ignored",
    ),
    "PublishMode": ("push", "attempt-push", "propose", "build-only", "push-derived", "skip", "bts"),
    "QueueBucket": (
        "update-existing-mp", "manual", "control", "hook", "reschedule", "update-new-mp",
        "missing-deps", "default",
    ),
    "ChangeSetState": ("created", "working", "ready", "publishing", "done"),
}  # fmt: skip
READY_MODES = ("propose", "attempt-push", "push-derived", "push")
RESERVED = (
    "active-runs", "admin", "c", "codebases", "export", "health", "merge-proposals", "pkgnames",
    "queue", "run", "runner", "runs", "search", "status", "templates", "user",
)  # fmt: skip

# Responses -----------------------------------------------------------------------------------


def compact(value: Any) -> bytes:
    """§2.2 JSON: compact, UTF-8, non-ASCII unescaped, keys in the given order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, after checking its media type and compact encoding."""
    assert response.headers["content-type"] == JSON_TYPE, response.text[:300]
    body = response.json()
    assert response.content == compact(body)
    assert response.headers.get("x-request-id")
    return body


def ok(response: httpx.Response, status: int = 200) -> Any:
    """``data`` of a non-list success envelope."""
    assert response.status_code == status, response.text[:500]
    body = json_body(response)
    assert list(body) == ["data"]
    return body["data"]


def listing(response: httpx.Response) -> tuple[list[Any], dict[str, Any]]:
    """``data`` and ``pagination`` of a list answer, checked against §2.5."""
    assert response.status_code == 200, response.text[:500]
    body = json_body(response)
    assert list(body) == ["data", "pagination"]
    data, pagination = body["data"], body["pagination"]
    assert isinstance(data, list)
    assert list(pagination) == PAGINATION_KEYS
    assert pagination["has_more"] is (pagination["offset"] + len(data) < pagination["total"])
    assert len(data) <= pagination["limit"]
    return data, pagination


def error(
    response: httpx.Response, status: int, code: str, details: Any = ..., **headers: str
) -> dict[str, Any]:
    """Check an error envelope (§2.3); ``details`` ``...`` = not checked, ``None`` = absent."""
    assert response.status_code == status, response.text[:500]
    body = json_body(response)
    keys = ["error", "reason"] if details is None else ["error", "reason", "details"]
    if details is ...:
        keys = ["error", "reason", "details"][: len(body)]
    assert list(body) == keys
    assert body["error"] == code
    assert isinstance(body["reason"], str) and body["reason"]
    if details is not ... and details is not None:
        assert body["details"] == details
    for name, value in headers.items():
        assert response.headers[name.replace("_", "-")] == value
    assert "etag" not in response.headers
    return body


def invalid_parameter(response: httpx.Response, parameter: str, value: Any) -> dict[str, Any]:
    """A 400 ``invalid_parameter`` naming ``parameter`` and its raw ``value``."""
    body = error(response, 400, "invalid_parameter")
    details = body["details"]
    assert list(details) == ["parameter", "value", "expected"]
    assert details["parameter"] == parameter
    assert details["value"] == value
    assert isinstance(details["expected"], str) and details["expected"]
    return details


def same(actual: Any, expected: Any) -> None:
    """Equal values with keys in the same order (compared as the server's compact JSON)."""
    assert actual == expected
    assert compact(actual) == compact(expected)


def fetch_all(
    client: httpx.Client, path: str, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """Every item of a list endpoint, paging with ``limit=1000``."""
    items: list[Any] = []
    while True:
        query = {**(params or {}), "limit": 1000, "offset": len(items)}
        data, pagination = listing(client.get(path, params=query))
        items += data
        if not pagination["has_more"]:
            assert len(items) == pagination["total"]
            return items


def total(client: httpx.Client, path: str, params: Mapping[str, Any] | None = None) -> int:
    """The ``total`` of a count-only (``limit=0``) query; ``path`` may hold a raw query."""
    if "?" in path:
        assert params is None
        response = client.get(path + "&limit=0")
    else:
        response = client.get(path, params={**(params or {}), "limit": 0})
    data, pagination = listing(response)
    assert data == []
    return int(pagination["total"])


# Ordering (§2.6) ----------------------------------------------------------------------------


def parse_ts(text: str) -> dt.datetime:
    """An aware datetime of an RFC 3339 timestamp or full-date (midnight UTC)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def naive_utc(text: str) -> dt.datetime:
    """A timestamp parameter as the database holds it: naive UTC."""
    return parse_ts(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _sortable(kind: Any, value: Any) -> Any:
    if kind == "ts":
        return parse_ts(value)
    if isinstance(kind, tuple):
        return kind.index(value)
    return value


def sort_items(
    items: Iterable[Any],
    keys: Sequence[tuple[str, bool]],
    kinds: Mapping[str, Any],
    get: Callable[[Any, str], Any] = lambda item, field: item[field],
) -> list[Any]:
    """``items`` in the order of ``keys`` (field, descending): nulls last in both directions.

    ``kinds`` maps fields to ``"ts"`` (RFC 3339 strings), an enum's values (declaration order)
    or anything else (compared as Python values: code point order for strings, false < true).
    """

    def compare(a: Any, b: Any) -> int:
        for field, descending in keys:
            x, y = get(a, field), get(b, field)
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1
            x, y = _sortable(kinds.get(field), x), _sortable(kinds.get(field), y)
            if x != y:
                return (1 if x > y else -1) * (-1 if descending else 1)
        return 0

    return sorted(items, key=functools.cmp_to_key(compare))


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    return [(f.removeprefix("-"), f.startswith("-")) for f in sort.split(",")]


def with_key(keys: list[tuple[str, bool]], key: Sequence[str]) -> list[tuple[str, bool]]:
    named = {field for field, _ in keys}
    return keys + [(field, False) for field in key if field not in named]


# Values (§2.8) -------------------------------------------------------------------------------


def ts(value: dt.datetime | None) -> str | None:
    """§2.8 timestamp of a naive UTC datetime."""
    if value is None:
        return None
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{value.microsecond:06d}Z" if value.microsecond else "Z")


def contains(haystack: str | None, q: str) -> bool:
    """§2.7 ``q`` matching of one field."""
    return haystack is not None and q.lower() in haystack.lower()


def _json_text(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# Queue (§4.4) --------------------------------------------------------------------------------


def queue_items(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """QueueItems of ``queue`` rows in queue order, with position and wait time (view
    queue_positions)."""
    buckets = ENUMS["QueueBucket"]
    ordered = sorted(rows, key=lambda q: (buckets.index(q["bucket"]), q["priority"], q["id"]))
    items, running = [], None
    for position, row in enumerate(ordered, 1):
        estimated = row["estimated_duration"]
        if estimated is not None:
            running = estimated if running is None else running + estimated
        items.append(
            {
                "id": row["id"],
                "position": position,
                "bucket": row["bucket"],
                "codebase": row["codebase"],
                "campaign": row["suite"],
                "suite": row["suite"],
                "command": row["command"],
                "priority": row["priority"],
                "context": row["context"],
                "estimated_duration": estimated,
                "wait_time": None if running is None else running - (estimated or 0.0),
                "refresh": bool(row["refresh"]),
                "requester": row["requester"],
                "change_set": row["change_set"],
                "branch_url": row["branch_url"],
            }
        )
    return items


# The database as a Python model ----------------------------------------------------------------


@dataclasses.dataclass
class Model:
    """Every row the API exposes, as dicts, plus the v1 views derived from them in Python."""

    campaigns: dict[str, dict[str, Any]]
    codebases: dict[str, dict[str, Any]]
    change_sets: dict[str, dict[str, Any]]
    runs: dict[str, dict[str, Any]]
    branches: dict[str, list[dict[str, Any]]]
    last_runs: dict[tuple[str, str], dict[str, Any]]
    policies: dict[str, dict[str, Any]]
    rules: dict[tuple[str, str], dict[str, Any]]
    candidates: list[dict[str, Any]]
    merge_proposals: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    active_runs: list[dict[str, Any]]
    diffs: dict[tuple[str, str], dict[str, Any]]

    # Codebases and runs --------------------------------------------------------------------

    def codebase_json(self, name: str) -> dict[str, Any]:
        row = self.codebases[name]
        return {
            "name": row["name"],
            "url": row["url"],
            "branch": row["branch"],
            "branch_url": row["branch_url"],
            "subpath": row["subpath"],
            "vcs_type": row["vcs_type"],
            "vcs_last_revision": row["vcs_last_revision"],
            "last_scanned": ts(row["last_scanned"]),
            "web_url": row["web_url"],
            "value": row["value"],
            "inactive": bool(row["inactive"]),
            "hostname": row["hostname"],
        }

    def run_json(self, run_id: str) -> dict[str, Any]:
        row = self.runs[run_id]
        start, finish = row["start_time"], row["finish_time"]
        duration = (finish - start).total_seconds() if start and finish else None
        tags = _json_text(row["result_tags"]) or []
        return {
            "run_id": row["id"],
            "codebase": row["codebase"],
            "campaign": row["suite"],
            "suite": row["suite"],
            "command": row["command"],
            "description": row["description"],
            "result_code": row["result_code"],
            "failure_stage": row["failure_stage"],
            "failure_details": _json_text(row["failure_details"]),
            "failure_transient": row["failure_transient"],
            "start_time": ts(start),
            "finish_time": ts(finish),
            "duration": duration,
            "main_branch_revision": row["main_branch_revision"],
            "revision": row["revision"],
            "context": row["context"],
            "instigated_context": row["instigated_context"],
            "result": _json_text(row["result"]),
            "vcs_type": row["vcs_type"],
            "branch_url": row["branch_url"],
            "subpath": row["subpath"],
            "target_branch_url": row["target_branch_url"],
            "logfilenames": _json_text(row["logfilenames"]),
            "publish_status": row["publish_status"],
            "value": row["value"],
            "worker_name": row["worker"],
            "worker_link": row["worker_link"],
            "change_set": row["change_set"],
            "resume_from": row["resume_from"],
            "result_branches": [
                {
                    "role": b["role"],
                    "name": b["remote_name"],
                    "base_revision": b["base_revision"],
                    "revision": b["revision"],
                    "absorbed": bool(b["absorbed"]),
                }
                for b in sorted(self.branches.get(run_id, []), key=lambda b: b["role"])
            ],
            "result_tags": [{"name": tag["name"], "revision": tag["revision"]} for tag in tags],
        }

    def chosen(self, rows: Iterable[dict[str, Any]], codebase: str, campaign: str) -> dict | None:
        """§4.6 "the candidate" / "the queue item" of a pair."""
        pair = [r for r in rows if r["codebase"] == codebase and r["suite"] == campaign]
        pair.sort(key=lambda r: (r["change_set"] is not None, r["id"]))
        return pair[0] if pair else None

    def candidate(self, codebase: str, campaign: str) -> dict[str, Any] | None:
        return self.chosen(self.candidates, codebase, campaign)

    def known_campaigns(self) -> set[str]:
        """§5.4: campaigns of candidates, the queue, runs or the configuration."""
        return (
            {c["suite"] for c in self.candidates}
            | {q["suite"] for q in self.queue}
            | {r["suite"] for r in self.runs.values()}
            | set(self.campaigns)
        )

    # Merge proposals (§4.3) --------------------------------------------------------------------

    @functools.cached_property
    def runs_by_revision(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for run_id, branches in self.branches.items():
            for branch in branches:
                if branch["revision"] is not None:
                    found[branch["revision"]].add(run_id)
        return found

    def mp_run(self, revision: str | None) -> dict[str, Any] | None:
        """The MP's run: latest ``finish_time`` (NULL last), ties to the greatest id."""
        if revision is None:
            return None
        runs = [self.runs[run_id] for run_id in self.runs_by_revision.get(revision, ())]
        if not runs:
            return None
        finished = [r for r in runs if r["finish_time"] is not None] or runs
        return max(finished, key=lambda r: (r["finish_time"] or dt.datetime.min, r["id"]))

    def mp_json(self, row: dict[str, Any]) -> dict[str, Any]:
        run = self.mp_run(row["revision"])
        return {
            "url": row["url"],
            "status": row["status"],
            "codebase": row["codebase"],
            "campaign": run["suite"] if run else None,
            "run_id": run["id"] if run else None,
            "target_branch_url": row["target_branch_url"],
            "revision": row["revision"],
            "merged_by": row["merged_by"],
            "merged_at": ts(row["merged_at"]),
            "last_scanned": ts(row["last_scanned"]),
            "can_be_merged": row["can_be_merged"],
            "rate_limit_bucket": row["rate_limit_bucket"],
        }

    # Queue (§4.4) ---------------------------------------------------------------------------

    def queue_items(self) -> list[dict[str, Any]]:
        return queue_items(self.queue)

    # Ready lists (§4.6) ---------------------------------------------------------------------

    def ready_list(self, campaign: str) -> list[dict[str, Any]]:
        """ReadyRun objects of the campaign's ready list (unordered)."""
        mp_revisions = {mp["revision"] for mp in self.merge_proposals if mp["revision"] is not None}
        ready = []
        for (codebase, suite), last in self.last_runs.items():
            run = self.runs.get(last["last_effective_run_id"] or "")
            if suite != campaign or run is None or run["result_code"] != "success":
                continue
            candidate = self.candidate(codebase, suite)
            policy = self.policies.get(candidate["publish_policy"] or "") if candidate else None
            if candidate is None or policy is None:
                continue
            unpublished = [b for b in self.branches.get(run["id"], []) if not b["absorbed"]]
            unpublished.sort(key=lambda b: (b["role"] == "main", b["role"]))
            branches = []
            for branch in unpublished:
                rule = self.rules.get((policy["name"], branch["role"]))
                branches.append(
                    {
                        "role": branch["role"],
                        "name": branch["remote_name"],
                        "base_revision": branch["base_revision"],
                        "revision": branch["revision"],
                        "mode": rule["mode"] if rule else None,
                        "frequency_days": rule["frequency_days"] if rule else None,
                    }
                )
            if not any(
                b["mode"] in READY_MODES
                and (b["revision"] is None or b["revision"] not in mp_revisions)
                for b in branches
            ):
                continue
            change_set = self.change_sets.get(run["change_set"])
            ready.append(
                {
                    **self.run_json(run["id"]),
                    "publish_policy": policy["name"],
                    "rate_limit_bucket": policy["rate_limit_bucket"],
                    "policy_command": candidate["command"],
                    "change_set_state": change_set["state"] if change_set else "created",
                    "unpublished_branches": branches,
                }
            )
        return ready

    @functools.cached_property
    def publishable(self) -> set[tuple[str, str]]:
        """(codebase, campaign) pairs where the codebase is publishable (§4.6)."""
        campaigns = {suite for _, suite in self.last_runs}
        return {(r["codebase"], c) for c in campaigns for r in self.ready_list(c)}

    @functools.cached_property
    def ready_run_ids(self) -> set[str]:
        campaigns = {suite for _, suite in self.last_runs}
        return {r["run_id"] for c in campaigns for r in self.ready_list(c)}

    # Search (§4.7) --------------------------------------------------------------------------

    def search_items(self) -> list[dict[str, Any]]:
        items = []
        for name, codebase in self.codebases.items():
            if codebase["inactive"]:
                continue
            lasts = [last for (cb, _), last in self.last_runs.items() if cb == name]
            for last in lasts:
                run = self.runs.get(last["last_run_id"] or "")
                items.append(
                    {
                        "codebase": name,
                        "campaign": last["suite"],
                        "vcs_url": codebase["url"],
                        "result_code": run["result_code"] if run else None,
                        "finish_time": ts(run["finish_time"]) if run else None,
                        "last_run_id": run["id"] if run else None,
                    }
                )
            if not lasts:
                items.append(
                    {
                        "codebase": name,
                        "campaign": None,
                        "vcs_url": codebase["url"],
                        "result_code": None,
                        "finish_time": None,
                        "last_run_id": None,
                    }
                )
        return items


def load_model(database_url: str) -> Model:
    """Read the emulator's database with plain ``SELECT *`` of every table."""
    engine = schema.create_engine(database_url)
    try:
        with engine.connect() as conn:

            def rows(table: sa.Table) -> list[dict[str, Any]]:
                return [dict(row._mapping) for row in conn.execute(sa.select(table))]

            branches: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in rows(schema.new_result_branch):
                branches[row["run_id"]].append(row)
            return Model(
                campaigns={r["name"]: r for r in rows(schema.campaign)},
                codebases={r["name"]: r for r in rows(schema.codebase) if r["name"] is not None},
                change_sets={r["id"]: r for r in rows(schema.change_set)},
                runs={r["id"]: r for r in rows(schema.run)},
                branches=dict(branches),
                last_runs={(r["codebase"], r["suite"]): r for r in rows(schema.last_run)},
                policies={r["name"]: r for r in rows(schema.named_publish_policy)},
                rules={(r["policy_name"], r["role"]): r for r in rows(schema.publish_policy_rule)},
                candidates=rows(schema.candidate),
                merge_proposals=rows(schema.merge_proposal),
                queue=rows(schema.queue),
                active_runs=rows(schema.active_run),
                diffs={(r["codebase"], r["revision"]): r for r in rows(schema.vcs_diff)},
            )
    finally:
        engine.dispose()


_MODELS: dict[str, Model] = {}


def pristine_model(server: EmulatorServer) -> Model:
    """The model of a read-only (session) emulator, loaded once."""
    if server.database_url not in _MODELS:
        _MODELS[server.database_url] = load_model(server.database_url)
    return _MODELS[server.database_url]


# Emulators of one test module -----------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database URL on ``backend`` (skips when PostgreSQL is unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'emulator.sqlite3'}"
        return
    reason = _postgresql_error()
    if reason is not None:
        pytest.skip(reason)
    import psycopg

    name = f"jsd_api_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRESQL_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRESQL_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRESQL_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def own_emulator(
    backend: str, directory: Path, extra_args: Sequence[str] = (), seed: str = "demo"
) -> Iterator[EmulatorServer]:
    """An emulator of one test module, on its own database, seeded with the demo data."""
    with (
        scratch_database(backend, directory) as url,
        start_emulator(url, seed=seed, extra_args=extra_args) as server,
    ):
        yield server


@contextlib.contextmanager
def client_for(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An HTTP client on ``server``; modules share one (creating a client costs ~30 ms)."""
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


def bearer(server: EmulatorServer, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.tokens[who]}"}
