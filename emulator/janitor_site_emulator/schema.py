"""The database schema: the state.sql tables that v1 exposes, as SQLAlchemy Core tables.

Column names follow upstream ``state.sql``. Portable adaptations, identical on SQLite and
PostgreSQL:

* enums are text; their declaration order (the v1 sort order) comes from :data:`ENUMS`;
* text compares in code point order (``COLLATE "C"`` on PostgreSQL, SQLite's ``BINARY``);
* ``timestamp`` columns hold naive UTC datetimes; intervals are float seconds (``run.duration``
  is stored, as the generated column it is upstream);
* ``json`` columns and ``text[]`` / composite arrays are compact JSON text, emitted verbatim;
* ``*_lower`` columns hold Python ``str.lower()`` of the searchable text, so ``q`` searches are
  exact Unicode lowercasing on both backends (kept in step by every writer).

Tables upstream lacks: ``campaign`` (the server's campaign configuration), ``publish_policy_rule``
(``named_publish_policy.per_branch_policy`` unnested), ``active_run`` (the emulator's own runner
store) and ``vcs_diff`` (the emulator's own VCS store).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ENUMS: dict[str, tuple[str, ...]] = {
    "vcs_type": ("bzr", "git", "svn", "mtn", "hg", "arch", "cvs", "darcs"),
    "merge_proposal_status": ("open", "closed", "merged", "applied", "abandoned", "rejected"),
    "publish_status": (
        "unknown",
        "blocked",
        "needs-manual-review",
        "rejected",
        "approved",
        "ignored",
    ),
    "publish_mode": (
        "push",
        "attempt-push",
        "propose",
        "build-only",
        "push-derived",
        "skip",
        "bts",
    ),
    "queue_bucket": (
        "update-existing-mp",
        "manual",
        "control",
        "hook",
        "reschedule",
        "update-new-mp",
        "missing-deps",
        "default",
    ),
    "change_set_state": ("created", "working", "ready", "publishing", "done"),
}

#: Text in code point order on every backend.
Text = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
#: v1 integers are signed 64-bit; SQLite's autoincrement needs plain INTEGER.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()


def _text(name: str, *args: Any, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, Text, *args, **kwargs)


campaign = sa.Table(
    "campaign",
    metadata,
    _text("name", primary_key=True),
    _text("description"),
)

codebase = sa.Table(
    "codebase",
    metadata,
    _text("name", unique=True),
    _text("branch_url"),
    _text("url"),
    _text("branch"),
    _text("subpath"),
    _text("vcs_last_revision"),
    sa.Column("last_scanned", sa.DateTime),
    _text("web_url"),
    _text("vcs_type"),
    sa.Column("value", sa.Integer),
    sa.Column("inactive", sa.Boolean, nullable=False, server_default=sa.false()),
    _text("hostname"),
    _text("name_lower"),
    _text("url_lower"),
)

change_set = sa.Table(
    "change_set",
    metadata,
    _text("id", primary_key=True),
    _text("campaign", nullable=False),
    _text("state", nullable=False, server_default="created"),
)

run = sa.Table(
    "run",
    metadata,
    _text("id", primary_key=True),
    _text("codebase", nullable=False, index=True),
    _text("suite", nullable=False, index=True),
    _text("command"),
    _text("description"),
    _text("result_code", nullable=False),
    _text("failure_stage"),
    _text("failure_details"),
    sa.Column("failure_transient", sa.Boolean),
    sa.Column("start_time", sa.DateTime),
    sa.Column("finish_time", sa.DateTime),
    sa.Column("duration", sa.Float),
    _text("main_branch_revision"),
    _text("revision"),
    _text("context"),
    _text("instigated_context"),
    _text("result"),
    _text("vcs_type"),
    _text("branch_url"),
    _text("subpath"),
    _text("target_branch_url"),
    _text("logfilenames", nullable=False, server_default="[]"),
    _text("publish_status", nullable=False, server_default="unknown"),
    sa.Column("value", sa.Integer),
    _text("worker"),
    _text("worker_link"),
    _text("change_set", nullable=False),
    _text("resume_from"),
    _text("result_tags"),
    _text("id_lower"),
    _text("codebase_lower"),
    _text("description_lower"),
)

#: The runs' default order (``-start_time,run_id``), so deep pages need not sort.
sa.Index("run_start_time_id", run.c.start_time.desc(), run.c.id)

new_result_branch = sa.Table(
    "new_result_branch",
    metadata,
    _text("run_id", primary_key=True),
    _text("role", primary_key=True),
    _text("remote_name"),
    _text("base_revision"),
    _text("revision", index=True),
    sa.Column("absorbed", sa.Boolean),
)

merge_proposal = sa.Table(
    "merge_proposal",
    metadata,
    _text("url", primary_key=True),
    _text("codebase", index=True),
    _text("target_branch_url"),
    _text("status"),
    _text("revision", index=True),
    _text("merged_by"),
    sa.Column("merged_at", sa.DateTime),
    sa.Column("last_scanned", sa.DateTime),
    sa.Column("can_be_merged", sa.Boolean),
    _text("rate_limit_bucket"),
    _text("url_lower"),
    _text("codebase_lower"),
)

queue = sa.Table(
    "queue",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _text("bucket", nullable=False, server_default="default"),
    _text("codebase", nullable=False),
    _text("branch_url"),
    _text("suite", nullable=False),
    _text("command"),
    sa.Column("priority", sa.BigInteger, nullable=False, server_default="0"),
    _text("context"),
    sa.Column("estimated_duration", sa.Float),
    sa.Column("refresh", sa.Boolean),
    _text("requester"),
    _text("change_set"),
    _text("codebase_lower"),
)
#: The queue's key: one row per (codebase, suite, change set), NULL being one change set. These
#: are the unique index's expressions, and an upsert's conflict target (the empty string inline:
#: PostgreSQL finds the index by matching them).
QUEUE_KEY = (
    queue.c.codebase,
    queue.c.suite,
    sa.func.coalesce(queue.c.change_set, sa.text("''")),
)
sa.Index("queue_codebase_suite_change_set", *QUEUE_KEY, unique=True)

named_publish_policy = sa.Table(
    "named_publish_policy",
    metadata,
    _text("name", primary_key=True),
    _text("rate_limit_bucket"),
)

publish_policy_rule = sa.Table(
    "publish_policy_rule",
    metadata,
    _text("policy_name", primary_key=True),
    _text("role", primary_key=True),
    _text("mode"),
    sa.Column("frequency_days", sa.Integer),
)

candidate = sa.Table(
    "candidate",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _text("codebase", nullable=False, index=True),
    _text("suite", nullable=False),
    _text("command", nullable=False),
    _text("publish_policy"),
    sa.Column("value", sa.Integer),
    sa.Column("success_chance", sa.Float),
    _text("context"),
    _text("change_set"),
)

last_run = sa.Table(
    "last_run",
    metadata,
    _text("codebase", primary_key=True),
    _text("suite", primary_key=True),
    _text("last_run_id"),
    _text("last_effective_run_id"),
    _text("last_unabsorbed_run_id"),
)

publish = sa.Table(
    "publish",
    metadata,
    _text("id", primary_key=True),
    _text("codebase", nullable=False),
    _text("suite", nullable=False),
    _text("run_id"),
    _text("role"),
    _text("mode"),
    _text("requester"),
    _text("result_code"),
    _text("merge_proposal_url"),
    sa.Column("timestamp", sa.DateTime, nullable=False),
)

site_session = sa.Table(
    "site_session",
    metadata,
    _text("id", primary_key=True),
    sa.Column("timestamp", sa.DateTime, nullable=False),
    _text("userinfo"),
)

active_run = sa.Table(
    "active_run",
    metadata,
    _text("run_id", primary_key=True),
    sa.Column("queue_id", sa.BigInteger),
    _text("codebase", nullable=False),
    _text("suite", nullable=False),
    _text("command"),
    _text("change_set"),
    sa.Column("start_time", sa.DateTime, nullable=False),
    sa.Column("estimated_duration", sa.Float),
    _text("worker"),
    _text("worker_link"),
    _text("vcs_type"),
    _text("branch_url"),
    _text("subpath"),
    _text("instigated_context"),
    _text("resume_from"),
    _text("codebase_lower"),
)

vcs_diff = sa.Table(
    "vcs_diff",
    metadata,
    _text("codebase", primary_key=True),
    _text("revision", primary_key=True),
    _text("base_revision"),
    sa.Column("diff", sa.LargeBinary, nullable=False),
)


def enum_rank(column: sa.ColumnElement[Any], enum: str) -> sa.ColumnElement[Any]:
    """The declaration-order rank of an enum column (NULL stays NULL), for sorting."""
    return sa.case(
        {value: index for index, value in enumerate(ENUMS[enum])},
        value=column,
        else_=None,
    )


def create_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://…`` (driven by psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = sa.create_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    metadata.create_all(engine)
