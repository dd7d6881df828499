"""``janitor_site_django.schemas``: the v1 shapes parsed from bytes (contract §2.2, §2.5, §4, §5).

* the contract's own examples (§4, §5), copied verbatim, with their field values;
* every v1 JSON endpoint of a live emulator, validated with its envelope, and a round trip
  (``model_dump(mode="json")`` against the raw JSON: every key, timestamps as instants);
* tolerance: missing required keys fail (and :func:`error_field` names them), unknown keys and
  omitted nullable keys do not, any RFC 3339 timestamp form parses to UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from janitor_site_django.schemas import (
    CHANGE_SET_STATES,
    MERGE_PROPOSAL_STATUSES,
    PRIMARY_KEYS,
    PUBLISH_MODES,
    PUBLISH_STATUSES,
    QUEUE_BUCKETS,
    VCS_TYPES,
    ActiveRun,
    AdditionalStats,
    CampaignCodebase,
    CampaignStatus,
    Codebase,
    DataEnvelope,
    Health,
    ListEnvelope,
    MergeProposal,
    PaginationInfo,
    PublishResult,
    QueueItem,
    QueueStats,
    QueueSummary,
    ReadyRun,
    RenderedItem,
    RenderError,
    RenderItemResult,
    ResultBranch,
    ResultTag,
    Run,
    ScheduleResult,
    SearchResult,
    Status,
    UnpublishedBranch,
    User,
    error_field,
)
from janitor_site_django.testing.emulator import EmulatorServer

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract"
UTC = dt.timezone.utc
ZERO = dt.timedelta(0)

# The v1 keys of every shape, in §4 order (typed from the tables, independently of the code).

_RUN_KEYS = (
    "run_id", "codebase", "campaign", "suite", "command", "description", "result_code",
    "failure_stage", "failure_details", "failure_transient", "start_time", "finish_time",
    "duration", "main_branch_revision", "revision", "context", "instigated_context", "result",
    "vcs_type", "branch_url", "subpath", "target_branch_url", "logfilenames", "publish_status",
    "value", "worker_name", "worker_link", "change_set", "resume_from", "result_branches",
    "result_tags",
)  # fmt: skip
V1_KEYS: dict[type[BaseModel], tuple[str, ...]] = {
    Codebase: (
        "name", "url", "branch", "branch_url", "subpath", "vcs_type", "vcs_last_revision",
        "last_scanned", "web_url", "value", "inactive", "hostname",
    ),
    ResultBranch: ("role", "name", "base_revision", "revision", "absorbed"),
    ResultTag: ("name", "revision"),
    Run: _RUN_KEYS,
    MergeProposal: (
        "url", "status", "codebase", "campaign", "run_id", "target_branch_url", "revision",
        "merged_by", "merged_at", "last_scanned", "can_be_merged", "rate_limit_bucket",
    ),
    QueueItem: (
        "id", "position", "bucket", "codebase", "campaign", "suite", "command", "priority",
        "context", "estimated_duration", "wait_time", "refresh", "requester", "change_set",
        "branch_url",
    ),
    ActiveRun: (
        "run_id", "queue_id", "codebase", "campaign", "suite", "command", "change_set",
        "start_time", "current_duration", "estimated_duration", "worker_name", "worker_link",
        "vcs_type", "branch_url", "subpath", "instigated_context", "resume_from",
    ),
    UnpublishedBranch: ("role", "name", "base_revision", "revision", "mode", "frequency_days"),
    ReadyRun: _RUN_KEYS + (
        "publish_policy", "rate_limit_bucket", "policy_command", "change_set_state",
        "unpublished_branches",
    ),
    CampaignCodebase: (
        "codebase", "campaign", "command", "publish_policy", "value", "success_chance",
        "context", "change_set", "priority", "vcs_url", "vcs_type", "branch_url", "last_run",
        "last_effective_run_id", "last_unabsorbed_run_id", "queue_id", "queue_position",
        "queue_wait_time",
    ),
    CampaignStatus: (
        "name", "total_candidates", "pending_candidates", "active_runs", "success_rate",
        "last_updated", "description",
    ),
    QueueSummary: ("total_candidates", "pending_candidates", "active_runs", "campaigns"),
    AdditionalStats: ("recent_successful_runs", "timestamp"),
    QueueStats: ("queue", "additional_stats"),
    SearchResult: (
        "codebase", "campaign", "vcs_url", "result_code", "finish_time", "last_run_id",
    ),
    ScheduleResult: (
        "queue_id", "codebase", "campaign", "bucket", "offset", "estimated_duration_seconds",
        "queue_position", "queue_wait_time", "refresh", "requester",
    ),
    PublishResult: ("campaign", "codebase", "run_id", "mode", "status", "publish_ids"),
    User: (
        "sub", "email", "name", "preferred_username", "groups", "roles", "is_admin",
        "is_qa_reviewer", "auth_method",
    ),
    Health: ("status", "timestamp", "services"),
    Status: ("service", "version", "api_version", "build_time", "git_revision", "capabilities"),
    RenderedItem: ("html",),
    RenderError: ("error", "reason", "details"),
    PaginationInfo: ("total", "offset", "limit", "has_more"),
}  # fmt: skip

#: Keys of type ``ts`` (§2.8) per shape.
TIMESTAMP_KEYS: dict[type[BaseModel], frozenset[str]] = {
    Codebase: frozenset({"last_scanned"}),
    Run: frozenset({"start_time", "finish_time"}),
    ReadyRun: frozenset({"start_time", "finish_time"}),
    MergeProposal: frozenset({"merged_at", "last_scanned"}),
    ActiveRun: frozenset({"start_time"}),
    CampaignStatus: frozenset({"last_updated"}),
    AdditionalStats: frozenset({"timestamp"}),
    SearchResult: frozenset({"finish_time"}),
    Health: frozenset({"timestamp"}),
    Status: frozenset({"build_time"}),
}


def parse_timestamp(text: str) -> dt.datetime:
    """An RFC 3339 string as an aware datetime, by the standard library (not pydantic)."""
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def assert_round_trip(model: BaseModel, raw: Any) -> None:
    """Every v1 key is in ``raw`` (in §4 order) and in the dump, with equal values."""
    keys = V1_KEYS[type(model)]
    assert isinstance(raw, dict)
    assert [key for key in raw if key in keys] == list(keys)
    dumped = model.model_dump(mode="json")
    assert list(dumped) == list(keys)
    for key in keys:
        value, raw_value = getattr(model, key), raw[key]
        if key in TIMESTAMP_KEYS.get(type(model), ()):
            if raw_value is None:
                assert value is None and dumped[key] is None, key
            else:
                assert value.utcoffset() == ZERO, key
                assert parse_timestamp(dumped[key]) == parse_timestamp(raw_value) == value, key
        elif isinstance(value, BaseModel):
            assert_round_trip(value, raw_value)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            assert len(value) == len(raw_value)
            for item, raw_item in zip(value, raw_value, strict=True):
                assert_round_trip(item, raw_item)
        else:
            assert dumped[key] == raw_value, key


# §4 and §5 examples, verbatim ------------------------------------------------------------------

CODEBASE = b'{"name":"python-debian","url":"https://salsa.debian.org/python-debian-team/python-debian.git","branch":"master","branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git,branch=master","subpath":"","vcs_type":"git","vcs_last_revision":"4f1c2a9e0b7d","last_scanned":"2025-06-01T08:00:00Z","web_url":"https://salsa.debian.org/python-debian-team/python-debian","value":10,"inactive":false,"hostname":"salsa.debian.org"}'  # noqa: E501
RUN = b'{"run_id":"b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11","codebase":"python-debian","campaign":"lintian-fixes","suite":"lintian-fixes","command":"lintian-brush","description":"Fixed 3 lintian tags.","result_code":"success","failure_stage":null,"failure_details":null,"failure_transient":null,"start_time":"2025-06-08T10:50:50Z","finish_time":"2025-06-08T10:52:10.123456Z","duration":80.123456,"main_branch_revision":"a1b2c3","revision":"d4e5f6","context":null,"instigated_context":null,"result":{"fixed_lintian_tags":["out-of-date-standards-version"]},"vcs_type":"git","branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git,branch=master","subpath":"","target_branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git","logfilenames":["codemod.log","worker.log"],"publish_status":"approved","value":30,"worker_name":"worker-1","worker_link":null,"change_set":"6a3e9d1c","resume_from":null,"result_branches":[{"role":"main","name":"master","base_revision":"a1b2c3","revision":"d4e5f6","absorbed":false}],"result_tags":[]}'  # noqa: E501
MERGE_PROPOSAL = b'{"url":"https://salsa.debian.org/python-debian-team/python-debian/-/merge_requests/42","status":"open","codebase":"python-debian","campaign":"lintian-fixes","run_id":"b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11","target_branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git","revision":"d4e5f6","merged_by":null,"merged_at":null,"last_scanned":"2025-06-08T12:00:00Z","can_be_merged":true,"rate_limit_bucket":"salsa.debian.org"}'  # noqa: E501
QUEUE_ITEM = b'{"id":1207,"position":3,"bucket":"manual","codebase":"python-debian","campaign":"lintian-fixes","suite":"lintian-fixes","command":"lintian-brush","priority":-1,"context":null,"estimated_duration":81.5,"wait_time":160.0,"refresh":false,"requester":"alice@example.org","change_set":null,"branch_url":null}'  # noqa: E501
HEALTH = b'{"data":{"status":"healthy","timestamp":"2025-06-08T11:00:00Z","services":{"database":"healthy","redis":"not_configured"}}}'  # noqa: E501
STATUS = b'{"data":{"service":"janitor-site","version":"0.1.0","api_version":"1","build_time":null,"git_revision":null,"capabilities":["pagination","filtering","sorting","etag","bearer_auth","session_auth","templates","export"]}}'  # noqa: E501
USER = b'{"data":{"sub":"2c1f","email":"alice@example.org","name":"Alice","preferred_username":"alice","groups":["janitor-admins","staff"],"roles":["User","QaReviewer","Admin"],"is_admin":true,"is_qa_reviewer":true,"auth_method":"bearer"}}'  # noqa: E501
CODEBASES = b'{"data":[{"name":"python-debian","url":"https://salsa.debian.org/python-debian-team/python-debian.git","branch":"master","branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git,branch=master","subpath":"","vcs_type":"git","vcs_last_revision":"4f1c2a9e0b7d","last_scanned":"2025-06-01T08:00:00Z","web_url":"https://salsa.debian.org/python-debian-team/python-debian","value":10,"inactive":false,"hostname":"salsa.debian.org"},{"name":"debian-keyring","url":null,"branch":null,"branch_url":null,"subpath":null,"vcs_type":"git","vcs_last_revision":null,"last_scanned":null,"web_url":null,"value":5,"inactive":false,"hostname":null}],"pagination":{"total":17,"offset":0,"limit":2,"has_more":true}}'  # noqa: E501
SCHEDULE_RESULT = b'{"data":{"queue_id":1207,"codebase":"python-debian","campaign":"lintian-fixes","bucket":"manual","offset":-1,"estimated_duration_seconds":81.5,"queue_position":1,"queue_wait_time":0.0,"refresh":false,"requester":"alice@example.org"}}'  # noqa: E501
MERGE_PROPOSALS = b'{"data":[{"url":"https://salsa.debian.org/python-debian-team/python-debian/-/merge_requests/42","status":"open","codebase":"python-debian","campaign":"lintian-fixes","run_id":"b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11","target_branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git","revision":"d4e5f6","merged_by":null,"merged_at":null,"last_scanned":"2025-06-08T12:00:00Z","can_be_merged":true,"rate_limit_bucket":"salsa.debian.org"}],"pagination":{"total":1,"offset":0,"limit":50,"has_more":false}}'  # noqa: E501
QUEUE_STATS = b'{"data":{"queue":{"total_candidates":1234,"pending_candidates":56,"active_runs":3,"campaigns":[{"name":"lintian-fixes","total_candidates":1000,"pending_candidates":40,"active_runs":2,"success_rate":0.42,"last_updated":"2025-06-08T10:52:10.123456Z","description":null}]},"additional_stats":{"recent_successful_runs":17,"timestamp":"2025-06-08T11:00:00Z"}}}'  # noqa: E501
ACTIVE_RUNS = b'{"data":[{"run_id":"0e9d4c7a-7a6b-4b8e-8f6e-5c1d2a3b4c5d","queue_id":1188,"codebase":"python-debian","campaign":"lintian-fixes","suite":"lintian-fixes","command":"lintian-brush","change_set":null,"start_time":"2025-06-08T10:59:00Z","current_duration":60.0,"estimated_duration":81.5,"worker_name":"worker-1","worker_link":null,"vcs_type":"git","branch_url":"https://salsa.debian.org/python-debian-team/python-debian.git,branch=master","subpath":"","instigated_context":null,"resume_from":null}],"pagination":{"total":1,"offset":0,"limit":50,"has_more":false}}'  # noqa: E501
PUBLISH_RESULT = b'{"data":{"campaign":"lintian-fixes","codebase":"python-debian","run_id":"b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11","mode":"propose","status":"initiated","publish_ids":{"main":"0b7e8c44-3d8f-4a61-9f0e-6c2b1a7d9e10"}}}'  # noqa: E501
PKGNAMES = b'{"data":["python-debian","python-debianbts"],"pagination":{"total":2,"offset":0,"limit":50,"has_more":false}}'  # noqa: E501
TEMPLATES = b'{"data":["codebase.html","generic/start.html","layout.html","run.html"],"pagination":{"total":4,"offset":0,"limit":50,"has_more":false}}'  # noqa: E501
RENDER_ERROR = b'{"error":"template_render_error","reason":"Variable `run` not found in context","details":{"template":"run.html","line":12,"column":7,"message":"Variable `run` not found in context"}}'  # noqa: E501
RENDER_BATCH = b'{"data":[{"html":"<li>python-debian</li>"},{"error":"template_not_found","reason":"No template named \'nope.html\'","details":{"template":"nope.html"}}]}'  # noqa: E501
#: §5.3: "<the Run object shown in §4.2>" inside a list envelope.
RUNS = b'{"data":[' + RUN + b'],"pagination":{"total":12,"offset":0,"limit":1,"has_more":true}}'

VERBATIM_EXAMPLES = [
    CODEBASE, RUN, MERGE_PROPOSAL, QUEUE_ITEM, HEALTH, STATUS, USER, CODEBASES, SCHEDULE_RESULT,
    MERGE_PROPOSALS, QUEUE_STATS, ACTIVE_RUNS, PUBLISH_RESULT, PKGNAMES, TEMPLATES, RENDER_ERROR,
    RENDER_BATCH,
]  # fmt: skip


@pytest.mark.parametrize("example", VERBATIM_EXAMPLES, ids=lambda e: e[:40].decode())
def test_examples_are_copied_verbatim(example: bytes) -> None:
    path = CONTRACT / "janitor-api-v1.md"
    if not path.exists():
        pytest.skip("no docs/contract/janitor-api-v1.md")
    assert example.decode() in path.read_text(encoding="utf-8")


def test_example_codebase() -> None:
    codebase = TypeAdapter(Codebase).validate_json(CODEBASE)
    assert codebase.name == "python-debian"
    assert codebase.branch_url == (
        "https://salsa.debian.org/python-debian-team/python-debian.git,branch=master"
    )
    assert codebase.subpath == ""
    assert codebase.vcs_type == "git"
    assert codebase.last_scanned == dt.datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    assert codebase.value == 10
    assert codebase.inactive is False
    assert codebase.hostname == "salsa.debian.org"
    assert_round_trip(codebase, json.loads(CODEBASE))


def check_example_run(run: Run) -> None:
    assert run.run_id == "b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11"
    assert (run.codebase, run.campaign, run.suite) == (
        "python-debian", "lintian-fixes", "lintian-fixes",
    )  # fmt: skip
    assert run.command == "lintian-brush"
    assert run.failure_details is None and run.failure_transient is None
    assert run.start_time == dt.datetime(2025, 6, 8, 10, 50, 50, tzinfo=UTC)
    assert run.finish_time == dt.datetime(2025, 6, 8, 10, 52, 10, 123456, tzinfo=UTC)
    assert run.finish_time is not None and run.finish_time.utcoffset() == ZERO
    assert run.duration == 80.123456
    assert run.result == {"fixed_lintian_tags": ["out-of-date-standards-version"]}
    assert run.logfilenames == ["codemod.log", "worker.log"]
    assert run.publish_status == "approved"
    assert run.value == 30
    assert run.worker_name == "worker-1" and run.worker_link is None
    assert run.change_set == "6a3e9d1c"
    assert run.result_branches == [
        ResultBranch(
            role="main", name="master", base_revision="a1b2c3", revision="d4e5f6", absorbed=False
        )
    ]
    assert run.result_tags == []


def test_example_run() -> None:
    run = TypeAdapter(Run).validate_json(RUN)
    check_example_run(run)
    assert_round_trip(run, json.loads(RUN))
    # §2.8: the dump is the contract's own timestamp format.
    dumped = run.model_dump(mode="json")
    assert (dumped["start_time"], dumped["finish_time"]) == (
        "2025-06-08T10:50:50Z", "2025-06-08T10:52:10.123456Z",
    )  # fmt: skip


def test_example_runs_list() -> None:
    page = TypeAdapter(ListEnvelope[Run]).validate_json(RUNS)
    assert len(page.data) == 1
    check_example_run(page.data[0])
    assert page.pagination == PaginationInfo(total=12, offset=0, limit=1, has_more=True)


def test_example_merge_proposal() -> None:
    proposal = TypeAdapter(MergeProposal).validate_json(MERGE_PROPOSAL)
    assert proposal.url.endswith("/merge_requests/42")
    assert proposal.status == "open"
    assert proposal.run_id == "b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11"
    assert proposal.merged_by is None and proposal.merged_at is None
    assert proposal.last_scanned == dt.datetime(2025, 6, 8, 12, 0, tzinfo=UTC)
    assert proposal.can_be_merged is True
    assert_round_trip(proposal, json.loads(MERGE_PROPOSAL))
    page = TypeAdapter(ListEnvelope[MergeProposal]).validate_json(MERGE_PROPOSALS)
    assert page.data == [proposal]
    assert page.pagination == PaginationInfo(total=1, offset=0, limit=50, has_more=False)


def test_example_queue_item() -> None:
    item = TypeAdapter(QueueItem).validate_json(QUEUE_ITEM)
    assert (item.id, item.position, item.bucket, item.priority) == (1207, 3, "manual", -1)
    assert item.estimated_duration == 81.5 and item.wait_time == 160.0
    assert item.refresh is False
    assert item.requester == "alice@example.org"
    assert item.change_set is None and item.branch_url is None
    assert_round_trip(item, json.loads(QUEUE_ITEM))


def test_example_active_runs() -> None:
    page = TypeAdapter(ListEnvelope[ActiveRun]).validate_json(ACTIVE_RUNS)
    [run] = page.data
    assert run.run_id == "0e9d4c7a-7a6b-4b8e-8f6e-5c1d2a3b4c5d"
    assert run.queue_id == 1188
    assert run.start_time == dt.datetime(2025, 6, 8, 10, 59, tzinfo=UTC)
    assert run.current_duration == 60.0 and run.estimated_duration == 81.5
    assert run.subpath == "" and run.instigated_context is None
    assert page.pagination == PaginationInfo(total=1, offset=0, limit=50, has_more=False)
    assert_round_trip(run, json.loads(ACTIVE_RUNS)["data"][0])


def test_example_queue_stats() -> None:
    stats = TypeAdapter(DataEnvelope[QueueStats]).validate_json(QUEUE_STATS).data
    assert stats.queue.total_candidates == 1234
    assert stats.queue.pending_candidates == 56
    assert stats.queue.active_runs == 3
    [campaign] = stats.queue.campaigns
    assert campaign.name == "lintian-fixes"
    assert campaign.success_rate == 0.42
    assert campaign.last_updated == dt.datetime(2025, 6, 8, 10, 52, 10, 123456, tzinfo=UTC)
    assert campaign.description is None
    assert stats.additional_stats.recent_successful_runs == 17
    assert stats.additional_stats.timestamp == dt.datetime(2025, 6, 8, 11, 0, tzinfo=UTC)
    assert_round_trip(stats, json.loads(QUEUE_STATS)["data"])


def test_example_user() -> None:
    user = TypeAdapter(DataEnvelope[User]).validate_json(USER).data
    assert (user.sub, user.email, user.name, user.preferred_username) == (
        "2c1f", "alice@example.org", "Alice", "alice",
    )  # fmt: skip
    assert user.groups == ["janitor-admins", "staff"]
    assert user.roles == ["User", "QaReviewer", "Admin"]
    assert user.is_admin is True and user.is_qa_reviewer is True
    assert user.auth_method == "bearer"
    assert_round_trip(user, json.loads(USER)["data"])


def test_example_health_and_status() -> None:
    health = TypeAdapter(DataEnvelope[Health]).validate_json(HEALTH).data
    assert health.status == "healthy"
    assert health.timestamp == dt.datetime(2025, 6, 8, 11, 0, tzinfo=UTC)
    assert health.services == {"database": "healthy", "redis": "not_configured"}
    status = TypeAdapter(DataEnvelope[Status]).validate_json(STATUS).data
    assert (status.service, status.version, status.api_version) == ("janitor-site", "0.1.0", "1")
    assert status.build_time is None and status.git_revision is None
    assert status.capabilities == [
        "pagination", "filtering", "sorting", "etag", "bearer_auth", "session_auth", "templates",
        "export",
    ]  # fmt: skip


def test_example_string_lists() -> None:
    pkgnames = TypeAdapter(ListEnvelope[str]).validate_json(PKGNAMES)
    assert pkgnames.data == ["python-debian", "python-debianbts"]
    assert pkgnames.pagination == PaginationInfo(total=2, offset=0, limit=50, has_more=False)
    templates = TypeAdapter(ListEnvelope[str]).validate_json(TEMPLATES)
    assert templates.data == ["codebase.html", "generic/start.html", "layout.html", "run.html"]
    assert templates.pagination.total == 4


def test_example_render_batch() -> None:
    results = TypeAdapter(DataEnvelope[list[RenderItemResult]]).validate_json(RENDER_BATCH).data
    assert results == [
        RenderedItem(html="<li>python-debian</li>"),
        RenderError(
            error="template_not_found",
            reason="No template named 'nope.html'",
            details={"template": "nope.html"},
        ),
    ]
    # The §5.10 error envelope has the same shape as a failed batch item.
    error = TypeAdapter(RenderItemResult).validate_json(RENDER_ERROR)
    assert isinstance(error, RenderError)
    assert error.details == {
        "template": "run.html", "line": 12, "column": 7,
        "message": "Variable `run` not found in context",
    }  # fmt: skip


def test_render_item_result_discrimination() -> None:
    adapter: TypeAdapter[RenderedItem | RenderError] = TypeAdapter(RenderItemResult)
    assert adapter.validate_json(b'{"html":""}') == RenderedItem(html="")
    assert adapter.validate_json(b'{"error":"e","reason":"r"}') == RenderError(
        error="e", reason="r", details=None
    )
    with pytest.raises(ValidationError):
        adapter.validate_json(b'{"reason":"r"}')
    with pytest.raises(ValidationError):
        adapter.validate_json(b'{"html":null}')


def test_example_schedule_and_publish_results() -> None:
    schedule = TypeAdapter(DataEnvelope[ScheduleResult]).validate_json(SCHEDULE_RESULT).data
    assert (schedule.queue_id, schedule.bucket, schedule.offset) == (1207, "manual", -1)
    assert schedule.estimated_duration_seconds == 81.5
    assert (schedule.queue_position, schedule.queue_wait_time) == (1, 0.0)
    assert schedule.refresh is False and schedule.requester == "alice@example.org"
    assert_round_trip(schedule, json.loads(SCHEDULE_RESULT)["data"])
    publish = TypeAdapter(DataEnvelope[PublishResult]).validate_json(PUBLISH_RESULT).data
    assert (publish.mode, publish.status) == ("propose", "initiated")
    assert publish.publish_ids == {"main": "0b7e8c44-3d8f-4a61-9f0e-6c2b1a7d9e10"}
    assert_round_trip(publish, json.loads(PUBLISH_RESULT)["data"])


def test_example_codebases_list() -> None:
    page = TypeAdapter(ListEnvelope[Codebase]).validate_json(CODEBASES)
    assert [codebase.name for codebase in page.data] == ["python-debian", "debian-keyring"]
    keyring = page.data[1]
    assert keyring.url is None and keyring.subpath is None and keyring.last_scanned is None
    assert keyring.vcs_type == "git" and keyring.value == 5
    assert page.pagination == PaginationInfo(total=17, offset=0, limit=2, has_more=True)
    for codebase, raw in zip(page.data, json.loads(CODEBASES)["data"], strict=True):
        assert_round_trip(codebase, raw)


# The module's declarations ---------------------------------------------------------------------


@pytest.mark.parametrize("model", list(V1_KEYS), ids=lambda m: m.__name__)
def test_fields_are_the_v1_keys_in_order(model: type[BaseModel]) -> None:
    assert tuple(model.model_fields) == V1_KEYS[model]
    assert model.__doc__ and "§" in model.__doc__
    assert model.model_config.get("extra") == "ignore"
    assert model.model_config.get("frozen") is True


def test_openapi_agrees_on_keys_and_required() -> None:
    """Field order and required-ness match the OpenAPI companion (non-nullable ⇔ required)."""
    path = CONTRACT / "openapi-v1.json"
    if not path.exists():
        pytest.skip("no docs/contract/openapi-v1.json")
    schemas = json.loads(path.read_text(encoding="utf-8"))["components"]["schemas"]

    def nullable(prop: dict[str, Any]) -> bool:
        types = prop.get("type")
        if isinstance(types, list):
            return "null" in types
        if "anyOf" in prop:
            return any(choice.get("type") == "null" for choice in prop["anyOf"])
        return "type" not in prop and "$ref" not in prop and "const" not in prop  # json columns

    schemas["QueueSummary"] = schemas["QueueStats"]["properties"]["queue"]
    schemas["AdditionalStats"] = schemas["QueueStats"]["properties"]["additional_stats"]
    schemas["RenderedItem"], schemas["RenderError"] = schemas["RenderItemResult"]["oneOf"]
    for model in V1_KEYS:
        schema = schemas[model.__name__]
        assert tuple(schema["properties"]) == tuple(model.model_fields), model.__name__
        for name, field in model.model_fields.items():
            expected_required = not nullable(schema["properties"][name])
            if model is PaginationInfo and name == "total":
                expected_required = False  # legacy servers send null (§8 #4)
            if model is RenderError and name == "details":
                assert name not in schema["required"]
                expected_required = False
            assert field.is_required() == expected_required, f"{model.__name__}.{name}"


def test_enum_values() -> None:
    assert VCS_TYPES == ("bzr", "git", "svn", "mtn", "hg", "arch", "cvs", "darcs")
    assert MERGE_PROPOSAL_STATUSES == (
        "open", "closed", "merged", "applied", "abandoned", "rejected",
    )  # fmt: skip
    assert PUBLISH_STATUSES == (
        "unknown", "blocked", "needs-manual-review", "rejected", "approved", "ignored",
    )  # fmt: skip
    assert PUBLISH_MODES == (
        "push", "attempt-push", "propose", "build-only", "push-derived", "skip", "bts",
    )  # fmt: skip
    assert QUEUE_BUCKETS == (
        "update-existing-mp", "manual", "control", "hook", "reschedule", "update-new-mp",
        "missing-deps", "default",
    )  # fmt: skip
    assert CHANGE_SET_STATES == ("created", "working", "ready", "publishing", "done")
    # Enums are plain strings: a value from a newer server still parses.
    run = json.loads(RUN)
    run.update(vcs_type="pijul", publish_status="on-hold")
    parsed = TypeAdapter(Run).validate_python(run)
    assert (parsed.vcs_type, parsed.publish_status) == ("pijul", "on-hold")


def test_primary_keys() -> None:
    expected = {
        Codebase: ("name",),
        Run: ("run_id",),
        ReadyRun: ("run_id",),
        ActiveRun: ("run_id",),
        MergeProposal: ("url",),
        QueueItem: ("id",),
        SearchResult: ("codebase", "campaign"),
    }
    assert expected == PRIMARY_KEYS
    for model, keys in PRIMARY_KEYS.items():
        assert set(keys) <= set(model.model_fields)  # type: ignore[attr-defined]


def test_ready_run_is_a_run() -> None:
    assert issubclass(ReadyRun, Run)
    assert tuple(ReadyRun.model_fields)[: len(_RUN_KEYS)] == _RUN_KEYS


def test_models_are_immutable() -> None:
    run = TypeAdapter(Run).validate_json(RUN)
    with pytest.raises(ValidationError):
        run.codebase = "other"  # type: ignore[misc]


# Tolerance -------------------------------------------------------------------------------------


def _required_key_cases() -> Iterator[Any]:
    examples: list[tuple[type[BaseModel], bytes]] = [
        (Codebase, CODEBASE), (Run, RUN), (MergeProposal, MERGE_PROPOSAL),
        (QueueItem, QUEUE_ITEM), (ActiveRun, ACTIVE_RUNS), (User, USER), (Health, HEALTH),
        (Status, STATUS), (ScheduleResult, SCHEDULE_RESULT), (PublishResult, PUBLISH_RESULT),
        (QueueStats, QUEUE_STATS),
    ]  # fmt: skip
    for model, example in examples:
        for name, field in model.model_fields.items():
            if field.is_required():
                yield pytest.param(model, example, name, id=f"{model.__name__}.{name}")


@pytest.mark.parametrize(("model", "example", "key"), list(_required_key_cases()))
def test_missing_required_key(model: type[BaseModel], example: bytes, key: str) -> None:
    raw = json.loads(example)
    item = raw.get("data", raw)
    if isinstance(item, list):
        item = item[0]
    del item[key]
    with pytest.raises(ValidationError) as info:
        TypeAdapter(model).validate_python(item)
    assert error_field(info.value) == key
    assert info.value.errors()[0]["type"] == "missing"


def test_error_field_through_envelopes() -> None:
    raw = json.loads(RUNS)
    raw["data"] = [json.loads(RUN) for _ in range(5)]
    del raw["data"][3]["result_branches"][0]["absorbed"]
    with pytest.raises(ValidationError) as info:
        TypeAdapter(ListEnvelope[Run]).validate_json(json.dumps(raw))
    assert error_field(info.value) == "data.3.result_branches.0.absorbed"

    raw = json.loads(RUNS)
    del raw["data"][0]["run_id"]
    with pytest.raises(ValidationError) as info:
        TypeAdapter(ListEnvelope[Run]).validate_json(json.dumps(raw))
    assert error_field(info.value) == "data.0.run_id"

    raw = json.loads(RUNS)
    raw["pagination"]["has_more"] = "maybe"
    with pytest.raises(ValidationError) as info:
        TypeAdapter(ListEnvelope[Run]).validate_json(json.dumps(raw))
    assert error_field(info.value) == "pagination.has_more"

    raw = json.loads(RUNS)
    raw["data"][0]["start_time"] = "yesterday"
    with pytest.raises(ValidationError) as info:
        TypeAdapter(ListEnvelope[Run]).validate_json(json.dumps(raw))
    assert error_field(info.value) == "data.0.start_time"

    with pytest.raises(ValidationError) as info:
        TypeAdapter(DataEnvelope[Health]).validate_json(b'{"error":"unavailable"}')
    assert error_field(info.value) == "data"
    with pytest.raises(ValidationError) as info:
        TypeAdapter(DataEnvelope[Health]).validate_json(b"not json")
    assert error_field(info.value) == ""


def test_null_in_a_required_key_fails() -> None:
    raw = json.loads(RUN)
    raw["logfilenames"] = None
    with pytest.raises(ValidationError) as info:
        TypeAdapter(Run).validate_python(raw)
    assert error_field(info.value) == "logfilenames"


def test_extra_keys_are_ignored() -> None:
    raw = json.loads(RUNS)
    raw["data"][0]["build_info"] = None
    raw["data"][0]["result_branches"][0]["remote_name"] = "master"
    raw["pagination"]["next"] = "/api/runs?offset=1"
    raw["debug"] = {"sql": "SELECT 1"}
    page = TypeAdapter(ListEnvelope[Run]).validate_json(json.dumps(raw))
    check_example_run(page.data[0])
    assert "build_info" not in page.data[0].model_dump()
    assert not hasattr(page.data[0], "build_info")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-08T10:52:10Z", dt.datetime(2025, 6, 8, 10, 52, 10, tzinfo=UTC)),
        ("2025-06-08T10:52:10+00:00", dt.datetime(2025, 6, 8, 10, 52, 10, tzinfo=UTC)),
        ("2025-06-08t10:52:10z", dt.datetime(2025, 6, 8, 10, 52, 10, tzinfo=UTC)),
        ("2025-06-08T10:52:10.1Z", dt.datetime(2025, 6, 8, 10, 52, 10, 100000, tzinfo=UTC)),
        ("2025-06-08T10:52:10.123Z", dt.datetime(2025, 6, 8, 10, 52, 10, 123000, tzinfo=UTC)),
        ("2025-06-08T10:52:10.123+00:00", dt.datetime(2025, 6, 8, 10, 52, 10, 123000, tzinfo=UTC)),
        ("2025-06-08T10:52:10.123456Z", dt.datetime(2025, 6, 8, 10, 52, 10, 123456, tzinfo=UTC)),
        # 9 digits (runner pass-through, §8 #11): truncated to microseconds.
        ("2025-06-08T10:52:10.123456789Z", dt.datetime(2025, 6, 8, 10, 52, 10, 123456, tzinfo=UTC)),
        (
            "2025-06-08T10:52:10.123456789+00:00",
            dt.datetime(2025, 6, 8, 10, 52, 10, 123456, tzinfo=UTC),
        ),
        # Not sent by v1 servers, still read correctly: another offset, no offset (as UTC).
        ("2025-06-08T12:52:10+02:00", dt.datetime(2025, 6, 8, 10, 52, 10, tzinfo=UTC)),
        ("2025-06-08T05:22:10.5-05:30", dt.datetime(2025, 6, 8, 10, 52, 10, 500000, tzinfo=UTC)),
        ("2025-06-08T10:52:10", dt.datetime(2025, 6, 8, 10, 52, 10, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_timestamp_forms(text: str, expected: dt.datetime) -> None:
    raw = json.loads(RUN)
    raw["finish_time"] = text
    run = TypeAdapter(Run).validate_json(json.dumps(raw))
    assert run.finish_time == expected
    assert run.finish_time is not None
    assert run.finish_time.utcoffset() == ZERO
    assert run.finish_time.tzinfo == UTC
    assert run.model_dump(mode="json")["finish_time"] == (
        expected.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{expected.microsecond:06d}" if expected.microsecond else "")
        + "Z"
    )


@pytest.mark.parametrize("text", ["", "yesterday", "2025-06-08T25:00:00Z", "2025-13-01T00:00:00Z"])
def test_invalid_timestamps(text: str) -> None:
    raw = json.loads(RUN)
    raw["start_time"] = text
    with pytest.raises(ValidationError) as info:
        TypeAdapter(Run).validate_json(json.dumps(raw))
    assert error_field(info.value) == "start_time"


def test_durations_accept_integers() -> None:
    raw = json.loads(QUEUE_ITEM)
    raw.update(estimated_duration=81, wait_time=0)
    item = TypeAdapter(QueueItem).validate_json(json.dumps(raw))
    assert isinstance(item.estimated_duration, float) and item.estimated_duration == 81.0
    assert isinstance(item.wait_time, float)


def test_legacy_shapes_with_omitted_nullable_keys() -> None:
    # §8 #10: campaign merge-proposal items of upstream servers.
    legacy_mp = (
        b'{"url":"https://salsa.debian.org/x/-/merge_requests/1","status":"merged",'
        b'"revision":"d4e5f6","merged_by":"ana","merged_at":"2025-06-08T10:00:00.123+00:00",'
        b'"can_be_merged":null,"codebase":"x"}'
    )
    proposal = TypeAdapter(MergeProposal).validate_json(legacy_mp)
    assert proposal.campaign is None and proposal.run_id is None
    assert proposal.target_branch_url is None and proposal.rate_limit_bucket is None
    assert proposal.merged_at == dt.datetime(2025, 6, 8, 10, 0, 0, 123000, tzinfo=UTC)
    # §8 #4: pagination.total null.
    page = TypeAdapter(ListEnvelope[MergeProposal]).validate_json(
        b'{"data":[' + legacy_mp + b'],"pagination":{"total":null,"offset":0,"limit":50,'
        b'"has_more":false}}'
    )
    assert page.pagination.total is None
    page = TypeAdapter(ListEnvelope[str]).validate_json(
        b'{"data":[],"pagination":{"offset":0,"limit":50,"has_more":false}}'
    )
    assert page.pagination.total is None
    # §8 #17, #18: upstream queue stats and status.
    legacy_queue = (
        b'{"data":{"queue":{"total_candidates":3,"pending_candidates":1,"campaigns":[]},'
        b'"additional_stats":{"recent_successful_runs":0,"timestamp":"2025-06-08T11:00:00+00:00"},'
        b'"query_options":{"limit":50}}}'
    )
    stats = TypeAdapter(DataEnvelope[QueueStats]).validate_json(legacy_queue).data
    assert stats.queue.active_runs is None and stats.queue.campaigns == []
    legacy_status = (
        b'{"data":{"service":"janitor-site","version":"0.1.0","api_version":"1.0",'
        b'"build_time":"unknown","git_revision":"unknown","capabilities":["pagination"]}}'
    )
    status = TypeAdapter(DataEnvelope[Status]).validate_json(legacy_status).data
    assert status.api_version == "1.0" and status.build_time is None
    # A minimal Run and CampaignCodebase: every nullable key omitted.
    run = TypeAdapter(Run).validate_json(
        b'{"run_id":"r1","codebase":"c","campaign":"k","suite":"k","result_code":"success",'
        b'"logfilenames":[],"publish_status":"unknown","change_set":"cs",'
        b'"result_branches":[{"role":"main","absorbed":false}],"result_tags":[]}'
    )
    assert run.start_time is None and run.result is None and run.failure_details is None
    assert run.result_branches[0].revision is None
    detail = TypeAdapter(CampaignCodebase).validate_json(b'{"codebase":"c","campaign":"k"}')
    assert detail.last_run is None and detail.queue_position is None


# Against the live emulator ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(janitor_emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """An HTTP client for the session's emulator."""
    with httpx.Client(base_url=janitor_emulator.url, timeout=60.0) as client:
        yield client


def fetch(http: httpx.Client, path: str, **kwargs: Any) -> bytes:
    response = http.request(kwargs.pop("method", "GET"), path, **kwargs)
    assert response.status_code == 200, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    return response.content


def check_list(http: httpx.Client, path: str, model: type[BaseModel]) -> list[Any]:
    """Validate a list page with ListEnvelope[model]; round trip every item; return them."""
    body = fetch(http, path)
    page = TypeAdapter(ListEnvelope[model]).validate_json(body)  # type: ignore[valid-type]
    raw = json.loads(body)
    assert page.pagination.model_dump() == raw["pagination"]
    assert page.pagination.total is not None
    assert len(page.data) == len(raw["data"])
    for item, raw_item in zip(page.data, raw["data"], strict=True):
        assert isinstance(item, model)
        assert_round_trip(item, raw_item)
    return list(page.data)


def check_data(http: httpx.Client, path: str, model: type[BaseModel], **kwargs: Any) -> Any:
    body = fetch(http, path, **kwargs)
    envelope = TypeAdapter(DataEnvelope[model]).validate_json(body)  # type: ignore[valid-type]
    assert isinstance(envelope.data, model)
    assert_round_trip(envelope.data, json.loads(body)["data"])
    return envelope.data


LIST_ENDPOINTS = [
    ("/api/codebases?limit=1000", Codebase),
    ("/api/codebases?limit=1000&include_inactive=true", Codebase),
    ("/api/runs?limit=1000", Run),
    ("/api/runs?limit=1000&offset=4000", Run),
    ("/api/merge-proposals?limit=1000", MergeProposal),
    ("/api/queue/items?limit=1000", QueueItem),
    ("/api/active-runs", ActiveRun),
    ("/api/active-runs?limit=1000", ActiveRun),
    ("/api/search?q=py", SearchResult),
    ("/api/search?limit=1000", SearchResult),
]


@pytest.mark.parametrize(("path", "model"), LIST_ENDPOINTS, ids=[p for p, _ in LIST_ENDPOINTS])
def test_live_list(http: httpx.Client, path: str, model: type[BaseModel]) -> None:
    items = check_list(http, path, model)
    assert items, path


def test_live_enum_values_are_known(http: httpx.Client) -> None:
    runs: list[Run] = check_list(http, "/api/runs?limit=1000", Run)
    assert {run.publish_status for run in runs} <= set(PUBLISH_STATUSES)
    assert {run.vcs_type for run in runs} - {None} <= set(VCS_TYPES)
    proposals = check_list(http, "/api/merge-proposals?limit=1000", MergeProposal)
    assert {proposal.status for proposal in proposals} - {None} <= set(MERGE_PROPOSAL_STATUSES)
    items = check_list(http, "/api/queue/items?limit=1000", QueueItem)
    assert {item.bucket for item in items} <= set(QUEUE_BUCKETS)


def test_live_string_lists(http: httpx.Client) -> None:
    for path in ("/api/pkgnames", "/api/pkgnames?limit=1000", "/api/templates"):
        body = fetch(http, path)
        page = TypeAdapter(ListEnvelope[str]).validate_json(body)
        raw = json.loads(body)
        assert page.data == raw["data"] and page.data
        assert page.pagination.model_dump() == raw["pagination"]


def test_live_single_objects(http: httpx.Client, janitor_emulator: EmulatorServer) -> None:
    stats: QueueStats = check_data(http, "/api/queue", QueueStats)
    assert stats.queue.campaigns
    health: Health = check_data(http, "/api/health", Health)
    assert health.timestamp.utcoffset() == ZERO
    status: Status = check_data(http, "/api/status", Status)
    assert status.api_version == "1"
    token = janitor_emulator.tokens["admin"]
    user: User = check_data(http, "/api/user", User, headers={"Authorization": f"Bearer {token}"})
    assert user.is_admin and user.auth_method == "bearer"


def test_live_detail_endpoints(http: httpx.Client) -> None:
    [codebase] = check_list(http, "/api/codebases?limit=1", Codebase)
    assert check_data(http, f"/api/c/{codebase.name}", Codebase) == codebase
    runs = check_list(http, f"/api/c/{codebase.name}/runs?limit=1000", Run)
    check_list(http, f"/api/c/{codebase.name}/merge-proposals", MergeProposal)
    [run] = check_list(http, "/api/runs?limit=1", Run)
    assert check_data(http, f"/api/run/{run.run_id}", Run) == run
    assert all(item.codebase == codebase.name for item in runs)
    [active] = check_list(http, "/api/active-runs?limit=1", ActiveRun)
    detail = check_data(http, f"/api/active-runs/{active.run_id}", ActiveRun)
    assert detail.run_id == active.run_id


def test_live_campaigns(http: httpx.Client) -> None:
    stats = TypeAdapter(DataEnvelope[QueueStats]).validate_json(fetch(http, "/api/queue")).data
    with_ready = 0
    for campaign in stats.queue.campaigns:
        ready: list[ReadyRun] = check_list(http, f"/api/{campaign.name}/ready?limit=1000", ReadyRun)
        check_list(http, f"/api/{campaign.name}/merge-proposals?limit=1000", MergeProposal)
        if not ready:
            continue
        with_ready += 1
        assert all(run.campaign == campaign.name for run in ready)
        assert all(run.unpublished_branches for run in ready)
        assert {run.change_set_state for run in ready} <= set(CHANGE_SET_STATES)
        modes = {branch.mode for run in ready for branch in run.unpublished_branches}
        assert modes - {None} <= set(PUBLISH_MODES)
        detail: CampaignCodebase = check_data(
            http, f"/api/{campaign.name}/c/{ready[0].codebase}", CampaignCodebase
        )
        assert (detail.campaign, detail.codebase) == (campaign.name, ready[0].codebase)
        assert detail.last_run is not None and isinstance(detail.last_run, Run)
        assert not isinstance(detail.last_run, ReadyRun)
    assert with_ready


def test_live_render_batch(http: httpx.Client, janitor_emulator: EmulatorServer) -> None:
    token = janitor_emulator.tokens["user"]
    names = TypeAdapter(ListEnvelope[str]).validate_json(fetch(http, "/api/templates")).data
    items = [{"template": name, "context": {}} for name in names]
    items.append({"template": "nope.html", "context": {}})
    body = fetch(
        http,
        "/api/templates/render-batch",
        method="POST",
        json={"items": items},
        headers={"Authorization": f"Bearer {token}"},
    )
    results = TypeAdapter(DataEnvelope[list[RenderItemResult]]).validate_json(body).data
    raw = json.loads(body)["data"]
    assert len(results) == len(items)
    for result, raw_item in zip(results, raw, strict=True):
        assert isinstance(result, RenderedItem if "html" in raw_item else RenderError)
        assert_round_trip(result, raw_item)
    assert isinstance(results[-1], RenderError)
    assert results[-1].error == "template_not_found"
    assert any(isinstance(result, RenderedItem) for result in results)
