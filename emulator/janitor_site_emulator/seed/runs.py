"""The runs of the demo data: ``run``, ``new_result_branch`` and the ``last_run`` summary.

``last_run`` follows these rules, where a NULL ``start_time`` orders before every other and
ties go to the greatest run id:

* ``last_run_id``: the latest run of the (codebase, campaign) pair;
* ``last_effective_run_id``: the latest run whose ``result_code`` is not ``nothing-new-to-do``;
* ``last_unabsorbed_run_id``: the latest successful run with a result branch whose ``absorbed``
  is not true, else the last effective run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .campaigns import LINTIAN_TAGS, Campaign, ChangeSets, Pair, context
from .draw import REFERENCE_TIME, Draw, Row, compact_json

#: Result codes of finished runs, by weight.
RESULT_CODES: Mapping[str, float] = {
    "success": 32, "nothing-to-do": 14, "nothing-new-to-do": 10, "build-failed": 9,
    "install-deps-unsatisfied-dependencies": 6, "worker-failure": 5, "codemod-command-failed": 4,
    "upstream-branch-unknown": 4, "missing-control-file": 3, "cancelled": 3,
    "dist-command-failed": 3, "native-package": 3, "worker-timeout": 2, "unparseable-changelog": 2,
}  # fmt: skip
#: Failure code -> (failure stage, whether such failures are usually transient).
FAILURES: Mapping[str, tuple[str, bool]] = {
    "build-failed": ("build", False),
    "install-deps-unsatisfied-dependencies": ("build/install-deps", False),
    "worker-failure": ("worker", True),
    "codemod-command-failed": ("codemod", False),
    "upstream-branch-unknown": ("codemod", False),
    "missing-control-file": ("codemod", False),
    "cancelled": ("worker", True),
    "dist-command-failed": ("dist", False),
    "native-package": ("codemod", False),
    "worker-timeout": ("worker", True),
    "unparseable-changelog": ("codemod", False),
}
#: The ``instigated_context`` values; the last one names a requester.
INSTIGATED = ("scheduled", "manual reschedule", '{"requester":"alice@example.org"}')

#: Descriptions that exercise Unicode lowercasing in ``q`` searches.
_UNICODE_DESCRIPTIONS = (
    "Fixed spelling of Ünïcode in debian/copyright.",
    "Updated the maintainer address of the İstanbul team.",
    "Straße: corrected a typo in debian/changelog.",
    "ΣΊΣΥΦΟΣ: fixed the Greek description translation.",
    "Ångström units fixed in the long description.",
    "Renamed the İIıi test fixtures.",
)
_PUBLISH_STATUSES = {
    "unknown": 25, "approved": 35, "needs-manual-review": 20, "blocked": 8, "rejected": 6,
    "ignored": 6,
}  # fmt: skip
_QUIET_DESCRIPTIONS = {
    "nothing-to-do": "No changes to make.",
    "nothing-new-to-do": "Nothing new to do since the last successful run.",
}


def _run_order(run: Row) -> tuple[bool, datetime, str]:
    """Sort key of "the latest run": start time (NULL first), then id."""
    start = run["start_time"]
    return (start is not None, start or datetime.min, run["id"])


def latest_id(runs: Sequence[Row]) -> str | None:
    """The id of the latest of ``runs`` (None without any)."""
    return str(max(runs, key=_run_order)["id"]) if runs else None


class Runs:
    """The runs of every pair with runs, their result branches and the ready pairs' last runs."""

    def __init__(self, draw: Draw, change_sets: ChangeSets) -> None:
        self.draw = draw
        self.change_sets = change_sets
        self.rows: list[Row] = []
        self.branches: dict[str, list[Row]] = {}  # run id -> result branches, main first
        self.ready: set[str] = set()  # the last runs of ready pairs

    def make(self, pairs: Sequence[Pair], n_runs: int) -> None:
        """``n_runs`` runs for the pairs (ready pairs first), then their publish status, the
        change sets' states and a few Unicode descriptions."""
        draw = self.draw
        run_pairs = [p for p in pairs if p.ready]
        run_pairs += [p for p in pairs if p.has_runs and not p.ready]
        counts = [1 if i < n_runs else 0 for i in range(len(run_pairs))]
        if n_runs > len(run_pairs):
            weights = [draw.rng.paretovariate(1.2) for _ in run_pairs]
            for index in draw.rng.choices(
                range(len(run_pairs)), weights=weights, k=n_runs - len(run_pairs)
            ):
                counts[index] += 1
        for pair, count in zip(run_pairs, counts, strict=True):
            if count:
                self._make_pair_runs(pair, count)
            else:
                pair.has_runs, pair.has_candidate = False, True
        successes = [run for run in self.rows if run["result_code"] == "success"]
        statuses = draw.spread(len(successes), _PUBLISH_STATUSES)
        for run, status in zip(successes, statuses, strict=True):
            run["publish_status"] = status
        self.change_sets.settle()
        count = min(len(self.rows), len(_UNICODE_DESCRIPTIONS))
        for index, text in zip(
            draw.rng.sample(range(len(self.rows)), count), _UNICODE_DESCRIPTIONS, strict=False
        ):
            self.rows[index].update(description=text, description_lower=text.lower())

    def _make_pair_runs(self, pair: Pair, count: int) -> None:
        draw = self.draw
        ages = sorted((draw.rng.uniform(3 * 3600, 730 * 86400) for _ in range(count)), reverse=True)
        starts: list[datetime | None] = [
            draw.rounded(REFERENCE_TIME - timedelta(seconds=age)) for age in ages
        ]
        for index in range(1, count - 1):  # never the last run, which ready pairs rely on
            if draw.chance(0.005):
                starts[index] = starts[index - 1]  # a tie, broken by run id
            elif draw.chance(0.01):
                starts[index] = None
        codes = draw.rng.choices(list(RESULT_CODES), weights=list(RESULT_CODES.values()), k=count)
        if pair.ready:
            codes[-1] = "success"
        last_success = None
        for start, code in zip(starts, codes, strict=True):
            run = self._run_row(pair, code, start)
            if code == "nothing-new-to-do":
                run["resume_from"] = last_success
            elif pair.runs and draw.chance(0.03):
                run["resume_from"] = draw.rng.choice(pair.runs)["id"]
            if code == "success":
                last_success = run["id"]
                self.branches[run["id"]] = self._result_branches(pair, run)
            pair.runs.append(run)
            self.rows.append(run)
        if pair.ready:
            self.ready.add(pair.runs[-1]["id"])
            self.branches[pair.runs[-1]["id"]][0]["absorbed"] = False

    def _run_row(self, pair: Pair, code: str, start: datetime | None) -> Row:
        draw = self.draw
        codebase, campaign, success = pair.codebase, pair.campaign, code == "success"
        run_id = draw.random_uuid()
        finish, duration = self._finish(start)
        base: str | None = draw.revision()
        if code in ("worker-failure", "cancelled") or draw.chance(0.05):
            base = None  # the worker never got to open the branch, or did not say
        text, outcome = self._outcome(pair, code)
        description = None if draw.chance(0.04) else text
        worker = draw.maybe(0.02, f"worker-{draw.integer(1, 8)}")
        link = f"https://{worker}.janitor.example.net/runs/{run_id}"
        if draw.chance(0.1):
            change_set = self.change_sets.pick_shared(campaign.name)
        else:
            change_set = self.change_sets.new(campaign.name)
        return {
            "id": run_id,
            "codebase": codebase["name"],
            "suite": campaign.name,
            "command": draw.maybe(0.02, campaign.command),
            "description": description,
            **outcome,
            "start_time": start,
            "finish_time": finish,
            "duration": duration,
            "main_branch_revision": base,
            "revision": draw.revision() if success else base if code == "nothing-to-do" else None,
            "context": None if draw.chance(0.4) else context(draw, campaign),
            "instigated_context": None if draw.chance(0.5) else draw.rng.choice(INSTIGATED),
            "vcs_type": codebase["vcs_type"],
            "branch_url": codebase["branch_url"],
            "subpath": codebase["subpath"],
            "target_branch_url": codebase["url"],
            "logfilenames": self._logfilenames(code),
            "publish_status": "unknown",
            "value": draw.maybe(0.03, draw.integer(1, 120)),
            "worker": worker,
            "worker_link": None if worker is None else draw.maybe(0.3, link),
            "change_set": change_set,
            "resume_from": None,
            "result_tags": self._result_tags(campaign) if success else None,
            "id_lower": run_id.lower(),
            "codebase_lower": codebase["name_lower"],
            "description_lower": None if description is None else description.lower(),
        }

    def _finish(self, start: datetime | None) -> tuple[datetime | None, float | None]:
        """(finish_time, duration in seconds), whole or with microseconds; rarely unknown."""
        draw = self.draw
        if start is None or draw.chance(0.005):
            return None, None
        micros = int(min(7200, max(3, draw.rng.lognormvariate(5.5, 1.0)))) * 10**6
        if draw.chance(0.5):
            micros += draw.integer(0, 999_999)
        return start + timedelta(microseconds=micros), micros / 10**6

    def _outcome(self, pair: Pair, code: str) -> tuple[str, Row]:
        """The run's description, and its result and failure columns."""
        draw = self.draw
        row: Row = dict.fromkeys(
            ["failure_stage", "failure_details", "failure_transient", "result"]
        )
        row["result_code"] = code
        if code == "success":
            result = self._result(pair)
            row["result"] = compact_json(result)
            return _success_description(result), row
        if code not in FAILURES:
            return _QUIET_DESCRIPTIONS[code], row
        stage, transient = FAILURES[code]
        returncode = draw.integer(1, 255)
        details = {"stage": stage.split("/"), "code": code, "returncode": returncode}
        row["failure_stage"] = stage
        row["failure_details"] = None if draw.chance(0.2) else compact_json(details)
        flags = [transient, not transient, None]
        row["failure_transient"] = draw.rng.choices(flags, weights=[70, 10, 20])[0]
        return f"{code.replace('-', ' ').capitalize()}: exit status {returncode}.", row

    def _result(self, pair: Pair) -> Any:
        draw = self.draw
        name = pair.codebase["name"]
        if pair.campaign.name == "lintian-fixes":
            tags = draw.rng.sample(LINTIAN_TAGS, draw.integer(1, 3))
            return {"fixed_lintian_tags": tags, "overridden_lintian_issues": []}
        if pair.campaign.name.startswith("fresh-"):
            version = draw.version()
            if pair.campaign.name == "fresh-snapshots":
                version += f"+git{draw.rng.getrandbits(28):07x}"
            return {
                "old_upstream_version": draw.version(),
                "upstream_version": version,
                "upstream_branch_url": f"https://github.com/upstream/{name}",
                "include_upstream_history": draw.chance(0.5),
            }
        if pair.campaign.name == "multiarch-fixes":
            certainty = draw.rng.choice(["certain", "confident"])
            return {
                "applied-hints": [{"binary": name, "action": "ma-foreign", "certainty": certainty}]
            }
        return {"changed_files": ["debian/control"], "value": draw.integer(1, 50)}

    def _result_tags(self, campaign: Campaign) -> str | None:
        draw = self.draw
        if not campaign.name.startswith("fresh-") or draw.chance(0.3):
            return None
        return compact_json([{"name": f"upstream/{draw.version()}", "revision": draw.revision()}])

    def _logfilenames(self, code: str) -> str:
        if code == "cancelled" and self.draw.chance(0.5):
            return "[]"
        if code == "success" or FAILURES.get(code, ("",))[0].startswith("build"):
            return '["build.log","codemod.log","worker.log"]'
        return '["codemod.log","worker.log"]'

    def _result_branches(self, pair: Pair, run: Row) -> list[Row]:
        """The run's ``main`` branch, and some of the campaign's extra roles."""
        draw = self.draw
        main = {
            "run_id": run["id"],
            "role": "main",
            "remote_name": pair.codebase["branch"],
            "base_revision": run["main_branch_revision"],
            "revision": run["revision"],
            "absorbed": draw.rng.choices([True, False, None], weights=[20, 65, 15])[0],
        }
        extras = [
            {
                "run_id": run["id"],
                "role": role,
                "remote_name": role,
                "base_revision": draw.maybe(0.3, draw.revision()),
                "revision": draw.revision(),
                "absorbed": draw.rng.choices([True, False, None], weights=[30, 60, 10])[0],
            }
            for role in pair.campaign.extra_roles
            if draw.chance(0.8)
        ]
        return [main, *extras]

    def branch_rows(self) -> list[Row]:
        """The ``new_result_branch`` rows."""
        return [branch for branches in self.branches.values() for branch in branches]

    def last_runs(self, pairs: Sequence[Pair]) -> list[Row]:
        """The ``last_run`` rows of the pairs with runs."""
        rows = []
        for pair in (p for p in pairs if p.runs):
            effective = [r for r in pair.runs if r["result_code"] != "nothing-new-to-do"]
            unabsorbed = [r for r in pair.runs if self._has_unabsorbed_branch(r)]
            rows.append(
                {
                    "codebase": pair.codebase["name"],
                    "suite": pair.campaign.name,
                    "last_run_id": latest_id(pair.runs),
                    "last_effective_run_id": latest_id(effective),
                    "last_unabsorbed_run_id": latest_id(unabsorbed or effective),
                }
            )
        return rows

    def _has_unabsorbed_branch(self, run: Row) -> bool:
        """Whether a result branch of ``run`` (only successful runs have any) is unabsorbed."""
        branches = self.branches.get(run["id"], [])
        return any(branch["absorbed"] is not True for branch in branches)


def _success_description(result: Mapping[str, Any]) -> str:
    if "fixed_lintian_tags" in result:
        count = len(result["fixed_lintian_tags"])
        return f"Fixed {count} lintian tag{'s' if count > 1 else ''}."
    if "upstream_version" in result:
        return f"Merged new upstream version {result['upstream_version']}."
    if "applied-hints" in result:
        return "Applied multi-arch hints."
    return "Updated debian/control."
