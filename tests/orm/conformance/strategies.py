"""Strategies of shape steps, terminals and whole cases of one model (:func:`strategy`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from .cases import (
    All,
    Case,
    Count,
    Distinct,
    Evaluate,
    Exists,
    Filter,
    First,
    Get,
    InBulk,
    Index,
    Iterate,
    Last,
    Latest,
    Nothing,
    OrderBy,
    OrderKey,
    PrefetchRelated,
    PrefetchSpec,
    Reverse,
    Search,
    SelectRelated,
    SetOp,
    Slice,
    Step,
    Terminal,
    Values,
    ValuesList,
    Window,
)
from .filters import FilterStrategies, chance, memo
from .tables import REVERSE, Pool, concrete, pick


class Strategies(FilterStrategies):
    """The strategies of one model, from its resource table and the pool.

    Most cases are drawn "well-formed" (``good``): lookups, orderings, fields and relations the
    resource table supports, with present and absent values, so that most of them are
    answered; the rest mix in what the API cannot do and what Django itself rejects.
    """

    # Shape steps -----------------------------------------------------------------------------

    @memo
    def order_key(self, good: bool) -> st.SearchStrategy[OrderKey]:
        fk = [f for f in concrete(self.model) if f.is_relation]
        fine = [
            *self.resource.sortable,
            "pk",
            *(f.attname for f in fk),
            *(f"{f.name}__pk" for f in fk),
        ]
        bad = [f.name for f in concrete(self.model) if f.name not in self.resource.sortable]
        bad += ["?", "nope", *(f"{f.name}__url" for f in fk)]
        fields = (
            st.sampled_from(fine)
            if good
            else st.one_of(st.sampled_from(fine), st.sampled_from(bad))
        )
        plain = st.builds(OrderKey, fields, st.booleans())
        nulls = st.sampled_from([None, "last"] if good else [None, "last", "first"])
        explicit = st.builds(lambda f, d, n: OrderKey(f, d, n, True), fields, st.booleans(), nulls)
        return st.one_of(plain, plain, plain, explicit)

    @memo
    def fields(self, good: bool) -> st.SearchStrategy[tuple[str, ...]]:
        names = [f.name for f in concrete(self.model)]
        names += ["pk", *(f.attname for f in concrete(self.model) if f.is_relation)]
        odd = [
            "nope",
            *(f"{f.name}__name" for f in concrete(self.model) if f.is_relation),
            *(f"{f.name}__url" for f in concrete(self.model) if f.is_relation),
        ]
        one = (
            st.sampled_from(names)
            if good
            else st.one_of(st.sampled_from(names), st.sampled_from(odd))
        )
        return st.lists(one, min_size=0, max_size=3, unique=True).map(tuple)

    def relations(self) -> tuple[list[str], list[str]]:
        """(forward relations, reverse relations) of this model."""
        forward = [f.name for f in concrete(self.model) if f.is_relation]
        return forward, (list(REVERSE) if self.model == "Codebase" else [])

    @memo
    def prefetch_lookup(self, good: bool) -> st.SearchStrategy[str | PrefetchSpec]:
        forward, reverse = self.relations()
        options: list[st.SearchStrategy[str | PrefetchSpec]] = []
        if forward:
            options.append(st.sampled_from(forward))
            options.append(
                st.builds(
                    PrefetchSpec,
                    st.sampled_from(forward),
                    st.just("Codebase"),
                    st.sampled_from([(), (Filter((("vcs_type", "git"),)),)]),
                    st.sampled_from([None, "cb"]),
                )
            )
        for name in reverse:
            target = REVERSE[name]
            strategies = Strategies(target, self.pool)
            campaign = pick(self.pool.campaigns)
            base = (
                st.builds(lambda c: (Filter((("campaign", c),)),), campaign)
                if target == "ReadyRun"
                else st.just(())
            )
            extra = st.one_of(
                st.just(()),
                strategies.filter(True).map(lambda f: (f,)),
                st.builds(lambda k: (OrderBy((k,)),), strategies.order_key(good)),
                *([] if good else [st.just((Slice(0, 2),))]),
            )
            if target != "ReadyRun" or not good:
                options.append(st.just(name))
            options.append(
                st.builds(
                    lambda b, e, a, n=name, t=target: PrefetchSpec(n, t, b + e, a),
                    base,
                    extra,
                    st.sampled_from([None, "got"]),
                )
            )
        if good and options:
            return st.one_of(options)
        return st.one_of(*options, st.sampled_from(["nope", "codebase", "runs"]))

    @memo
    def select(self, good: bool) -> st.SearchStrategy[SelectRelated]:
        forward, _ = self.relations()
        if good and not forward:
            return st.just(SelectRelated(("codebase",)))
        names = st.sampled_from(forward if good else [*forward, "codebase", "nope"])
        return st.one_of(
            st.just(SelectRelated()),
            st.lists(names, min_size=1, max_size=2, unique=True).map(
                lambda n: SelectRelated(tuple(n))
            ),
        )

    @memo
    def operand(self) -> st.SearchStrategy[tuple[Step, ...]]:
        base: tuple[Step, ...] = ()
        if self.resource.path_fields:  # the operand of a ready list needs its campaign too
            base = (Filter((("campaign", self.pool.campaigns[0]),)),)
        supported = st.builds(lambda leaf: Filter(((leaf.path, leaf.value),)), self.supported())
        return st.lists(supported, min_size=0, max_size=2).map(lambda f: base + tuple(f))

    @memo
    def shape(self, good: bool) -> st.SearchStrategy[Step]:
        keys = st.lists(self.order_key(good), min_size=1, max_size=3).map(tuple)
        options: list[st.SearchStrategy[Step]] = [
            st.builds(OrderBy, keys),
            st.builds(OrderBy, keys),
            st.builds(OrderBy, keys),
            st.just(OrderBy()),
            st.just(Reverse()),
            st.just(Reverse()),
            st.builds(Values, self.fields(good)),
            st.builds(ValuesList, self.fields(good), st.just(False), st.booleans()),
            st.builds(lambda f: ValuesList(f[:1], flat=True), self.fields(good)),
            st.just(Distinct()),
            st.builds(
                SetOp,
                st.sampled_from(["union", "intersection", "difference"]),
                self.operand(),
                st.booleans(),
            ),
            st.just(Nothing()),
            st.just(All()),
            self.select(good),
            st.builds(
                PrefetchRelated,
                st.lists(self.prefetch_lookup(good), min_size=1, max_size=2).map(tuple),
            ),
        ]
        return st.one_of(options)

    @memo
    def slice(self) -> st.SearchStrategy[Slice]:
        starts = st.sampled_from([None, 0, 1, 2, 3, 10, 49, 50, 999, 1000, 4999, 5000, 10**5])
        lengths = st.sampled_from([None, 0, 1, 2, 3, 7, 50, 51, 1000, 1001])

        def make(start: int | None, length: int | None) -> Slice:
            if length is None:
                return Slice(start, None)
            return Slice(start, (start or 0) + length)

        odd = st.sampled_from([Slice(-1, None), Slice(None, -2), Slice(5, 2)])
        return st.one_of(st.builds(make, starts, lengths), odd)

    # Terminals -------------------------------------------------------------------------------

    @memo
    def get(self) -> st.SearchStrategy[Get]:
        keyed = st.builds(
            lambda n, v: Get(((n, v),)), st.sampled_from(["pk", self.pk.name]), self.scalar(self.pk)
        )
        other = st.builds(lambda leaf: Get(((leaf.path, leaf.value),)), self.supported())
        return st.one_of(keyed, keyed, other, st.just(Get()))

    @memo
    def terminal(self, good: bool) -> st.SearchStrategy[Terminal]:
        ids = st.lists(self.scalar(self.pk), min_size=0, max_size=5).map(tuple)
        others = [f.name for f in concrete(self.model) if not f.primary_key][:2]
        names = ["pk", self.pk.name] if good else ["pk", self.pk.name, *others]
        sortable = [name for name in self.resource.sortable if name != "suite"]
        chunks = [None, 2000, 100, 7, 1] if good else [None, 2000, 100, 7, 1, 0, -1]
        index = [0, 1, 2, 10, 999, 1000, 4999, 5000, 10**5] + ([] if good else [-1])
        return st.one_of(
            st.just(Evaluate()),
            st.just(Evaluate()),
            st.just(Evaluate()),
            st.just(Count()),
            st.just(Exists()),
            st.just(First()),
            st.just(Last()),
            self.get(),
            self.get(),
            st.builds(Index, st.sampled_from(index)),
            st.builds(InBulk, st.one_of(ids, st.none()), st.sampled_from(names)),
            st.builds(Iterate, st.sampled_from(chunks)),
            st.builds(
                Latest,
                st.lists(
                    st.sampled_from(sortable),
                    min_size=0 if not good else 1,
                    max_size=2,
                    unique=True,
                ).map(tuple),
                st.booleans(),
            ),
            st.builds(Latest, st.sampled_from(sortable).map(lambda n: ("-" + n,)), st.booleans()),
            self.window(),
        )

    @memo
    def window(self) -> st.SearchStrategy[Window]:
        return st.builds(
            lambda a, n: Window(a, a + n),
            st.sampled_from([0, 0, 1, 10, 999, 5000]),
            st.sampled_from([0, 1, 3, 25, 1000, 1001]),
        )

    @memo
    def terminals(self, good: bool) -> st.SearchStrategy[tuple[Terminal, ...]]:
        return st.one_of(
            st.tuples(self.terminal(good)),
            st.tuples(self.terminal(good)),
            st.tuples(st.just(Evaluate()), st.sampled_from([Count(), Exists(), First(), Last()])),
            st.tuples(st.sampled_from([Count(), Exists()]), st.just(Evaluate())),
            st.tuples(st.just(First()), st.just(Last())),
            st.tuples(self.window(), st.sampled_from([Count(), Exists(), Evaluate()])),
        )

    # Cases -----------------------------------------------------------------------------------

    def case(self, page_size: int = 1000) -> st.SearchStrategy[Case]:
        @st.composite
        def draw_case(draw: Any) -> Case:
            good = not chance(draw, 0.3)
            steps: list[Step] = []
            manager = "objects"
            if self.model == "Codebase":
                manager = draw(st.sampled_from(["objects", "everything"]))
            if self.resource.path_fields and not chance(draw, 0.03 if good else 0.15):
                steps.append(Filter((("campaign", draw(pick(self.pool.campaigns))),)))
            for _ in range(draw(st.integers(0, 2 if good else 3))):
                if chance(draw, 0.15):
                    steps.append(Search(draw(self.term(self.resource.searched))))
                else:
                    steps.append(draw(self.filter(good)))
            for _ in range(draw(st.integers(0, 3))):
                steps.append(draw(self.shape(good)))
            if chance(draw, 0.45):
                steps.append(draw(self.slice()))
                if chance(draw, 0.1):
                    steps.append(draw(self.slice()))
            if not good and chance(draw, 0.1) and not any(isinstance(s, SetOp) for s in steps):
                steps = list(draw(st.permutations(steps)))
            terminals = draw(self.terminals(good))
            case = Case(self.model, tuple(steps), terminals, manager, page_size)
            if self.heavy(case) and not chance(draw, 0.1 if page_size >= 1000 else 0.0):
                case = dataclasses.replace(case, steps=(draw(self.narrowing()), *case.steps))
            return case

        return draw_case()

    def heavy(self, case: Case) -> bool:
        """Cases that would read thousands of runs, or a request per row."""
        small_chunk = any(
            isinstance(t, Iterate) and t.chunk_size is not None and 0 < t.chunk_size < 50
            for t in case.terminals
        )
        reverse = self.model == "Codebase" and case.has(PrefetchRelated)
        big = self.model in ("Run", "Codebase", "QueueItem", "MergeProposal")
        if not (small_chunk or reverse or self.model == "Run" or (case.page_size < 1000 and big)):
            return False
        narrowed = any(
            path.split("__")[0] in ("codebase", "run_id", "pk", "name", "id", "url") and not negated
            for path, _, negated in case.leaves()
        )
        window = [s for s in case.steps if isinstance(s, Slice)]
        small = any(s.stop is not None and 0 <= s.stop - (s.start or 0) <= 60 for s in window)
        return not (narrowed or small)


_STRATEGIES: dict[tuple[str, int, int], st.SearchStrategy[Case]] = {}


def strategy(model: str, pool: Pool, page_size: int = 1000) -> st.SearchStrategy[Case]:
    """The cases of ``model`` (built once per pool)."""
    key = (model, page_size, id(pool))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = Strategies(model, pool).case(page_size)
    return _STRATEGIES[key]
