"""Deterministic demo data for the emulator's database.

:func:`seed` fills an empty database (see :mod:`.schema`) with realistic Janitor state: codebases,
runs and their result branches, the ``last_run`` summary, candidates and publish policies, merge
proposals, the queue, runs in progress and diffs. The rows depend only on ``(runs, random_seed)``.

Every timestamp lies before the fixed :data:`REFERENCE_TIME`, not the clock, so the data is the
same on every machine and day (runs in progress started up to 3 hours before it; no run finished
in the last hour). ``last_run`` follows these rules, where a NULL ``start_time`` orders before
every other and ties go to the greatest run id:

* ``last_run_id``: the latest run of the (codebase, campaign) pair;
* ``last_effective_run_id``: the latest run whose ``result_code`` is not ``nothing-new-to-do``;
* ``last_unabsorbed_run_id``: the latest successful run with a result branch whose ``absorbed``
  is not true, else the last effective run.

About 15% of each campaign's pairs (at least one) end in a successful run with an unabsorbed
``main`` branch, a publishing policy and no merge proposal, so no ready list is empty.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import schema

#: Runs in the demo data set.
DEMO_SIZE = 5000
#: "Now" for the seeded data.
REFERENCE_TIME = datetime(2026, 11, 1, 12, 0, 0)

Row = dict[str, Any]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Campaign:
    """A campaign of the demo data."""

    name: str
    description: str | None
    command: str
    share: float  # the fraction of codebases taking part
    extra_roles: tuple[str, ...] = ()


CAMPAIGNS = (
    Campaign("lintian-fixes", "Fix issues reported by lintian.", "lintian-brush", 0.9),
    Campaign(
        "fresh-releases", "Merge new upstream releases.", "deb-new-upstream", 0.55,
        ("pristine-tar", "upstream"),
    ),
    Campaign(
        "fresh-snapshots", "Merge new upstream snapshots.", "deb-new-upstream --snapshot", 0.4,
        ("pristine-tar", "upstream"),
    ),
    Campaign("multiarch-fixes", "Apply multi-arch hints.", "apply-multiarch-hints", 0.35),
    Campaign("scrub-obsolete", "Remove obsolete constraints.", "deb-scrub-obsolete", 0.35),
    Campaign("debianize", None, "debianize", 0.15, ("upstream",)),
)  # fmt: skip

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
#: Publish modes that put a branch on a ready list.
PUBLISHING_MODES = ("propose", "attempt-push", "push-derived", "push")
#: Named publish policy variants (each campaign has all): the main branch's mode, by weight.
POLICY_VARIANTS: Mapping[str, float] = {
    "propose": 45, "attempt-push": 20, "push": 10, "push-derived": 5, "build-only": 8, "skip": 5,
    "bts": 2,
}  # fmt: skip

_FIXED_CODEBASES = (
    ("python-debian", "python-team/packages"), ("python-debianbts", "python-team/packages"),
    ("debian-keyring", "debian"), ("python3.11", "cpython-team"),
    ("libsigc++-2.0", "gnome-team"), ("gtk+3.0", "gnome-team"), ("0ad", "games-team"),
    ("r-cran-data.table", "r-pkg-team"),
)  # fmt: skip
#: (name template, salsa team, weight)
_NAME_TEMPLATES = (
    ("python-{a}", "python-team/packages", 6), ("lib{a}-perl", "perl-team/modules/packages", 3),
    ("lib{a}-{b}-perl", "perl-team/modules/packages", 2),
    ("golang-github-{a}-{b}", "go-team/packages", 3), ("ruby-{a}", "ruby-team", 2),
    ("node-{a}", "js-team", 2), ("r-cran-{a}", "r-pkg-team", 1),
    ("rust-{a}", "rust-team/debcargo-conf", 1), ("haskell-{a}", "haskell-team/DHG_packages", 1),
    ("php-{a}", "php-team/pear", 1), ("{a}", "debian", 2), ("lib{a}", "debian", 1),
    ("{a}-utils", "debian", 1),
)  # fmt: skip
_WORDS = (
    "requests", "yaml", "jinja", "lxml", "attrs", "click", "numpy", "tornado", "twisted",
    "dulwich", "breezy", "paramiko", "urllib3", "chardet", "pygments", "docutils", "sphinx",
    "toml", "xdg", "gnupg", "dbus", "cairo", "gobject", "ldap", "magic", "mock", "pytest", "six",
    "babel", "markdown", "feedparser", "httplib2", "kombu", "redis", "psutil", "pexpect", "zmq",
    "sqlparse", "dateutil", "json", "http", "text", "file", "net", "data", "time", "uri", "moose",
    "test", "log", "config", "template", "dbi", "xml", "html", "mail", "io", "crypt", "digest",
    "compress", "term", "cache", "event", "socket", "parser", "tiny", "simple", "x11", "sdl2",
    "ipv6", "mp3", "gtk3", "sanity", "hashdiff", "docopt", "cobra", "viper", "afero", "pflag",
)  # fmt: skip
_LINTIAN_TAGS = (
    "out-of-date-standards-version", "debian-watch-uses-insecure-uri",
    "field-name-typo-in-dep5-copyright", "file-contains-trailing-whitespace",
    "upstream-metadata-file-is-missing", "package-uses-old-debhelper-compat-version",
    "uses-debhelper-compat-file", "vcs-field-uses-insecure-uri", "homepage-field-uses-insecure-uri",
)  # fmt: skip
#: Descriptions that exercise Unicode lowercasing in ``q`` searches.
_UNICODE_DESCRIPTIONS = (
    "Fixed spelling of Ünïcode in debian/copyright.",
    "Updated the maintainer address of the İstanbul team.",
    "Straße: corrected a typo in debian/changelog.",
    "ΣΊΣΥΦΟΣ: fixed the Greek description translation.",
    "Ångström units fixed in the long description.",
    "Renamed the İIıi test fixtures.",
)
_GIT_BRANCHES = {"master": 5, "main": 2, "debian/master": 2, "debian/latest": 2, "debian/sid": 1}
_VCS_TYPES: Mapping[str | None, float] = {
    "git": 85, "bzr": 4, "hg": 3, "svn": 3, "mtn": 0.5, "arch": 0.5, "cvs": 0.5, "darcs": 0.5,
    None: 2,
}  # fmt: skip
_PUBLISH_STATUSES = {
    "unknown": 25, "approved": 35, "needs-manual-review": 20, "blocked": 8, "rejected": 6,
    "ignored": 6,
}  # fmt: skip
_MP_STATUSES: Mapping[str | None, float] = {
    "open": 35, "merged": 30, "closed": 15, "applied": 5, "abandoned": 6, "rejected": 6, None: 3,
}  # fmt: skip
_BUCKETS = {
    "default": 80, "manual": 5, "update-existing-mp": 3, "control": 2, "hook": 3,
    "reschedule": 4, "update-new-mp": 2, "missing-deps": 1,
}  # fmt: skip
_CHANGE_SET_STATES = {"created": 10, "working": 25, "ready": 30, "publishing": 15, "done": 20}
_PEOPLE = ("jelmer", "ana", "bdrung", "carol", "dave")
_REQUESTERS = ("alice@example.org", "bob@example.com", "jelmer@debian.org", "Debian Janitor")
_INSTIGATED = ("scheduled", "manual reschedule", '{"requester":"alice@example.org"}')
_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


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
    tables = _Seeder(random.Random(random_seed), runs).build()
    with engine.begin() as conn:
        for table, rows in tables.values():
            if rows:
                conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":
            _bump_sequences(conn)
    return SeedSummary(**{field: len(rows) for field, (_, rows) in tables.items()})


def _bump_sequences(conn: Connection) -> None:
    """Make PostgreSQL's serial ids continue after the explicit ones."""
    for table in ("queue", "candidate"):
        sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
        conn.execute(sa.text(sql))


def _spread(rng: random.Random, n: int, weights: Mapping[T, float]) -> list[T]:
    """``n`` values drawn by weight, each value present at least once when ``n`` allows."""
    values = list(weights)
    drawn = rng.choices(values, weights=list(weights.values()), k=n)
    for position, value in zip(rng.sample(range(n), min(n, len(values))), values, strict=False):
        drawn[position] = value
    return drawn


def _run_order(run: Row) -> tuple[bool, datetime, str]:
    """Sort key of "the latest run": start time (NULL first), then id."""
    start = run["start_time"]
    return (start is not None, start or datetime.min, run["id"])


def _latest_id(runs: Sequence[Row]) -> str | None:
    return str(max(runs, key=_run_order)["id"]) if runs else None


@dataclasses.dataclass
class _Pair:
    """One (codebase, campaign) pair and what the seeder decided about it."""

    codebase: Row
    campaign: Campaign
    has_candidate: bool = True
    has_runs: bool = True
    ready: bool = False  # forced onto the campaign's ready list
    policy: str | None = None
    runs: list[Row] = dataclasses.field(default_factory=list)


class _Seeder:
    """Builds every table's rows in memory; :meth:`build` returns them in insertion order."""

    def __init__(self, rng: random.Random, runs: int) -> None:
        self.rng = rng
        self.n_runs = runs
        self.codebases: dict[str, Row] = {}
        self.teams: dict[str, str] = {}
        self.change_sets: list[Row] = []
        self.shared_change_sets: dict[str, list[str]] = {}
        self.pairs: list[_Pair] = []
        self.runs: list[Row] = []
        self.branches: dict[str, list[Row]] = {}  # run id -> result branches, main first
        self.ready_runs: set[str] = set()

    def build(self) -> dict[str, tuple[sa.Table, list[Row]]]:
        """:class:`SeedSummary` field -> (table, rows to insert)."""
        campaigns = [{"name": c.name, "description": c.description} for c in CAMPAIGNS]
        self.make_codebases(max(20, round(self.n_runs / 25)))
        policies, rules = self.make_policies()
        for campaign in CAMPAIGNS:
            self.shared_change_sets[campaign.name] = [
                self.new_change_set(campaign.name) for _ in range(3)
            ]
        self.make_pairs()
        self.make_runs()
        merge_proposals = self.make_merge_proposals(round(self.n_runs * 0.06))
        queue = self.make_queue(self.n_runs // 10)
        return {
            "campaigns": (schema.campaign, campaigns),
            "codebases": (schema.codebase, list(self.codebases.values())),
            "change_sets": (schema.change_set, self.change_sets),
            "runs": (schema.run, self.runs),
            "result_branches": (
                schema.new_result_branch,
                [b for bs in self.branches.values() for b in bs],
            ),
            "last_runs": (schema.last_run, self.make_last_runs()),
            "named_publish_policies": (schema.named_publish_policy, policies),
            "publish_policy_rules": (schema.publish_policy_rule, rules),
            "candidates": (schema.candidate, self.make_candidates()),
            "merge_proposals": (schema.merge_proposal, merge_proposals),
            "queue_items": (schema.queue, queue),
            "active_runs": (
                schema.active_run,
                self.make_active_runs(queue, min(20, max(3, self.n_runs // 300))),
            ),
            "vcs_diffs": (schema.vcs_diff, self.make_diffs(max(5, self.n_runs // 16))),
        }

    # -- random values -------------------------------------------------------------------------

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def maybe(self, probability: float, value: T) -> T | None:
        """``value``, or None with the given probability."""
        return None if self.rng.random() < probability else value

    def integer(self, low: int, high: int) -> int:
        """A uniform integer in [low, high] (cheaper than ``randint``)."""
        return low + int(self.rng.random() * (high - low + 1))

    def pick(self, weights: Mapping[T, float]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def random_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def revision(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def version(self) -> str:
        return f"{self.integer(0, 12)}.{self.integer(0, 30)}.{self.integer(0, 9)}"

    def rounded(self, moment: datetime) -> datetime:
        """``moment``, truncated to whole seconds half of the time."""
        return moment.replace(microsecond=0) if self.chance(0.5) else moment

    def timestamp(self, min_age: timedelta, max_age: timedelta) -> datetime:
        """A time between ``max_age`` and ``min_age`` before the reference time."""
        age = self.rng.uniform(min_age.total_seconds(), max_age.total_seconds())
        return self.rounded(REFERENCE_TIME - timedelta(seconds=age))

    def context(self, campaign: Campaign) -> str:
        if campaign.name == "lintian-fixes":
            return _json(self.rng.sample(_LINTIAN_TAGS, self.integer(1, 3)))
        return f"{campaign.name}:{self.version()}"

    # -- codebases, policies, pairs ------------------------------------------------------------

    def make_codebases(self, n: int) -> None:
        for (name, team), vcs_type in zip(
            self.codebase_names(n), _spread(self.rng, n, _VCS_TYPES), strict=True
        ):
            self.teams[name] = team
            self.codebases[name] = self.codebase_row(name, team, vcs_type)
        # A few have no repository URL (git ones, so every vcs_type keeps a URL).
        gits = [row for row in self.codebases.values() if row["vcs_type"] == "git"]
        for row in self.rng.sample(gits, max(1, n // 40)):
            for key in ("url", "branch", "branch_url", "subpath", "web_url", "hostname"):
                row[key] = None
            row["url_lower"] = None

    def codebase_names(self, n: int) -> list[tuple[str, str]]:
        names = dict(_FIXED_CODEBASES[:n])
        weights = [weight for _, _, weight in _NAME_TEMPLATES]
        attempts = 0
        while len(names) < n:
            template, team, _ = self.rng.choices(_NAME_TEMPLATES, weights=weights)[0]
            name = base = template.format(a=self.rng.choice(_WORDS), b=self.rng.choice(_WORDS))
            attempts += 1
            if name in names and attempts % 20:
                continue  # draw again; every 20th draw makes a taken name unique instead
            for suffix in itertools.count(2):
                if name not in names:
                    break
                name = f"{base}{suffix}"
            names[name] = team
        return list(names.items())

    def codebase_row(self, name: str, team: str, vcs_type: str | None) -> Row:
        url, branch, web_url = self.location(name, team, vcs_type)
        branch_url = url if branch is None else f"{url},branch={branch}"
        last_scanned = self.timestamp(timedelta(hours=1), timedelta(days=60))
        return {
            "name": name,
            "branch_url": branch_url,
            "url": url,
            "branch": branch,
            "subpath": f"packages/{name}" if self.chance(0.05) else "",
            "vcs_last_revision": self.maybe(0.15, self.revision()),
            "last_scanned": self.maybe(0.1, last_scanned),
            "web_url": web_url,
            "vcs_type": vcs_type,
            "value": self.maybe(0.1, self.integer(1, 100)),
            "inactive": self.chance(0.05),
            "hostname": urlsplit(branch_url).hostname,
            "name_lower": name.lower(),
            "url_lower": url.lower(),
        }

    def location(self, name: str, team: str, vcs: str | None) -> tuple[str, str | None, str | None]:
        """(url, branch, web_url) of a codebase's repository."""
        owner = team.split("/")[0]
        if vcs in ("git", None):
            if self.chance(0.85):
                url = f"https://salsa.debian.org/{team}/{name}.git"
            else:
                url = f"https://github.com/{self.rng.choice(_WORDS)}/{name}.git"
            return url, self.pick(_GIT_BRANCHES), url.removesuffix(".git")
        launchpad = f"~{owner}/{name}/trunk"
        return {
            "bzr": (f"https://bazaar.launchpad.net/{launchpad}", None,
                    f"https://code.launchpad.net/{launchpad}"),
            "hg": (f"https://foss.heptapod.net/{team}/{name}", "default",
                   f"https://foss.heptapod.net/{team}/{name}"),
            "svn": (f"svn://svn.debian.org/svn/{owner}/{name}/trunk", None, None),
            "mtn": (f"mtn://code.monotone.ca/{name}", f"org.debian.{name}", None),
            "arch": (f"http://arch.debian.org/arch/{owner}/{name}", None, None),
            "cvs": (f"pserver://anonymous@cvs.savannah.gnu.org/sources/{name}", None, None),
            "darcs": (f"https://hub.darcs.net/{owner}/{name}", None,
                      f"https://hub.darcs.net/{owner}/{name}"),
        }[vcs]  # fmt: skip

    def make_policies(self) -> tuple[list[Row], list[Row]]:
        policies: list[Row] = []
        rules: list[Row] = []
        for campaign in CAMPAIGNS:
            for variant in POLICY_VARIANTS:
                name = f"{campaign.name}-{variant}"
                bucket = self.rng.choice([campaign.name, "salsa.debian.org", None])
                policies.append({"name": name, "rate_limit_bucket": bucket})
                roles = ("main", *campaign.extra_roles)
                if variant == "propose":
                    roles = roles[:2]  # a role without a rule: its branches' mode is NULL
                for role in roles:
                    rules.append(
                        {
                            "policy_name": name,
                            "role": role,
                            "mode": _rule_mode(variant, role),
                            "frequency_days": self.rng.choice([None, None, None, 1, 7, 30]),
                        }
                    )
        return policies, rules

    def new_change_set(self, campaign: str) -> str:
        change_set = self.random_uuid()
        self.change_sets.append({"id": change_set, "campaign": campaign, "state": None})
        return change_set

    def make_pairs(self) -> None:
        by_campaign: dict[str, list[_Pair]] = {c.name: [] for c in CAMPAIGNS}
        for codebase in self.codebases.values():
            chosen = [c for c in CAMPAIGNS if self.chance(c.share)] or [CAMPAIGNS[0]]
            for index, campaign in enumerate(chosen):
                pair = _Pair(codebase, campaign)
                if index > 0 and self.chance(0.06):  # runs without candidate, or the reverse
                    pair.has_candidate = self.chance(0.5)
                    pair.has_runs = not pair.has_candidate
                by_campaign[campaign.name].append(pair)
        for pairs in by_campaign.values():
            eligible = [p for p in pairs if not p.codebase["inactive"]] or pairs
            for pair in self.rng.sample(eligible, max(1, len(eligible) * 3 // 20)):
                pair.ready = pair.has_candidate = pair.has_runs = True
            for pair in pairs:
                pair.policy = self.choose_policy(pair)
            self.pairs.extend(pairs)

    def choose_policy(self, pair: _Pair) -> str | None:
        if pair.ready:
            variant = self.pick({mode: POLICY_VARIANTS[mode] for mode in PUBLISHING_MODES})
        elif self.chance(0.05):
            return None
        else:
            variant = self.pick(POLICY_VARIANTS)
        return f"{pair.campaign.name}-{variant}"

    # -- runs ----------------------------------------------------------------------------------

    def make_runs(self) -> None:
        """Runs for the pairs (ready pairs first), then their publish status and descriptions."""
        run_pairs = [p for p in self.pairs if p.ready]
        run_pairs += [p for p in self.pairs if p.has_runs and not p.ready]
        counts = [1 if i < self.n_runs else 0 for i in range(len(run_pairs))]
        if self.n_runs > len(run_pairs):
            weights = [self.rng.paretovariate(1.2) for _ in run_pairs]
            for index in self.rng.choices(
                range(len(run_pairs)), weights=weights, k=self.n_runs - len(run_pairs)
            ):
                counts[index] += 1
        for pair, count in zip(run_pairs, counts, strict=True):
            if count:
                self.make_pair_runs(pair, count)
            else:
                pair.has_runs, pair.has_candidate = False, True
        successes = [run for run in self.runs if run["result_code"] == "success"]
        statuses = _spread(self.rng, len(successes), _PUBLISH_STATUSES)
        for run, status in zip(successes, statuses, strict=True):
            run["publish_status"] = status
        states = _spread(self.rng, len(self.change_sets), _CHANGE_SET_STATES)
        for row, state in zip(self.change_sets, states, strict=True):
            row["state"] = state
        count = min(len(self.runs), len(_UNICODE_DESCRIPTIONS))
        for index, text in zip(
            self.rng.sample(range(len(self.runs)), count), _UNICODE_DESCRIPTIONS, strict=False
        ):
            self.runs[index].update(description=text, description_lower=text.lower())

    def make_pair_runs(self, pair: _Pair, count: int) -> None:
        ages = sorted((self.rng.uniform(3 * 3600, 730 * 86400) for _ in range(count)), reverse=True)
        starts: list[datetime | None] = [
            self.rounded(REFERENCE_TIME - timedelta(seconds=age)) for age in ages
        ]
        for index in range(1, count - 1):  # never the last run, which ready pairs rely on
            if self.chance(0.005):
                starts[index] = starts[index - 1]  # a tie, broken by run id
            elif self.chance(0.01):
                starts[index] = None
        codes = self.rng.choices(list(RESULT_CODES), weights=list(RESULT_CODES.values()), k=count)
        if pair.ready:
            codes[-1] = "success"
        last_success = None
        for start, code in zip(starts, codes, strict=True):
            run = self.run_row(pair, code, start)
            if code == "nothing-new-to-do":
                run["resume_from"] = last_success
            elif pair.runs and self.chance(0.03):
                run["resume_from"] = self.rng.choice(pair.runs)["id"]
            if code == "success":
                last_success = run["id"]
                self.branches[run["id"]] = self.result_branches(pair, run)
            pair.runs.append(run)
            self.runs.append(run)
        if pair.ready:
            self.ready_runs.add(pair.runs[-1]["id"])
            self.branches[pair.runs[-1]["id"]][0]["absorbed"] = False

    def run_row(self, pair: _Pair, code: str, start: datetime | None) -> Row:
        codebase, campaign, success = pair.codebase, pair.campaign, code == "success"
        run_id = self.random_uuid()
        finish, duration = self.finish(start)
        base: str | None = self.revision()
        if code in ("worker-failure", "cancelled") or self.chance(0.05):
            base = None  # the worker never got to open the branch, or did not say
        text, outcome = self.outcome(pair, code)
        description = None if self.chance(0.04) else text
        worker = self.maybe(0.02, f"worker-{self.integer(1, 8)}")
        link = f"https://{worker}.janitor.example.net/runs/{run_id}"
        if self.chance(0.1):
            change_set = self.rng.choice(self.shared_change_sets[campaign.name])
        else:
            change_set = self.new_change_set(campaign.name)
        return {
            "id": run_id,
            "codebase": codebase["name"],
            "suite": campaign.name,
            "command": self.maybe(0.02, campaign.command),
            "description": description,
            **outcome,
            "start_time": start,
            "finish_time": finish,
            "duration": duration,
            "main_branch_revision": base,
            "revision": self.revision() if success else base if code == "nothing-to-do" else None,
            "context": None if self.chance(0.4) else self.context(campaign),
            "instigated_context": None if self.chance(0.5) else self.rng.choice(_INSTIGATED),
            "vcs_type": codebase["vcs_type"],
            "branch_url": codebase["branch_url"],
            "subpath": codebase["subpath"],
            "target_branch_url": codebase["url"],
            "logfilenames": self.logfilenames(code),
            "publish_status": "unknown",
            "value": self.maybe(0.03, self.integer(1, 120)),
            "worker": worker,
            "worker_link": None if worker is None else self.maybe(0.3, link),
            "change_set": change_set,
            "resume_from": None,
            "result_tags": self.result_tags(campaign) if success else None,
            "id_lower": run_id.lower(),
            "codebase_lower": codebase["name_lower"],
            "description_lower": None if description is None else description.lower(),
        }

    def finish(self, start: datetime | None) -> tuple[datetime | None, float | None]:
        """(finish_time, duration in seconds), whole or with microseconds; rarely unknown."""
        if start is None or self.chance(0.005):
            return None, None
        micros = int(min(7200, max(3, self.rng.lognormvariate(5.5, 1.0)))) * 10**6
        if self.chance(0.5):
            micros += self.integer(0, 999_999)
        return start + timedelta(microseconds=micros), micros / 10**6

    def outcome(self, pair: _Pair, code: str) -> tuple[str, Row]:
        """The run's description, and its result and failure columns."""
        row: Row = dict.fromkeys(
            ["failure_stage", "failure_details", "failure_transient", "result"]
        )
        row["result_code"] = code
        if code == "success":
            result = self.result(pair)
            row["result"] = _json(result)
            return _success_description(result), row
        if code not in FAILURES:
            return _QUIET_DESCRIPTIONS[code], row
        stage, transient = FAILURES[code]
        returncode = self.integer(1, 255)
        details = {"stage": stage.split("/"), "code": code, "returncode": returncode}
        row["failure_stage"] = stage
        row["failure_details"] = None if self.chance(0.2) else _json(details)
        flags = [transient, not transient, None]
        row["failure_transient"] = self.rng.choices(flags, weights=[70, 10, 20])[0]
        return f"{code.replace('-', ' ').capitalize()}: exit status {returncode}.", row

    def result(self, pair: _Pair) -> Any:
        name = pair.codebase["name"]
        if pair.campaign.name == "lintian-fixes":
            tags = self.rng.sample(_LINTIAN_TAGS, self.integer(1, 3))
            return {"fixed_lintian_tags": tags, "overridden_lintian_issues": []}
        if pair.campaign.name.startswith("fresh-"):
            version = self.version()
            if pair.campaign.name == "fresh-snapshots":
                version += f"+git{self.rng.getrandbits(28):07x}"
            return {
                "old_upstream_version": self.version(),
                "upstream_version": version,
                "upstream_branch_url": f"https://github.com/upstream/{name}",
                "include_upstream_history": self.chance(0.5),
            }
        if pair.campaign.name == "multiarch-fixes":
            certainty = self.rng.choice(["certain", "confident"])
            return {
                "applied-hints": [{"binary": name, "action": "ma-foreign", "certainty": certainty}]
            }
        return {"changed_files": ["debian/control"], "value": self.integer(1, 50)}

    def result_tags(self, campaign: Campaign) -> str | None:
        if not campaign.name.startswith("fresh-") or self.chance(0.3):
            return None
        return _json([{"name": f"upstream/{self.version()}", "revision": self.revision()}])

    def logfilenames(self, code: str) -> str:
        if code == "cancelled" and self.chance(0.5):
            return "[]"
        if code == "success" or FAILURES.get(code, ("",))[0].startswith("build"):
            return '["build.log","codemod.log","worker.log"]'
        return '["codemod.log","worker.log"]'

    def result_branches(self, pair: _Pair, run: Row) -> list[Row]:
        """The run's ``main`` branch, and some of the campaign's extra roles."""
        main = {
            "run_id": run["id"],
            "role": "main",
            "remote_name": pair.codebase["branch"],
            "base_revision": run["main_branch_revision"],
            "revision": run["revision"],
            "absorbed": self.rng.choices([True, False, None], weights=[20, 65, 15])[0],
        }
        extras = [
            {
                "run_id": run["id"],
                "role": role,
                "remote_name": role,
                "base_revision": self.maybe(0.3, self.revision()),
                "revision": self.revision(),
                "absorbed": self.rng.choices([True, False, None], weights=[30, 60, 10])[0],
            }
            for role in pair.campaign.extra_roles
            if self.chance(0.8)
        ]
        return [main, *extras]

    # -- tables derived from runs --------------------------------------------------------------

    def make_merge_proposals(self, n: int) -> list[Row]:
        """MPs for the main branches of successful runs (never ready ones), a few for none."""
        runs = {run["id"]: run for run in self.runs}
        pool = [bs[0] for run_id, bs in self.branches.items() if run_id not in self.ready_runs]
        matched = min(n - min(n, max(2, n // 30)), len(pool))
        chosen: list[Row | None] = list(self.rng.sample(pool, matched))
        chosen += [None] * (n - len(chosen))
        numbers: dict[str, int] = {}
        rows = []
        for branch, status in zip(chosen, _spread(self.rng, n, _MP_STATUSES), strict=True):
            run = None if branch is None else runs[branch["run_id"]]
            if branch is not None and status in ("merged", "applied", "open"):
                branch["absorbed"] = status != "open"
            rows.append(self.merge_proposal_row(run, branch, status, numbers))
        for row in self.rng.sample(rows, min(len(rows), max(1, n // 50))):
            row.update(codebase=None, codebase_lower=None)
        return rows

    def merge_proposal_row(
        self, run: Row | None, branch: Row | None, status: str | None, numbers: dict[str, int]
    ) -> Row:
        if run is None:
            codebase = self.rng.choice(list(self.codebases.values()))
            revision = self.maybe(0.3, self.revision())
        else:
            codebase = self.codebases[run["codebase"]]
            revision = None if branch is None else branch["revision"]
        name = codebase["name"]
        numbers[name] = numbers.get(name, self.integer(0, 40)) + self.integer(1, 4)
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
            delay = timedelta(seconds=self.rng.uniform(3600, 30 * 86400))
            merged_at = self.rounded(min(REFERENCE_TIME - timedelta(minutes=5), since + delay))
        mergeable = [60, 25, 15] if status == "open" else [30, 20, 50]
        return {
            "url": url,
            "codebase": name,
            "target_branch_url": codebase["url"],
            "status": status,
            "revision": revision,
            "merged_by": self.maybe(0.1, self.rng.choice(_PEOPLE)) if status == "merged" else None,
            "merged_at": merged_at,
            "last_scanned": self.maybe(0.05, self.timestamp(timedelta(0), timedelta(days=14))),
            "can_be_merged": self.rng.choices([True, False, None], weights=mergeable)[0],
            "rate_limit_bucket": self.maybe(0.2, self.teams[name].split("/")[0]),
            "url_lower": url.lower(),
            "codebase_lower": name.lower(),
        }

    def make_last_runs(self) -> list[Row]:
        rows = []
        for pair in (p for p in self.pairs if p.runs):
            effective = [r for r in pair.runs if r["result_code"] != "nothing-new-to-do"]
            unabsorbed = [r for r in pair.runs if self.has_unabsorbed_branch(r)]
            rows.append(
                {
                    "codebase": pair.codebase["name"],
                    "suite": pair.campaign.name,
                    "last_run_id": _latest_id(pair.runs),
                    "last_effective_run_id": _latest_id(effective),
                    "last_unabsorbed_run_id": _latest_id(unabsorbed or effective),
                }
            )
        return rows

    def has_unabsorbed_branch(self, run: Row) -> bool:
        """Whether a result branch of ``run`` (only successful runs have any) is unabsorbed."""
        branches = self.branches.get(run["id"], [])
        return any(branch["absorbed"] is not True for branch in branches)

    def make_candidates(self) -> list[Row]:
        """One candidate per pair with one, a few with a change set, a few with two rows."""
        rows: list[Row] = []
        for pair in (p for p in self.pairs if p.has_candidate):
            shared = self.shared_change_sets[pair.campaign.name]
            change_sets: list[str | None] = [None]
            if self.chance(0.02):
                change_sets = [self.rng.choice(shared)]
            elif self.chance(0.02):
                change_sets.append(self.rng.choice(shared))
            for change_set in change_sets:
                rows.append(self.candidate_row(len(rows) + 1, pair, change_set))
        return rows

    def candidate_row(self, row_id: int, pair: _Pair, change_set: str | None) -> Row:
        command = pair.campaign.command
        if pair.campaign.name == "lintian-fixes" and self.chance(0.1):
            command += " --uncertain"
        return {
            "id": row_id,
            "codebase": pair.codebase["name"],
            "suite": pair.campaign.name,
            "command": command,
            "publish_policy": pair.policy,
            "value": self.integer(1, 100),
            "success_chance": self.maybe(0.08, round(self.rng.random(), 4)),
            "context": None if self.chance(0.3) else self.context(pair.campaign),
            "change_set": change_set,
        }

    def make_queue(self, n: int) -> list[Row]:
        """``n`` rows (at most one per pair, plus 2% second rows with a change set)."""
        n = min(n, len(self.pairs))
        seconds = n // 50
        keys: list[tuple[_Pair, str | None]] = []
        for pair in self.rng.sample(self.pairs, n - seconds):
            shared = self.shared_change_sets[pair.campaign.name]
            keys.append((pair, self.rng.choice(shared) if self.chance(0.02) else None))
        firsts = [pair for pair, change_set in keys if change_set is None][:seconds]
        keys += [(p, self.rng.choice(self.shared_change_sets[p.campaign.name])) for p in firsts]
        buckets = _spread(self.rng, len(keys), _BUCKETS)
        return [
            self.queue_row(index, pair, change_set, bucket)
            for index, ((pair, change_set), bucket) in enumerate(zip(keys, buckets, strict=True), 1)
        ]

    def queue_row(self, row_id: int, pair: _Pair, change_set: str | None, bucket: str) -> Row:
        if bucket == "default":
            priority = self.integer(100, 100_000)
            requester = self.maybe(0.9, "Debian Janitor")
        else:
            priority = self.integer(-1000, 1000)
            requester = self.maybe(0.2, self.rng.choice(_REQUESTERS))
        return {
            "id": row_id,
            "bucket": bucket,
            "codebase": pair.codebase["name"],
            "branch_url": self.maybe(0.3, pair.codebase["branch_url"]),
            "suite": pair.campaign.name,
            "command": self.maybe(0.02, pair.campaign.command),
            "priority": priority,
            "context": None if self.chance(0.5) else self.context(pair.campaign),
            "estimated_duration": self.maybe(0.1, round(self.rng.uniform(10, 3600), 6)),
            "refresh": self.rng.choices([False, True, None], weights=[80, 10, 10])[0],
            "requester": requester,
            "change_set": change_set,
            "codebase_lower": pair.codebase["name_lower"],
        }

    def make_active_runs(self, queue: Sequence[Row], n: int) -> list[Row]:
        """Runs in progress for ``n`` queue items (the first one without its ``queue_id``)."""
        rows = []
        for index, item in enumerate(self.rng.sample(list(queue), min(n, len(queue)))):
            codebase = self.codebases[item["codebase"]]
            worker = f"worker-{self.integer(1, 8)}"
            last_success = self.maybe(0.7, self.last_success(item["codebase"], item["suite"]))
            rows.append(
                {
                    "run_id": self.random_uuid(),
                    "queue_id": None if index == 0 else item["id"],
                    "codebase": item["codebase"],
                    "suite": item["suite"],
                    "command": item["command"],
                    "change_set": item["change_set"],
                    "start_time": self.timestamp(timedelta(seconds=30), timedelta(hours=3)),
                    "estimated_duration": item["estimated_duration"],
                    "worker": worker,
                    "worker_link": self.maybe(0.3, f"https://{worker}.janitor.example.net/"),
                    "vcs_type": codebase["vcs_type"],
                    "branch_url": codebase["branch_url"],
                    "subpath": codebase["subpath"],
                    "instigated_context": self.maybe(0.5, _INSTIGATED[2]),
                    "resume_from": last_success,
                    "codebase_lower": item["codebase_lower"],
                }
            )
        return rows

    def last_success(self, codebase: str, campaign: str) -> str | None:
        key = (codebase, campaign)
        pair = next(p for p in self.pairs if (p.codebase["name"], p.campaign.name) == key)
        return _latest_id([run for run in pair.runs if run["result_code"] == "success"])

    def make_diffs(self, n: int) -> list[Row]:
        """Diffs of the main branch of every ready run and of other successful runs, ``n`` in all;
        the first is Latin-1, not UTF-8."""
        runs = {run["id"]: run for run in self.runs}
        with_vcs = [runs[run_id] for run_id in self.branches if runs[run_id]["vcs_type"]]
        chosen = [run for run in with_vcs if run["id"] in self.ready_runs]
        others = [run for run in with_vcs if run["id"] not in self.ready_runs]
        chosen += self.rng.sample(others, max(0, min(n - len(chosen), len(others))))
        rows = []
        for index, run in enumerate(chosen):
            main = self.branches[run["id"]][0]
            text = self.diff_text(run)
            if index == 0:
                latin1 = text.replace("Debian Janitor", "François Janitor")
                diff = latin1.encode("latin-1", errors="replace")
            else:
                diff = text.encode()
            rows.append(
                {
                    "codebase": run["codebase"],
                    "revision": main["revision"],
                    "base_revision": main["base_revision"],
                    "diff": diff,
                }
            )
        return rows

    def diff_text(self, run: Row) -> str:
        name = run["codebase"]
        version = json.loads(run["result"]).get("upstream_version") or self.version()
        when = format_datetime((run["finish_time"] or REFERENCE_TIME).replace(tzinfo=timezone.utc))
        return (
            _DIFF_HUNKS.get(run["suite"], _no_hunk)(name)
            + "--- a/debian/changelog\n+++ b/debian/changelog\n@@ -1,3 +1,9 @@\n"
            f"+{name} ({version}-1) UNRELEASED; urgency=medium\n+\n"
            f"+  * {run['description'] or 'Automated changes.'}\n+\n"
            f"+ -- Debian Janitor <janitor@jelmer.uk>  {when}\n+\n"
            f" {name} (0.1-1) unstable; urgency=medium\n \n   * Initial release.\n"
        )


_QUIET_DESCRIPTIONS = {
    "nothing-to-do": "No changes to make.",
    "nothing-new-to-do": "Nothing new to do since the last successful run.",
}


def _success_description(result: Mapping[str, Any]) -> str:
    if "fixed_lintian_tags" in result:
        count = len(result["fixed_lintian_tags"])
        return f"Fixed {count} lintian tag{'s' if count > 1 else ''}."
    if "upstream_version" in result:
        return f"Merged new upstream version {result['upstream_version']}."
    if "applied-hints" in result:
        return "Applied multi-arch hints."
    return "Updated debian/control."


def _rule_mode(variant: str, role: str) -> str:
    """The mode of ``role`` in a policy variant: extra roles of ``propose`` are pushed, those of
    ``bts`` skipped."""
    if role == "main" or variant not in ("propose", "bts"):
        return variant
    return "push" if variant == "propose" else "skip"


def _control_hunk(old: Sequence[str], new: Sequence[str]) -> Callable[[str], str]:
    """A debian/control hunk replacing the lines ``old`` with ``new``, in 5 lines of context."""
    changes = "".join(f"-{line}\n" for line in old) + "".join(f"+{line}\n" for line in new)

    def hunk(name: str) -> str:
        return (
            "--- a/debian/control\n+++ b/debian/control\n"
            f"@@ -1,{5 + len(old)} +1,{5 + len(new)} @@\n"
            f" Source: {name}\n Section: misc\n Priority: optional\n"
            f"{changes} Build-Depends: debhelper-compat (= 13)\n"
            f" Vcs-Git: https://salsa.debian.org/debian/{name}.git\n"
        )

    return hunk


def _no_hunk(name: str) -> str:
    return ""


_DIFF_HUNKS: dict[str, Callable[[str], str]] = {
    "lintian-fixes": _control_hunk(["Standards-Version: 4.5.0"], ["Standards-Version: 4.7.0"]),
    "multiarch-fixes": _control_hunk(["Multi-Arch: same"], ["Multi-Arch: foreign"]),
    "scrub-obsolete": _control_hunk(["Depends: dpkg (>= 1.15)"], ["Depends: dpkg"]),
    "debianize": _control_hunk([], ["Rules-Requires-Root: no"]),
}
