"""The emulator's demo data: determinism, sizes, and the invariants the API relies on."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from janitor_site_emulator import schema, seed
from janitor_site_emulator.seed.campaigns import CAMPAIGNS
from janitor_site_emulator.seed.draw import REFERENCE_TIME
from janitor_site_emulator.seed.runs import FAILURES

Data = dict[str, list[dict[str, Any]]]

POSTGRESQL_URL = os.environ.get(
    "JANITOR_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9+.-]+")
READY_LIST = sa.text(
    """
    SELECT DISTINCT r.suite, r.id
    FROM last_run lr
    JOIN run r ON r.id = lr.last_effective_run_id
    JOIN candidate c ON c.codebase = r.codebase AND c.suite = r.suite
    JOIN named_publish_policy p ON p.name = c.publish_policy
    JOIN change_set cs ON cs.id = r.change_set
    JOIN new_result_branch b ON b.run_id = r.id AND b.absorbed IS NOT TRUE
    JOIN publish_policy_rule pr ON pr.policy_name = p.name AND pr.role = b.role
    WHERE r.result_code = 'success'
      AND pr.mode IN ('propose', 'attempt-push', 'push-derived', 'push')
      AND NOT EXISTS (SELECT 1 FROM merge_proposal mp WHERE mp.revision = b.revision)
    """
)


def seeded_engine(path: Path, **kwargs: Any) -> tuple[Engine, seed.SeedSummary]:
    engine = schema.create_engine(f"sqlite:///{path}")
    schema.create_schema(engine)
    return engine, seed.seed(engine, **kwargs)


def load(engine: Engine) -> Data:
    """Every table's rows, ordered by primary key (all columns for tables without one)."""
    data = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(sa.select(table).order_by(*order))
            data[table.name] = [dict(row._mapping) for row in rows]
    return data


def ready_list(engine: Engine) -> dict[str, set[str]]:
    """Campaign -> ids of the runs on its ready list (API contract §4.6)."""
    ready: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        for suite, run_id in conn.execute(READY_LIST):
            ready[suite].add(run_id)
    return ready


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, seed.SeedSummary, Data]:
    engine, summary = seeded_engine(tmp_path_factory.mktemp("seed") / "demo.sqlite3")
    return engine, summary, load(engine)


@pytest.fixture(scope="module")
def data(demo: tuple[Engine, seed.SeedSummary, Data]) -> Data:
    return demo[2]


def is_compact_json(text: str) -> bool:
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False) == text


def latest(runs: list[dict[str, Any]]) -> str | None:
    """The id of the latest run: by start time (NULL first), ties by the greatest id."""
    if not runs:
        return None
    key = max((r["start_time"] is not None, r["start_time"] or datetime.min, r["id"]) for r in runs)
    return key[2]


# -- determinism and sizes ------------------------------------------------------------------------


def test_same_arguments_give_identical_rows(tmp_path: Path, data: Data) -> None:
    engine, _ = seeded_engine(tmp_path / "again.sqlite3")
    assert load(engine) == data


def test_another_random_seed_gives_other_rows(tmp_path: Path) -> None:
    first, _ = seeded_engine(tmp_path / "a.sqlite3", runs=300, random_seed=1)
    second, _ = seeded_engine(tmp_path / "b.sqlite3", runs=300, random_seed=2)
    first_data, second_data = load(first), load(second)
    assert first_data["run"] != second_data["run"]
    assert first_data["codebase"] != second_data["codebase"]
    assert len(first_data["run"]) == len(second_data["run"]) == 300


def test_demo_sizes(demo: tuple[Engine, seed.SeedSummary, Data]) -> None:
    _, summary, data = demo
    assert seed.DEMO_SIZE == 5000
    assert summary.runs == len(data["run"]) == 5000
    assert summary.codebases == len(data["codebase"]) == 200
    assert summary.merge_proposals == len(data["merge_proposal"]) == 300
    assert summary.queue_items == len(data["queue"]) == 500
    assert 10 <= summary.active_runs == len(data["active_run"]) <= 20
    assert 400 <= summary.candidates == len(data["candidate"]) <= 700
    assert 200 <= summary.vcs_diffs == len(data["vcs_diff"]) <= 400
    assert summary.result_branches == len(data["new_result_branch"])
    assert summary.last_runs == len(data["last_run"])
    assert summary.change_sets == len(data["change_set"])
    assert summary.named_publish_policies == len(data["named_publish_policy"])
    assert summary.publish_policy_rules == len(data["publish_policy_rule"])
    assert data["site_session"] == [] and data["publish"] == []


@pytest.mark.parametrize("runs", [0, 1, 60, 1000])
def test_other_sizes_scale(tmp_path: Path, runs: int) -> None:
    engine, summary = seeded_engine(tmp_path / "db.sqlite3", runs=runs, random_seed=7)
    data = load(engine)
    assert summary.runs == len(data["run"]) == runs
    assert summary.codebases == max(20, round(runs / 25))
    assert summary.merge_proposals == round(runs * 0.06)
    pairs = {(c["codebase"], c["suite"]) for c in data["candidate"]}
    pairs |= {(r["codebase"], r["suite"]) for r in data["run"]}
    assert summary.queue_items == min(runs // 10, len(pairs))
    check_invariants(data)
    if runs >= 60:
        assert set(ready_list(engine)) == {c.name for c in CAMPAIGNS}


def test_refuses_a_non_empty_database(demo: tuple[Engine, seed.SeedSummary, Data]) -> None:
    engine = demo[0]
    assert not seed.is_empty(engine)
    with pytest.raises(ValueError, match="empty"):
        seed.seed(engine)


def test_is_empty_and_negative_sizes(tmp_path: Path) -> None:
    engine = schema.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    schema.create_schema(engine)
    assert seed.is_empty(engine)
    with pytest.raises(ValueError, match="runs"):
        seed.seed(engine, runs=-1)


def test_seeding_100000_runs(tmp_path: Path) -> None:
    started = time.perf_counter()
    _, summary = seeded_engine(tmp_path / "big.sqlite3", runs=100_000)
    print(f"seeded 100,000 runs into SQLite in {time.perf_counter() - started:.1f} s")
    assert summary.runs == 100_000
    assert summary.codebases == 4000
    assert summary.queue_items == 10_000


def test_later_inserts_get_fresh_ids(tmp_path: Path) -> None:
    engine, summary = seeded_engine(tmp_path / "db.sqlite3", runs=200)
    assert_fresh_ids(engine, summary)


def assert_fresh_ids(engine: Engine, summary: seed.SeedSummary) -> None:
    with engine.connect() as conn:
        queue_id = conn.execute(
            schema.queue.insert()
            .values(codebase="new-codebase", suite="lintian-fixes", bucket="manual", priority=0)
            .returning(schema.queue.c.id)
        ).scalar_one()
        candidate_id = conn.execute(
            schema.candidate.insert()
            .values(codebase="new-codebase", suite="lintian-fixes", command="lintian-brush")
            .returning(schema.candidate.c.id)
        ).scalar_one()
        conn.rollback()
    assert queue_id == summary.queue_items + 1
    assert candidate_id == summary.candidates + 1


# -- invariants -----------------------------------------------------------------------------------


def check_invariants(data: Data) -> None:
    """What must hold for any size and seed."""
    check_codebases(data)
    check_runs(data)
    check_last_runs(data)
    check_candidates_and_queue(data)
    check_merge_proposals(data)


def check_codebases(data: Data) -> None:
    names = [c["name"] for c in data["codebase"]]
    assert len(set(names)) == len(names)
    for codebase in data["codebase"]:
        assert NAME_PATTERN.fullmatch(codebase["name"]), codebase["name"]
        assert codebase["name_lower"] == codebase["name"].lower()
        url, branch, branch_url = codebase["url"], codebase["branch"], codebase["branch_url"]
        assert (branch_url is None) == (url is None)
        if url is None:
            assert codebase["hostname"] is None and codebase["url_lower"] is None
            continue
        assert url.isascii() and codebase["url_lower"] == url.lower()
        assert branch_url == (url if branch is None else f"{url},branch={branch}")
        assert codebase["hostname"] == urlsplit(branch_url).hostname
        assert codebase["vcs_type"] in (None, *schema.ENUMS["vcs_type"])


def check_runs(data: Data) -> None:
    codebases = {c["name"]: c for c in data["codebase"]}
    change_sets = {c["id"]: c for c in data["change_set"]}
    runs = {r["id"]: r for r in data["run"]}
    branches = defaultdict(list)
    for branch in data["new_result_branch"]:
        branches[branch["run_id"]].append(branch)
    for run in data["run"]:
        assert str(uuid.UUID(run["id"])) == run["id"] == run["id_lower"]
        assert run["codebase_lower"] == run["codebase"].lower()
        assert run["description_lower"] == (run["description"] and run["description"].lower())
        start, finish = run["start_time"], run["finish_time"]
        if start is None or finish is None:
            assert run["duration"] is None
        else:
            assert run["duration"] == (finish - start).total_seconds() > 0
            assert start.tzinfo is None and finish <= REFERENCE_TIME - timedelta(hours=1)
        codebase = codebases[run["codebase"]]
        for key in ("vcs_type", "branch_url", "subpath"):
            assert run[key] == codebase[key]
        assert change_sets[run["change_set"]]["campaign"] == run["suite"]
        failed = run["result_code"] in FAILURES
        assert failed == (run["failure_stage"] is not None)
        if not failed:
            assert run["failure_details"] is None and run["failure_transient"] is None
        success = run["result_code"] == "success"
        assert success == (run["result"] is not None) == (run["id"] in branches)
        for text in (run["result"], run["failure_details"], run["result_tags"]):
            assert text is None or is_compact_json(text)
        assert is_compact_json(run["logfilenames"])
        assert run["publish_status"] in schema.ENUMS["publish_status"]
        if run["resume_from"] is not None:
            earlier = runs[run["resume_from"]]
            assert (earlier["codebase"], earlier["suite"]) == (run["codebase"], run["suite"])
        if success:
            main = next(b for b in branches[run["id"]] if b["role"] == "main")
            assert main["revision"] == run["revision"]
            assert main["base_revision"] == run["main_branch_revision"]


def check_last_runs(data: Data) -> None:
    by_pair = defaultdict(list)
    for run in data["run"]:
        by_pair[run["codebase"], run["suite"]].append(run)
    unabsorbed = {b["run_id"] for b in data["new_result_branch"] if b["absorbed"] is not True}
    assert {(r["codebase"], r["suite"]) for r in data["last_run"]} == set(by_pair)
    for row in data["last_run"]:
        runs = by_pair[row["codebase"], row["suite"]]
        effective = [r for r in runs if r["result_code"] != "nothing-new-to-do"]
        successes = [r for r in runs if r["result_code"] == "success" and r["id"] in unabsorbed]
        assert row["last_run_id"] == latest(runs)
        assert row["last_effective_run_id"] == latest(effective)
        assert row["last_unabsorbed_run_id"] == latest(successes or effective)


def check_candidates_and_queue(data: Data) -> None:
    policies = {p["name"] for p in data["named_publish_policy"]}
    for table in ("candidate", "queue"):
        rows = data[table]
        assert [row["id"] for row in rows] == list(range(1, len(rows) + 1))
        keys = [(row["codebase"], row["suite"], row["change_set"] or "") for row in rows]
        assert len(set(keys)) == len(keys)
    for candidate in data["candidate"]:
        assert candidate["publish_policy"] is None or candidate["publish_policy"] in policies
        assert candidate["value"] > 0
        assert candidate["success_chance"] is None or 0 <= candidate["success_chance"] <= 1
    for item in data["queue"]:
        assert item["bucket"] in schema.ENUMS["queue_bucket"]
        assert item["codebase_lower"] == item["codebase"].lower()


def check_merge_proposals(data: Data) -> None:
    runs = {r["id"]: r for r in data["run"]}
    revisions = {b["revision"]: runs[b["run_id"]] for b in data["new_result_branch"]}
    urls = [mp["url"] for mp in data["merge_proposal"]]
    assert len(set(urls)) == len(urls)
    for mp in data["merge_proposal"]:
        assert mp["url_lower"] == mp["url"].lower()
        assert mp["codebase_lower"] == (mp["codebase"] and mp["codebase"].lower())
        assert mp["status"] in (None, *schema.ENUMS["merge_proposal_status"])
        run = revisions.get(mp["revision"])
        if run is not None and mp["codebase"] is not None:
            assert run["codebase"] == mp["codebase"]
        assert (mp["merged_at"] is not None) == (mp["status"] in ("merged", "applied"))
        assert mp["merged_by"] is None or mp["status"] == "merged"


def test_demo_invariants(data: Data) -> None:
    check_invariants(data)


# -- realism and coverage of the demo set ---------------------------------------------------------


def test_every_enum_value_appears_where_the_api_filters_on_it(data: Data) -> None:
    def values(table: str, column: str) -> set[Any]:
        return {row[column] for row in data[table]}

    assert values("codebase", "vcs_type") == {None, *schema.ENUMS["vcs_type"]}
    assert values("run", "vcs_type") >= set(schema.ENUMS["vcs_type"])
    assert values("run", "publish_status") == set(schema.ENUMS["publish_status"])
    statuses = values("merge_proposal", "status")
    assert statuses == {None, *schema.ENUMS["merge_proposal_status"]}
    assert values("queue", "bucket") == set(schema.ENUMS["queue_bucket"])
    assert values("change_set", "state") == set(schema.ENUMS["change_set_state"])
    assert values("publish_policy_rule", "mode") == set(schema.ENUMS["publish_mode"])
    assert values("run", "failure_transient") == {True, False, None}
    assert values("merge_proposal", "can_be_merged") == {True, False, None}
    assert values("new_result_branch", "absorbed") == {True, False, None}
    assert values("queue", "refresh") == {True, False, None}


def test_codebases_are_realistic(data: Data) -> None:
    codebases = data["codebase"]
    names = {c["name"] for c in codebases}
    assert {"python-debian", "python3.11", "libsigc++-2.0"} <= names
    assert any(name.startswith("golang-github-") for name in names)
    assert 1 <= sum(c["url"] is None for c in codebases) <= 20
    assert 2 <= sum(c["inactive"] for c in codebases) <= 25
    assert sum(c["vcs_type"] == "git" for c in codebases) > len(codebases) * 0.7
    assert any(c["value"] is None for c in codebases)
    assert any(c["last_scanned"] is None for c in codebases)
    assert any(c["url"] and c["url"] != c["url_lower"] for c in codebases)
    assert Counter(c["subpath"] for c in codebases).most_common(1)[0][0] == ""


def test_runs_are_realistic(data: Data) -> None:
    runs = data["run"]
    codes = Counter(r["result_code"] for r in runs)
    assert {"success", "nothing-to-do", "nothing-new-to-do", "build-failed", "cancelled"} <= set(
        codes
    )
    assert codes["success"] > len(runs) * 0.2
    assert 10 <= sum(r["start_time"] is None for r in runs) <= 150
    starts = [r["start_time"] for r in runs if r["start_time"] is not None]
    assert min(starts) >= REFERENCE_TIME - timedelta(days=731)
    assert {s.microsecond == 0 for s in starts} == {True, False}
    assert any(r["description"] is None for r in runs)
    assert any(r["command"] is None for r in runs)
    assert any(r["worker_link"] is None and r["worker"] for r in runs)
    assert any(r["resume_from"] for r in runs)
    assert any(r["result_tags"] for r in runs)
    non_ascii = [
        r["description"] for r in runs if r["description"] and not r["description"].isascii()
    ]
    assert "Renamed the İIıi test fixtures." in non_ascii
    assert len({r["change_set"] for r in runs}) < len(runs)  # some change sets span runs
    roles = {b["role"] for b in data["new_result_branch"]}
    assert roles == {"main", "pristine-tar", "upstream"}


def test_campaigns(data: Data) -> None:
    campaigns = {c["name"]: c["description"] for c in data["campaign"]}
    expected = {
        "lintian-fixes",
        "fresh-releases",
        "fresh-snapshots",
        "multiarch-fixes",
        "debianize",
    }
    assert expected <= set(campaigns)
    assert campaigns["debianize"] is None
    assert sum(description is not None for description in campaigns.values()) >= 4
    assert {r["suite"] for r in data["run"]} == set(campaigns)


def test_pairs_with_only_runs_or_only_candidates_exist(data: Data) -> None:
    candidates = {(c["codebase"], c["suite"]) for c in data["candidate"]}
    with_runs = {(r["codebase"], r["suite"]) for r in data["run"]}
    assert candidates - with_runs and with_runs - candidates
    assert len(candidates & with_runs) > 0.9 * len(candidates | with_runs)
    assert any(c["change_set"] for c in data["candidate"])
    assert any(c["publish_policy"] is None for c in data["candidate"])


def test_queue_is_varied(data: Data) -> None:
    queue = data["queue"]
    assert Counter(q["bucket"] for q in queue).most_common(1)[0][0] == "default"
    assert any(q["priority"] < 0 for q in queue)
    assert any(q["estimated_duration"] is None for q in queue)
    assert any(q["requester"] and "@" in q["requester"] for q in queue)
    assert any(q["change_set"] for q in queue)
    pairs = Counter((q["codebase"], q["suite"]) for q in queue)
    assert pairs.most_common(1)[0][1] == 2  # a pair queued twice, once with a change set


def test_every_campaign_has_a_ready_list(demo: tuple[Engine, seed.SeedSummary, Data]) -> None:
    ready = ready_list(demo[0])
    assert set(ready) == {c.name for c in CAMPAIGNS}
    assert sum(len(ids) for ids in ready.values()) >= 24


def test_merge_proposals_are_realistic(data: Data) -> None:
    mps = data["merge_proposal"]
    revisions = {b["revision"] for b in data["new_result_branch"]}
    matched = [mp for mp in mps if mp["revision"] in revisions]
    assert 0.9 * len(mps) <= len(matched) < len(mps)
    assert any(mp["revision"] is None for mp in mps)
    assert 1 <= sum(mp["codebase"] is None for mp in mps) <= 15
    pattern = re.compile(
        r"https://((salsa\.debian\.org|foss\.heptapod\.net)/.+/-/merge_requests"
        r"|github\.com/.+/pull|code\.launchpad\.net/.+/\+merge)/\d+"
    )
    assert all(pattern.fullmatch(mp["url"]) for mp in mps)
    assert any(mp["merged_by"] for mp in mps)
    branches = {b["revision"]: b for b in data["new_result_branch"]}
    for mp in matched:
        if mp["status"] in ("merged", "applied"):
            assert branches[mp["revision"]]["absorbed"] is True


def test_active_runs(data: Data) -> None:
    queue_ids = {q["id"] for q in data["queue"]}
    active = data["active_run"]
    assert sum(a["queue_id"] is None for a in active) == 1
    for run in active:
        assert run["queue_id"] is None or run["queue_id"] in queue_ids
        age = REFERENCE_TIME - run["start_time"]
        assert timedelta(seconds=29) < age < timedelta(hours=3, seconds=1)
        assert run["codebase_lower"] == run["codebase"].lower()


def test_diffs_belong_to_main_result_branches(data: Data) -> None:
    runs = {r["id"]: r for r in data["run"]}
    mains = {
        (runs[b["run_id"]]["codebase"], b["revision"]): b
        for b in data["new_result_branch"]
        if b["role"] == "main"
    }
    undecodable = 0
    for diff in data["vcs_diff"]:
        branch = mains[diff["codebase"], diff["revision"]]
        assert diff["base_revision"] == branch["base_revision"]
        assert diff["diff"].startswith(b"--- a/debian/")
        assert b"\n@@ -" in diff["diff"]
        try:
            diff["diff"].decode()
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable == 1


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def postgresql_engine() -> Iterator[Engine]:
    """An engine on a fresh, uniquely named PostgreSQL schema, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRESQL_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRESQL_URL}: {error}")
    name = f"seed_test_{uuid.uuid4().hex}"
    admin.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in POSTGRESQL_URL else "?"
    engine = schema.create_engine(f"{POSTGRESQL_URL}{separator}options=-csearch_path%3D{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        admin.execute(f'DROP SCHEMA "{name}" CASCADE')
        admin.close()


@pytest.mark.postgresql
def test_postgresql_demo_matches_sqlite(
    postgresql_engine: Engine, demo: tuple[Engine, seed.SeedSummary, Data]
) -> None:
    schema.create_schema(postgresql_engine)
    started = time.perf_counter()
    summary = seed.seed(postgresql_engine)
    print(f"seeded the demo set into PostgreSQL in {time.perf_counter() - started:.1f} s")
    assert summary == demo[1]
    assert load(postgresql_engine) == demo[2]
    assert ready_list(postgresql_engine) == ready_list(demo[0])
    assert_fresh_ids(postgresql_engine, summary)
