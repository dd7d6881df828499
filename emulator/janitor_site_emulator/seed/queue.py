"""The ``queue`` rows of the demo data and the runs in progress (``active_run``) for some."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from .campaigns import ChangeSets, Pair, context
from .draw import Draw, Row
from .runs import INSTIGATED, latest_id

_BUCKETS = {
    "default": 80, "manual": 5, "update-existing-mp": 3, "control": 2, "hook": 3,
    "reschedule": 4, "update-new-mp": 2, "missing-deps": 1,
}  # fmt: skip
_REQUESTERS = ("alice@example.org", "bob@example.com", "jelmer@debian.org", "Debian Janitor")


def make_queue(draw: Draw, pairs: Sequence[Pair], change_sets: ChangeSets, n: int) -> list[Row]:
    """``n`` rows (at most one per pair, plus 2% second rows with a change set)."""
    n = min(n, len(pairs))
    seconds = n // 50
    keys: list[tuple[Pair, str | None]] = []
    for pair in draw.rng.sample(list(pairs), n - seconds):
        change_set = change_sets.pick_shared(pair.campaign.name) if draw.chance(0.02) else None
        keys.append((pair, change_set))
    firsts = [pair for pair, change_set in keys if change_set is None][:seconds]
    keys += [(p, change_sets.pick_shared(p.campaign.name)) for p in firsts]
    buckets = draw.spread(len(keys), _BUCKETS)
    return [
        _queue_row(draw, index, pair, change_set, bucket)
        for index, ((pair, change_set), bucket) in enumerate(zip(keys, buckets, strict=True), 1)
    ]


def _queue_row(draw: Draw, row_id: int, pair: Pair, change_set: str | None, bucket: str) -> Row:
    if bucket == "default":
        priority = draw.integer(100, 100_000)
        requester = draw.maybe(0.9, "Debian Janitor")
    else:
        priority = draw.integer(-1000, 1000)
        requester = draw.maybe(0.2, draw.rng.choice(_REQUESTERS))
    return {
        "id": row_id,
        "bucket": bucket,
        "codebase": pair.codebase["name"],
        "branch_url": draw.maybe(0.3, pair.codebase["branch_url"]),
        "suite": pair.campaign.name,
        "command": draw.maybe(0.02, pair.campaign.command),
        "priority": priority,
        "context": None if draw.chance(0.5) else context(draw, pair.campaign),
        "estimated_duration": draw.maybe(0.1, round(draw.rng.uniform(10, 3600), 6)),
        "refresh": draw.rng.choices([False, True, None], weights=[80, 10, 10])[0],
        "requester": requester,
        "change_set": change_set,
        "codebase_lower": pair.codebase["name_lower"],
    }


def make_active_runs(
    draw: Draw, codebases: Mapping[str, Row], pairs: Sequence[Pair], queue: Sequence[Row], n: int
) -> list[Row]:
    """Runs in progress for ``n`` queue items (the first one without its ``queue_id``)."""
    rows = []
    for index, item in enumerate(draw.rng.sample(list(queue), min(n, len(queue)))):
        codebase = codebases[item["codebase"]]
        worker = f"worker-{draw.integer(1, 8)}"
        last_success = draw.maybe(0.7, _last_success(pairs, item["codebase"], item["suite"]))
        rows.append(
            {
                "run_id": draw.random_uuid(),
                "queue_id": None if index == 0 else item["id"],
                "codebase": item["codebase"],
                "suite": item["suite"],
                "command": item["command"],
                "change_set": item["change_set"],
                "start_time": draw.timestamp(timedelta(seconds=30), timedelta(hours=3)),
                "estimated_duration": item["estimated_duration"],
                "worker": worker,
                "worker_link": draw.maybe(0.3, f"https://{worker}.janitor.example.net/"),
                "vcs_type": codebase["vcs_type"],
                "branch_url": codebase["branch_url"],
                "subpath": codebase["subpath"],
                "instigated_context": draw.maybe(0.5, INSTIGATED[2]),
                "resume_from": last_success,
                "codebase_lower": item["codebase_lower"],
            }
        )
    return rows


def _last_success(pairs: Sequence[Pair], codebase: str, campaign: str) -> str | None:
    key = (codebase, campaign)
    pair = next(p for p in pairs if (p.codebase["name"], p.campaign.name) == key)
    return latest_id([run for run in pair.runs if run["result_code"] == "success"])
