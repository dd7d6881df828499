"""The ``merge_proposal`` rows of the demo data: for main branches of successful runs (never
those of ready runs), a few for no run at all."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from .codebases import Codebases
from .draw import REFERENCE_TIME, Draw, Row
from .runs import Runs

_MP_STATUSES: Mapping[str | None, float] = {
    "open": 35, "merged": 30, "closed": 15, "applied": 5, "abandoned": 6, "rejected": 6, None: 3,
}  # fmt: skip
_PEOPLE = ("jelmer", "ana", "bdrung", "carol", "dave")


def make_merge_proposals(draw: Draw, codebases: Codebases, runs: Runs, n: int) -> list[Row]:
    """``n`` merge proposals; a merged, applied or open one marks its branch (un)absorbed."""
    by_id = {run["id"]: run for run in runs.rows}
    pool = [bs[0] for run_id, bs in runs.branches.items() if run_id not in runs.ready]
    matched = min(n - min(n, max(2, n // 30)), len(pool))
    chosen: list[Row | None] = list(draw.rng.sample(pool, matched))
    chosen += [None] * (n - len(chosen))
    numbers: dict[str, int] = {}
    rows = []
    for branch, status in zip(chosen, draw.spread(n, _MP_STATUSES), strict=True):
        run = None if branch is None else by_id[branch["run_id"]]
        if branch is not None and status in ("merged", "applied", "open"):
            branch["absorbed"] = status != "open"
        rows.append(_merge_proposal_row(draw, codebases, run, branch, status, numbers))
    for row in draw.rng.sample(rows, min(len(rows), max(1, n // 50))):
        row.update(codebase=None, codebase_lower=None)
    return rows


def _merge_proposal_row(
    draw: Draw,
    codebases: Codebases,
    run: Row | None,
    branch: Row | None,
    status: str | None,
    numbers: dict[str, int],
) -> Row:
    if run is None:
        codebase = draw.rng.choice(list(codebases.rows.values()))
        revision = draw.maybe(0.3, draw.revision())
    else:
        codebase = codebases.rows[run["codebase"]]
        revision = None if branch is None else branch["revision"]
    name = codebase["name"]
    numbers[name] = numbers.get(name, draw.integer(0, 40)) + draw.integer(1, 4)
    web = codebase["web_url"]
    if web is None or codebase["vcs_type"] not in ("git", "hg", "bzr", None):
        web = f"https://salsa.debian.org/debian/{name}"
    if web.startswith("https://github.com/"):
        url = f"{web}/pull/{numbers[name]}"
    elif web.startswith("https://code.launchpad.net/"):
        url = f"{web}/+merge/{numbers[name]}"
    else:
        url = f"{web}/-/merge_requests/{numbers[name]}"
    merged_at = None
    if status in ("merged", "applied"):
        since = (run and run["finish_time"]) or REFERENCE_TIME - timedelta(days=90)
        delay = timedelta(seconds=draw.rng.uniform(3600, 30 * 86400))
        merged_at = draw.rounded(min(REFERENCE_TIME - timedelta(minutes=5), since + delay))
    mergeable = [60, 25, 15] if status == "open" else [30, 20, 50]
    return {
        "url": url,
        "codebase": name,
        "target_branch_url": codebase["url"],
        "status": status,
        "revision": revision,
        "merged_by": draw.maybe(0.1, draw.rng.choice(_PEOPLE)) if status == "merged" else None,
        "merged_at": merged_at,
        "last_scanned": draw.maybe(0.05, draw.timestamp(timedelta(0), timedelta(days=14))),
        "can_be_merged": draw.rng.choices([True, False, None], weights=mergeable)[0],
        "rate_limit_bucket": draw.maybe(0.2, codebases.teams[name].split("/")[0]),
        "url_lower": url.lower(),
        "codebase_lower": name.lower(),
    }
