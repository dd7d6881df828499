"""Campaigns and what hangs off them in the demo data: publish policies, change sets, the
(codebase, campaign) pairs and their candidates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from .draw import Draw, Row, compact_json


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

#: Publish modes that put a branch on a ready list.
PUBLISHING_MODES = ("propose", "attempt-push", "push-derived", "push")
#: Named publish policy variants (each campaign has all): the main branch's mode, by weight.
POLICY_VARIANTS: Mapping[str, float] = {
    "propose": 45, "attempt-push": 20, "push": 10, "push-derived": 5, "build-only": 8, "skip": 5,
    "bts": 2,
}  # fmt: skip

LINTIAN_TAGS = (
    "out-of-date-standards-version", "debian-watch-uses-insecure-uri",
    "field-name-typo-in-dep5-copyright", "file-contains-trailing-whitespace",
    "upstream-metadata-file-is-missing", "package-uses-old-debhelper-compat-version",
    "uses-debhelper-compat-file", "vcs-field-uses-insecure-uri", "homepage-field-uses-insecure-uri",
)  # fmt: skip
_CHANGE_SET_STATES = {"created": 10, "working": 25, "ready": 30, "publishing": 15, "done": 20}


def campaign_rows() -> list[Row]:
    return [{"name": c.name, "description": c.description} for c in CAMPAIGNS]


def context(draw: Draw, campaign: Campaign) -> str:
    """The ``context`` of a run, candidate or queue item of ``campaign``."""
    if campaign.name == "lintian-fixes":
        return compact_json(draw.rng.sample(LINTIAN_TAGS, draw.integer(1, 3)))
    return f"{campaign.name}:{draw.version()}"


def make_policies(draw: Draw) -> tuple[list[Row], list[Row]]:
    """The ``named_publish_policy`` rows (every variant for every campaign) and their rules."""
    policies: list[Row] = []
    rules: list[Row] = []
    for campaign in CAMPAIGNS:
        for variant in POLICY_VARIANTS:
            name = f"{campaign.name}-{variant}"
            bucket = draw.rng.choice([campaign.name, "salsa.debian.org", None])
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
                        "frequency_days": draw.rng.choice([None, None, None, 1, 7, 30]),
                    }
                )
    return policies, rules


def _rule_mode(variant: str, role: str) -> str:
    """The mode of ``role`` in a policy variant: extra roles of ``propose`` are pushed, those of
    ``bts`` skipped."""
    if role == "main" or variant not in ("propose", "bts"):
        return variant
    return "push" if variant == "propose" else "skip"


class ChangeSets:
    """The ``change_set`` rows, and three of each campaign shared by several runs and rows."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.rows: list[Row] = []
        self.shared = {c.name: [self.new(c.name) for _ in range(3)] for c in CAMPAIGNS}

    def new(self, campaign: str) -> str:
        """The id of a new change set of ``campaign`` (its state is set by :meth:`settle`)."""
        change_set = self.draw.random_uuid()
        self.rows.append({"id": change_set, "campaign": campaign, "state": None})
        return change_set

    def pick_shared(self, campaign: str) -> str:
        return self.draw.rng.choice(self.shared[campaign])

    def settle(self) -> None:
        """Give every change set its state, each state at least once."""
        states = self.draw.spread(len(self.rows), _CHANGE_SET_STATES)
        for row, state in zip(self.rows, states, strict=True):
            row["state"] = state


@dataclasses.dataclass
class Pair:
    """One (codebase, campaign) pair and what the seeder decided about it."""

    codebase: Row
    campaign: Campaign
    has_candidate: bool = True
    has_runs: bool = True
    ready: bool = False  # forced onto the campaign's ready list
    policy: str | None = None
    runs: list[Row] = dataclasses.field(default_factory=list)


def make_pairs(draw: Draw, codebases: Sequence[Row]) -> list[Pair]:
    """The pairs of each codebase, about 15% of each campaign's (at least one) ready."""
    by_campaign: dict[str, list[Pair]] = {c.name: [] for c in CAMPAIGNS}
    for codebase in codebases:
        chosen = [c for c in CAMPAIGNS if draw.chance(c.share)] or [CAMPAIGNS[0]]
        for index, campaign in enumerate(chosen):
            pair = Pair(codebase, campaign)
            if index > 0 and draw.chance(0.06):  # runs without candidate, or the reverse
                pair.has_candidate = draw.chance(0.5)
                pair.has_runs = not pair.has_candidate
            by_campaign[campaign.name].append(pair)
    pairs: list[Pair] = []
    for campaign_pairs in by_campaign.values():
        eligible = [p for p in campaign_pairs if not p.codebase["inactive"]] or campaign_pairs
        for pair in draw.rng.sample(eligible, max(1, len(eligible) * 3 // 20)):
            pair.ready = pair.has_candidate = pair.has_runs = True
        for pair in campaign_pairs:
            pair.policy = _choose_policy(draw, pair)
        pairs.extend(campaign_pairs)
    return pairs


def _choose_policy(draw: Draw, pair: Pair) -> str | None:
    if pair.ready:
        variant = draw.pick({mode: POLICY_VARIANTS[mode] for mode in PUBLISHING_MODES})
    elif draw.chance(0.05):
        return None
    else:
        variant = draw.pick(POLICY_VARIANTS)
    return f"{pair.campaign.name}-{variant}"


def make_candidates(draw: Draw, pairs: Sequence[Pair], change_sets: ChangeSets) -> list[Row]:
    """One candidate per pair with one, a few with a change set, a few with two rows."""
    rows: list[Row] = []
    for pair in (p for p in pairs if p.has_candidate):
        candidate_change_sets: list[str | None] = [None]
        if draw.chance(0.02):
            candidate_change_sets = [change_sets.pick_shared(pair.campaign.name)]
        elif draw.chance(0.02):
            candidate_change_sets.append(change_sets.pick_shared(pair.campaign.name))
        for change_set in candidate_change_sets:
            rows.append(_candidate_row(draw, len(rows) + 1, pair, change_set))
    return rows


def _candidate_row(draw: Draw, row_id: int, pair: Pair, change_set: str | None) -> Row:
    command = pair.campaign.command
    if pair.campaign.name == "lintian-fixes" and draw.chance(0.1):
        command += " --uncertain"
    return {
        "id": row_id,
        "codebase": pair.codebase["name"],
        "suite": pair.campaign.name,
        "command": command,
        "publish_policy": pair.policy,
        "value": draw.integer(1, 100),
        "success_chance": draw.maybe(0.08, round(draw.rng.random(), 4)),
        "context": None if draw.chance(0.3) else context(draw, pair.campaign),
        "change_set": change_set,
    }
