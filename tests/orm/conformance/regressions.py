"""One minimal case per divergence class met while building the suite, replayed on every run.

Each entry builds its case from the pool (keys are the demo data's), so it is data like any
drawn case and goes through the same rule (:func:`.check.verify`). Each failed on the code the
class was found in (the issue's, or this suite's first runs); every one must pass now.
"""

from __future__ import annotations

from collections.abc import Callable

from .cases import (
    Case,
    Count,
    Distinct,
    Evaluate,
    Exists,
    Filter,
    First,
    Get,
    InBulk,
    Iterate,
    L,
    Last,
    Latest,
    Nothing,
    Or,
    OrderBy,
    OrderKey,
    PrefetchRelated,
    PrefetchSpec,
    Reverse,
    Search,
    SelectRelated,
    SetOp,
    Slice,
    Values,
    ValuesList,
    Window,
)
from .replica import ReplicaSide
from .tables import Pool


def _with_null_start(pool: Pool) -> str:
    """A codebase having a run without a start time (for orders with nulls)."""
    runs = ReplicaSide().model("Run")._base_manager
    codebase: str = runs.filter(start_time__isnull=True).order_by("run_id")[0].codebase_id
    return codebase


#: A prefetch of the git codebases only (twice in one call: Django's ValueError).
_git_codebases = PrefetchSpec("codebase", "Codebase", (Filter((("vcs_type", "git"),)),))


def _first_listed(pool: Pool, model: str) -> str:
    """The primary key of the first row in the list's order."""
    return str(ReplicaSide().manager(model, "objects").all()[0].pk)


def _last_ready(pool: Pool) -> tuple[str, str]:
    """(campaign, run id) of the last ready run in its campaign's list order."""
    ready = ReplicaSide().manager("ReadyRun", "objects")
    campaign = str(ready.all()[0].campaign)
    return campaign, str(ready.filter(campaign=campaign).reverse()[0].pk)


def _codebase(pool: Pool) -> str:
    return str(pool.pks("Codebase")[0])


REGRESSIONS: dict[str, Callable[[Pool], Case]] = {
    # In the issue ------------------------------------------------------------------------
    "set-operations-ignored": lambda p: Case(
        "Codebase",
        (
            Filter((("name", p.pks("Codebase")[0]),)),
            SetOp("union", (Filter((("name", p.pks("Codebase")[1]),)),)),
        ),
    ),
    "distinct-values-no-op": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), OrderBy(), Values(("campaign",)), Distinct())
    ),
    "empty-string-filter-dropped": lambda p: Case(
        "Run", (Filter((("worker_name", ""),)),), (Count(),)
    ),
    "pk-filter-matched-after-slice": lambda p: Case(
        "ActiveRun", (Filter((("pk", p.pks("ActiveRun")[-1]),)),), (First(),)
    ),
    "pk-filter-slice": lambda p: Case(
        "ReadyRun",
        (
            Filter((("campaign", p.campaigns[0]),)),
            Filter(
                (
                    (
                        "pk",
                        ReplicaSide()
                        .model("ReadyRun")
                        ._base_manager.filter(campaign=p.campaigns[0])
                        .order_by("run_id")
                        .last()
                        .pk,
                    ),
                )
            ),  # type: ignore[union-attr]
            Slice(0, 1),
        ),
    ),
    "reverse-with-nulls": lambda p: Case(
        "Run",
        (
            Filter((("codebase", _with_null_start(p)),)),
            OrderBy((OrderKey("start_time"),)),
            Reverse(),
        ),
    ),
    "last-with-ties": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), OrderBy((OrderKey("campaign"),))), (Last(),)
    ),
    "nulls-first": lambda p: Case(
        "Codebase", (OrderBy((OrderKey("value", False, "first", True),)), Slice(0, 20))
    ),
    "latest": lambda p: Case(
        "Run",
        (Filter((("codebase", _codebase(p)),)),),
        (Latest(("start_time",)), Latest(("start_time",), earliest=True)),
    ),
    "slice-get": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), Slice(0, 1)), (Get(),)
    ),
    "everything-inactive-false": lambda p: Case(
        "Codebase", (Filter((("inactive", False),)),), (Count(), Evaluate()), "everything"
    ),
    "chained-search": lambda p: Case("Codebase", (Search("py"), Search("perl"))),
    "invalid-enum": lambda p: Case("Codebase", (Filter((("vcs_type", "GIT"),)),)),
    "comma-in-list": lambda p: Case("Codebase", (Filter((("name__in", ["a,b"]),)),)),
    "get-empty-key": lambda p: Case("ActiveRun", (), (Get((("pk", ""),)),)),
    "or-in": lambda p: Case(
        "Run", (Filter(q=(Or((L("codebase__in", [_codebase(p)]), L("campaign", "debianize"))),)),)
    ),
    "values-join": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), Values(("codebase__name",)))
    ),
    "in-bulk-sliced": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), Slice(0, 2)), (InBulk(),)
    ),
    "in-bulk-values": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), Values(("run_id",))), (InBulk(),)
    ),
    "async-in-bulk-per-id": lambda p: Case(
        "ActiveRun", (), (InBulk(tuple(p.pks("ActiveRun")[:3])),)
    ),
    # Found by this suite -------------------------------------------------------------------
    "select-related-none": lambda p: Case("Codebase", (SelectRelated(("codebase",)),)),
    "select-related-unknown": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), SelectRelated(("codebase", "nope")))
    ),
    "reverse-counts-first": lambda p: Case("QueueItem", (Reverse(),)),
    "async-first-ignores-cache": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)),), (Evaluate(), First())
    ),
    "async-no-shared-pages": lambda p: Case(
        "QueueItem",
        (Filter((("codebase", p.of("QueueItem", "codebase_id")[0]),)),),
        (First(), Last()),
        page_size=10,
    ),
    "prefetch-refused-late": lambda p: Case(
        "Codebase",
        (Filter((("name__in", p.pks("Codebase")[:2]),)), PrefetchRelated(("active_runs",))),
    ),
    "distinct-values-ignores-ordering": lambda p: Case(
        "Codebase", (ValuesList(("subpath", "url")), Distinct()), (Evaluate(), Count())
    ),
    "in-bulk-field-name": lambda p: Case("MergeProposal", (), (InBulk(None, "status"),)),
    "nul-in-campaign": lambda p: Case("ReadyRun", (Filter((("campaign", "a\x00b"),)),)),
    "nul-in-search": lambda p: Case("Run", (Search("a\x00b"),), (Count(),)),
    "in-bulk-relates-unmatched-rows": lambda p: Case(
        "ReadyRun",
        (Filter((("campaign", p.campaigns[0]),)), SelectRelated(("codebase",))),
        (InBulk(("no-such-run",)),),
    ),
    "in-bulk-per-key": lambda p: Case(
        "MergeProposal", (), (InBulk(tuple(p.pks("MergeProposal")[:3])),)
    ),
    "distinct-values-count": lambda p: Case(
        "Run",
        (Filter((("campaign", "lintian-fixes"),)), Values(("campaign",)), Distinct()),
        (Count(),),
    ),
    "iterator-chunk-size-prefetch": lambda p: Case(
        "MergeProposal",
        (
            Filter((("codebase", p.of("MergeProposal", "codebase_id")[0]),)),
            PrefetchRelated(("codebase",)),
        ),
        (Iterate(None),),
    ),
    "get-counts-before-prefetching": lambda p: Case(
        "ReadyRun",
        (
            Filter((("campaign", p.campaigns[0]),)),
            PrefetchRelated((_git_codebases, _git_codebases)),
        ),
        (Get(),),
    ),
    "select-related-follows-nullable": lambda p: Case(
        "MergeProposal",
        (
            Filter((("status", "closed"),)),
            SelectRelated(),
            PrefetchRelated((PrefetchSpec("codebase", "Codebase"),)),
        ),
    ),
    "prefetch-ready-runs-refused": lambda p: Case(
        "Codebase",
        (
            Filter((("name__in", p.of("ReadyRun", "codebase_id")[:3]),)),
            PrefetchRelated(
                (
                    PrefetchSpec(
                        "ready_runs", "ReadyRun", (Filter((("campaign", p.campaigns[0]),)),)
                    ),
                )
            ),
        ),
    ),
    # Found by a random run (seed 959140005) ----------------------------------------------
    "get-empty-pk": lambda p: Case("Codebase", (), (Get((("pk", ""),)),)),
    "get-multiple-selects-first": lambda p: Case(
        "Run", (Filter((("codebase", _codebase(p)),)), SelectRelated()), (Get(),)
    ),
    "order-by-minus-random": lambda p: Case(
        "QueueItem", (OrderBy((OrderKey("?", descending=True),)),), (Evaluate(),)
    ),
    "in-bulk-walks-small-pages": lambda p: Case(
        "ActiveRun", (), (InBulk((p.pks("ActiveRun")[0],)),), page_size=10
    ),
    "get-multiple-prefetches-first": lambda p: Case(
        "ActiveRun",
        (PrefetchRelated(("codebase",)),),
        (Get((("campaign", p.of("ActiveRun", "campaign")[0]),)),),
    ),
    # Found by a random run (seed 1318685923) ---------------------------------------------
    "select-related-null-then-prefetch": lambda p: Case(
        "MergeProposal",
        (
            SelectRelated(("codebase",)),
            PrefetchRelated(("codebase", PrefetchSpec("codebase", "Codebase"))),
        ),
    ),
    "empty-union-drops-select-related": lambda p: Case(
        "ActiveRun", (Nothing(), SelectRelated(("codebase",)), SetOp("union", ())), (Evaluate(),)
    ),
    # Found by a random run (seed 1635789571) ---------------------------------------------
    "distinct-values-join-count": lambda p: Case(
        "QueueItem", (Distinct(), Values(("codebase__name",))), (Count(),)
    ),
    "values-list-select-related": lambda p: Case(
        "ReadyRun",
        (
            Filter((("campaign", p.campaigns[0]),)),
            SelectRelated(("codebase",)),
            ValuesList(("result_branches",)),
        ),
    ),
    # Found by a random run (seed 300412319) ----------------------------------------------
    "in-bulk-checks-select-related": lambda p: Case(
        "Codebase",
        (Filter((("name__in", p.pks("Codebase")[:1]),)), SelectRelated(("codebase",))),
        (InBulk(tuple(p.pks("Codebase")[:1])),),
    ),
    # Found by a random run (seed 300412319, rerun) ---------------------------------------
    "in-bulk-of-unkeyable-ids-checks-select-related": lambda p: Case(
        "Codebase", (SelectRelated(("codebase",)),), (InBulk(("",)),)
    ),
    "distinct-slice-exists-checks-select-related": lambda p: Case(
        "Codebase", (Distinct(), SelectRelated(("codebase",)), Slice(None, 2)), (Exists(),)
    ),
    # Found by a random run (seed 4168072563) ---------------------------------------------
    "search-after-slice": lambda p: Case("Codebase", (Slice(5, 2), Search("")), (Evaluate(),)),
    "get-selects-before-it-prefetches": lambda p: Case(
        "ActiveRun",
        (SelectRelated(), PrefetchRelated(("codebase", PrefetchSpec("codebase", "Codebase")))),
        (Get(),),
    ),
    "pk-matched-here-total-known": lambda p: Case(
        "ActiveRun", (Filter((("pk", "no-such-value"),)),), (Window(0, 1), Count()), page_size=10
    ),
    # Found by a random run (seed 4168072563, rerun) --------------------------------------
    "pk-matched-in-the-first-page": lambda p: Case(
        "ActiveRun",
        (Filter((("pk", _first_listed(p, "ActiveRun")),)),),
        (Evaluate(),),
        page_size=10,
    ),
    # Found by a random run (seed 3162915704) ---------------------------------------------
    "in-bulk-key-with-a-comma": lambda p: Case(
        "Codebase", (), (InBulk(("a,b", *p.pks("Codebase")[:2])),)
    ),
    # Found by a random run (seed 3162915704, rerun) --------------------------------------
    "pk-in-one-key-with-a-comma": lambda p: Case("Codebase", (), (Get((("pk__in", ["a,b"]),)),)),
    # Found by a random run (seed 1606174199) ---------------------------------------------
    "get-checks-select-related-before-refusing": lambda p: Case(
        "Codebase", (SelectRelated(("codebase",)),), (Get((("vcs_type", ""),)),)
    ),
    # Found by a random run (seed 1606174199, rerun) --------------------------------------
    "pk-matched-here-iterator-small-chunks": lambda p: Case(
        "ActiveRun", (Filter((("pk", p.pks("ActiveRun")[-1]),)),), (Iterate(1),)
    ),
    # Found by a random run (seed 2554603751) ---------------------------------------------
    "get-on-a-slice-refuses-the-filter-before-select-related": lambda p: Case(
        "Codebase",
        (SelectRelated(("codebase",)), Slice(None, 0)),
        (Get((("pk", _codebase(p)),)),),
    ),
    # Found by a random run (seed 1497844156): the budget sliced the walk, not the match ----
    "pk-matched-here-sliced-walks-to-the-match": lambda p: Case(
        "ReadyRun",
        (
            Filter((("campaign", _last_ready(p)[0]),)),
            Filter((("pk", _last_ready(p)[1]),)),
            Slice(None, 1),
        ),
        (Evaluate(),),
        page_size=10,
    ),
}
