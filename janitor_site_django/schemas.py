"""Pydantic v2 models of the Janitor site API v1 shapes (contract §2.2, §2.5, §4, §5).

Used by the client to parse response bodies straight from bytes in pydantic's Rust core::

    page = TypeAdapter(ListEnvelope[Run]).validate_json(response.content)

Rules (the contract's, plus tolerance for legacy servers, §8):

* field names are the v1 keys, in §4 order; unknown keys are ignored (§2.2);
* a key that is never ``null`` in v1 is required; a nullable key defaults to ``None``, so a
  server that omits it still parses;
* timestamps are :class:`~datetime.datetime`, timezone-aware UTC (any RFC 3339 precision, ``Z``
  or ``+00:00``, either case of ``T``/``Z``; a naive value is read as UTC, another offset is
  converted); durations are ``float`` seconds; JSON columns are ``Any``;
* enums are plain ``str`` (forward compatible); their v1 values are exported below;
* models are immutable.

Independent of the emulator: nothing here is shared with ``janitor_site_emulator``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, WrapValidator
from pydantic_core import core_schema

__all__ = [
    "CHANGE_SET_STATES",
    "MERGE_PROPOSAL_STATUSES",
    "PRIMARY_KEYS",
    "PUBLISH_MODES",
    "PUBLISH_STATUSES",
    "QUEUE_BUCKETS",
    "VCS_TYPES",
    "ActiveRun",
    "AdditionalStats",
    "CampaignCodebase",
    "CampaignStatus",
    "Codebase",
    "DataEnvelope",
    "Health",
    "ListEnvelope",
    "MergeProposal",
    "PaginationInfo",
    "PublishResult",
    "QueueItem",
    "QueueStats",
    "QueueSummary",
    "ReadyRun",
    "RenderError",
    "RenderItemResult",
    "RenderedItem",
    "ResultBranch",
    "ResultTag",
    "Run",
    "ScheduleResult",
    "SearchResult",
    "Status",
    "Timestamp",
    "UnpublishedBranch",
    "User",
    "error_field",
]

# Enums (§4.8): allowed values in declaration order, which is also their sort order. -----------

VCS_TYPES: tuple[str, ...] = ("bzr", "git", "svn", "mtn", "hg", "arch", "cvs", "darcs")
MERGE_PROPOSAL_STATUSES: tuple[str, ...] = (
    "open", "closed", "merged", "applied", "abandoned", "rejected",
)  # fmt: skip
PUBLISH_STATUSES: tuple[str, ...] = (
    "unknown", "blocked", "needs-manual-review", "rejected", "approved", "ignored",
)  # fmt: skip
PUBLISH_MODES: tuple[str, ...] = (
    "push", "attempt-push", "propose", "build-only", "push-derived", "skip", "bts",
)  # fmt: skip
QUEUE_BUCKETS: tuple[str, ...] = (
    "update-existing-mp", "manual", "control", "hook", "reschedule", "update-new-mp",
    "missing-deps", "default",
)  # fmt: skip
CHANGE_SET_STATES: tuple[str, ...] = ("created", "working", "ready", "publishing", "done")

# Value types (§2.8) ---------------------------------------------------------------------------


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Make a parsed timestamp UTC: naive → UTC, another offset converted (v1 sends only UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


class _UtcTimestamp:
    """Schema of :data:`Timestamp`: parsed in pydantic-core; Python runs only for non-UTC input.

    A left-to-right union: first a datetime required to have offset 0 (every v1 value, and the
    ``+00:00`` of legacy runners) — pure Rust; else any datetime, then :func:`_as_utc`.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [
                core_schema.datetime_schema(tz_constraint=0),
                core_schema.no_info_after_validator_function(
                    _as_utc, core_schema.datetime_schema()
                ),
            ],
            mode="left_to_right",
            custom_error_type="timestamp_parsing",
            custom_error_message="Input should be an RFC 3339 timestamp",
        )


#: §2.8 timestamp: timezone-aware UTC ``datetime``. Accepts any RFC 3339 precision (fractions
#: beyond microseconds are truncated), ``Z`` or ``+00:00``, ``t``/``z`` in either case. Its
#: ``tzinfo`` is pydantic-core's ``TzInfo(0)`` (equal to :data:`datetime.timezone.utc`, named
#: ``UTC``), or ``timezone.utc`` itself when the input needed converting. Dumped as §2.8 ``…Z``.
Timestamp = Annotated[dt.datetime, _UtcTimestamp()]


def _timestamp_or_none(value: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except pydantic.ValidationError:
        return None


#: A nullable timestamp that reads anything unparsable (legacy ``"unknown"``, §9.29) as null.
_LenientTimestamp = Annotated[Timestamp | None, WrapValidator(_timestamp_or_none)]

_CONFIG = ConfigDict(extra="ignore", frozen=True)

T = TypeVar("T")


class _Shape(BaseModel):
    """Base of every v1 shape: unknown keys ignored, immutable."""

    model_config = _CONFIG


# §4.1 -----------------------------------------------------------------------------------------


class Codebase(_Shape):
    """Codebase (§4.1), primary key ``name``."""

    name: str
    url: str | None = None
    branch: str | None = None
    branch_url: str | None = None
    subpath: str | None = None
    vcs_type: str | None = None
    vcs_last_revision: str | None = None
    last_scanned: Timestamp | None = None
    web_url: str | None = None
    value: int | None = None
    inactive: bool
    hostname: str | None = None


# §4.2 -----------------------------------------------------------------------------------------


class ResultBranch(_Shape):
    """ResultBranch (§4.2): one ``new_result_branch`` row of a run."""

    role: str
    name: str | None = None
    base_revision: str | None = None
    revision: str | None = None
    absorbed: bool


class ResultTag(_Shape):
    """ResultTag (§4.2)."""

    name: str
    revision: str


class Run(_Shape):
    """Run (§4.2), primary key ``run_id``."""

    run_id: str
    codebase: str
    campaign: str
    suite: str
    command: str | None = None
    description: str | None = None
    result_code: str
    failure_stage: str | None = None
    failure_details: Any = None
    failure_transient: bool | None = None
    start_time: Timestamp | None = None
    finish_time: Timestamp | None = None
    duration: float | None = None
    main_branch_revision: str | None = None
    revision: str | None = None
    context: str | None = None
    instigated_context: str | None = None
    result: Any = None
    vcs_type: str | None = None
    branch_url: str | None = None
    subpath: str | None = None
    target_branch_url: str | None = None
    logfilenames: list[str]
    publish_status: str
    value: int | None = None
    worker_name: str | None = None
    worker_link: str | None = None
    change_set: str
    resume_from: str | None = None
    result_branches: list[ResultBranch]
    result_tags: list[ResultTag]


# §4.3 -----------------------------------------------------------------------------------------


class MergeProposal(_Shape):
    """MergeProposal (§4.3), primary key ``url``."""

    url: str
    status: str | None = None
    codebase: str | None = None
    campaign: str | None = None
    run_id: str | None = None
    target_branch_url: str | None = None
    revision: str | None = None
    merged_by: str | None = None
    merged_at: Timestamp | None = None
    last_scanned: Timestamp | None = None
    can_be_merged: bool | None = None
    rate_limit_bucket: str | None = None


# §4.4 -----------------------------------------------------------------------------------------


class QueueItem(_Shape):
    """QueueItem (§4.4), primary key ``id``."""

    id: int
    position: int
    bucket: str
    codebase: str
    campaign: str
    suite: str
    command: str | None = None
    priority: int
    context: str | None = None
    estimated_duration: float | None = None
    wait_time: float | None = None
    refresh: bool
    requester: str | None = None
    change_set: str | None = None
    branch_url: str | None = None


# §4.5 -----------------------------------------------------------------------------------------


class ActiveRun(_Shape):
    """ActiveRun (§4.5), primary key ``run_id``."""

    run_id: str
    queue_id: int | None = None
    codebase: str
    campaign: str
    suite: str
    command: str | None = None
    change_set: str | None = None
    start_time: Timestamp
    current_duration: float
    estimated_duration: float | None = None
    worker_name: str | None = None
    worker_link: str | None = None
    vcs_type: str | None = None
    branch_url: str | None = None
    subpath: str | None = None
    instigated_context: str | None = None
    resume_from: str | None = None


# §4.6 -----------------------------------------------------------------------------------------


class UnpublishedBranch(_Shape):
    """UnpublishedBranch (§4.6): a result branch of a ready run not yet published."""

    role: str
    name: str | None = None
    base_revision: str | None = None
    revision: str | None = None
    mode: str | None = None
    frequency_days: int | None = None


class ReadyRun(Run):
    """ReadyRun (§4.6): the Run keys followed by the ``publish_ready`` extras; key ``run_id``."""

    publish_policy: str
    rate_limit_bucket: str | None = None
    policy_command: str
    change_set_state: str
    unpublished_branches: list[UnpublishedBranch]


class CampaignCodebase(_Shape):
    """CampaignCodebase (§4.6): one codebase in one campaign."""

    codebase: str
    campaign: str
    command: str | None = None
    publish_policy: str | None = None
    value: int | None = None
    success_chance: float | None = None
    context: str | None = None
    change_set: str | None = None
    priority: int | None = None
    vcs_url: str | None = None
    vcs_type: str | None = None
    branch_url: str | None = None
    last_run: Run | None = None
    last_effective_run_id: str | None = None
    last_unabsorbed_run_id: str | None = None
    queue_id: int | None = None
    queue_position: int | None = None
    queue_wait_time: float | None = None


# §4.7 -----------------------------------------------------------------------------------------


class CampaignStatus(_Shape):
    """CampaignStatus (§4.7): one campaign in ``QueueStats.queue.campaigns``."""

    name: str
    total_candidates: int
    pending_candidates: int
    active_runs: int | None = None
    success_rate: float | None = None
    last_updated: Timestamp | None = None
    description: str | None = None


class QueueSummary(_Shape):
    """The ``queue`` object of QueueStats (§4.7)."""

    total_candidates: int
    pending_candidates: int
    active_runs: int | None = None
    campaigns: list[CampaignStatus]


class AdditionalStats(_Shape):
    """The ``additional_stats`` object of QueueStats (§4.7)."""

    recent_successful_runs: int
    timestamp: Timestamp


class QueueStats(_Shape):
    """QueueStats (§4.7), ``GET /api/queue``."""

    queue: QueueSummary
    additional_stats: AdditionalStats


class SearchResult(_Shape):
    """SearchResult (§4.7), key (``codebase``, ``campaign``)."""

    codebase: str
    campaign: str | None = None
    vcs_url: str | None = None
    result_code: str | None = None
    finish_time: Timestamp | None = None
    last_run_id: str | None = None


class ScheduleResult(_Shape):
    """ScheduleResult (§4.7), ``POST /api/run/{run_id}/reschedule``."""

    queue_id: int
    codebase: str
    campaign: str
    bucket: str
    offset: int
    estimated_duration_seconds: float | None = None
    queue_position: int
    queue_wait_time: float
    refresh: bool
    requester: str | None = None


class PublishResult(_Shape):
    """PublishResult (§4.7), ``POST /api/{campaign}/c/{codebase}/publish``."""

    campaign: str
    codebase: str
    run_id: str
    mode: str | None = None
    status: str
    publish_ids: dict[str, str]


class User(_Shape):
    """User (§4.7), ``GET /api/user``."""

    sub: str
    email: str | None = None
    name: str | None = None
    preferred_username: str | None = None
    groups: list[str]
    roles: list[str]
    is_admin: bool
    is_qa_reviewer: bool
    auth_method: str


class Health(_Shape):
    """Health (§4.7), ``GET /api/health``."""

    status: str
    timestamp: Timestamp
    services: dict[str, str]


class Status(_Shape):
    """Status (§4.7), ``GET /api/status`` (a legacy ``build_time`` that is no timestamp → None)."""

    service: str
    version: str
    api_version: str
    build_time: _LenientTimestamp = None
    git_revision: str | None = None
    capabilities: list[str]


class RenderedItem(_Shape):
    """RenderItemResult success (§4.7, §5.10): ``{"html": str}``."""

    html: str


class RenderError(_Shape):
    """RenderItemResult failure (§4.7, §5.10): a template error of one batch item."""

    error: str
    reason: str
    details: dict[str, Any] | None = None


#: §4.7. Tried left to right: an object with ``html`` is a RenderedItem; one without it fails
#: that member on the missing key (cheaply, in Rust) and is then read as a RenderError.
RenderItemResult = Annotated[RenderedItem | RenderError, Field(union_mode="left_to_right")]

# §2.2 envelope, §2.5 pagination ---------------------------------------------------------------


class PaginationInfo(_Shape):
    """PaginationInfo (§2.5); ``total`` is null only from legacy servers (§8 #4)."""

    total: int | None = None
    offset: int
    limit: int
    has_more: bool


class DataEnvelope(_Shape, Generic[T]):
    """Success envelope (§2.2) of a single-object endpoint: ``{"data": …}``."""

    data: T


class ListEnvelope(_Shape, Generic[T]):
    """Success envelope (§2.2) of a list endpoint: ``{"data": [...], "pagination": {...}}``."""

    data: list[T]
    pagination: PaginationInfo


#: Primary key field(s) of each keyed shape (§4).
PRIMARY_KEYS: dict[type, tuple[str, ...]] = {
    Codebase: ("name",),
    Run: ("run_id",),
    ReadyRun: ("run_id",),
    ActiveRun: ("run_id",),
    MergeProposal: ("url",),
    QueueItem: ("id",),
    SearchResult: ("codebase", "campaign"),
}


def error_field(exc: pydantic.ValidationError) -> str:
    """The dotted location of the first error, e.g. ``data.3.run_id`` (``""`` for the root)."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if not errors:
        return ""
    return ".".join(str(part) for part in errors[0]["loc"])
