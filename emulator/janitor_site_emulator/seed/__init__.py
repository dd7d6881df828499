"""Deterministic demo data for the emulator's database.

:func:`seed` fills an empty database (see :mod:`janitor_site_emulator.schema`) with
realistic Janitor state, one module per table family: codebases (:mod:`.codebases`); campaigns,
publish policies, change sets and candidates (:mod:`.campaigns`); runs, their result branches
and the ``last_run`` summary (:mod:`.runs`); merge proposals (:mod:`.merge_proposals`); the queue
and runs in progress (:mod:`.queue`); diffs (:mod:`.diffs`). The rows depend only on
``(runs, random_seed)``: every random value comes from one :class:`.draw.Draw`.

Every timestamp lies before the fixed :data:`.draw.REFERENCE_TIME`, not the clock, so the data is
the same on every machine and day (runs in progress started up to 3 hours before it; no run
finished in the last hour). About 15% of each campaign's pairs (at least one) end in a successful
run with an unabsorbed ``main`` branch, a publishing policy and no merge proposal, so no ready
list is empty.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .. import schema
from .campaigns import ChangeSets, campaign_rows, make_candidates, make_pairs, make_policies
from .codebases import make_codebases
from .diffs import make_diffs
from .draw import Draw, Row
from .merge_proposals import make_merge_proposals
from .queue import make_active_runs, make_queue
from .runs import Runs

__all__ = ["DEMO_SIZE", "SeedSummary", "is_empty", "seed"]

#: Runs in the demo data set.
DEMO_SIZE = 5000


@dataclasses.dataclass(frozen=True)
class SeedSummary:
    """How many rows :func:`seed` wrote to each table."""

    campaigns: int
    codebases: int
    change_sets: int
    runs: int
    result_branches: int
    last_runs: int
    named_publish_policies: int
    publish_policy_rules: int
    candidates: int
    merge_proposals: int
    queue_items: int
    active_runs: int
    vcs_diffs: int


def is_empty(engine: Engine) -> bool:
    """Whether the database has no codebase yet."""
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.codebase.c.name).limit(1)).first() is None


def seed(engine: Engine, *, runs: int = DEMO_SIZE, random_seed: int = 0) -> SeedSummary:
    """Fill an empty database with ``runs`` runs and proportionate other rows, in one go."""
    if runs < 0:
        raise ValueError(f"runs must be >= 0, not {runs}")
    if not is_empty(engine):
        raise ValueError("the database already has codebases; seed only an empty database")
    tables = _tables(Draw(random_seed), runs)
    with engine.begin() as conn:
        for table, rows in tables.values():
            if rows:
                conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":
            _bump_sequences(conn)
    return SeedSummary(**{field: len(rows) for field, (_, rows) in tables.items()})


def _tables(draw: Draw, n_runs: int) -> dict[str, tuple[sa.Table, list[Row]]]:
    """:class:`SeedSummary` field -> (table, rows to insert), in insertion order.

    The order of the steps is the order of the random draws: changing it changes the data.
    """
    codebases = make_codebases(draw, max(20, round(n_runs / 25)))
    policies, rules = make_policies(draw)
    change_sets = ChangeSets(draw)
    pairs = make_pairs(draw, list(codebases.rows.values()))
    runs = Runs(draw, change_sets)
    runs.make(pairs, n_runs)
    merge_proposals = make_merge_proposals(draw, codebases, runs, round(n_runs * 0.06))
    queue = make_queue(draw, pairs, change_sets, n_runs // 10)
    last_runs = runs.last_runs(pairs)  # after the merge proposals absorbed some branches
    candidates = make_candidates(draw, pairs, change_sets)
    n_active = min(20, max(3, n_runs // 300))
    active_runs = make_active_runs(draw, codebases.rows, pairs, queue, n_active)
    diffs = make_diffs(draw, runs, max(5, n_runs // 16))
    return {
        "campaigns": (schema.campaign, campaign_rows()),
        "codebases": (schema.codebase, list(codebases.rows.values())),
        "change_sets": (schema.change_set, change_sets.rows),
        "runs": (schema.run, runs.rows),
        "result_branches": (schema.new_result_branch, runs.branch_rows()),
        "last_runs": (schema.last_run, last_runs),
        "named_publish_policies": (schema.named_publish_policy, policies),
        "publish_policy_rules": (schema.publish_policy_rule, rules),
        "candidates": (schema.candidate, candidates),
        "merge_proposals": (schema.merge_proposal, merge_proposals),
        "queue_items": (schema.queue, queue),
        "active_runs": (schema.active_run, active_runs),
        "vcs_diffs": (schema.vcs_diff, diffs),
    }


def _bump_sequences(conn: Connection) -> None:
    """Make PostgreSQL's serial ids continue after the explicit ones."""
    for table in ("queue", "candidate"):
        sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
        conn.execute(sa.text(sql))
