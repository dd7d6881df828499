"""The request budget: how many requests each terminal may send, as the ORM promises.

With ``P`` = ``JANITOR_SITE_PAGE_SIZE`` and ``n`` rows in the evaluated window (the filtered
set's size from the replica, cut by the slice), ``pages(n)`` = ``max(1, ⌈n / P⌉)`` — one request
for a list or slice inside one page — and 0 for an empty slice (``limit=0``). At most:

* list, ``async for``, ``qs[a:b]``: ``pages(n)``, plus 1 for a slice of a reversed order (the
  reversed window of the forward order needs the total first); ``iterator(c)``: ``pages(n)``
  with ``P = min(c or ITERATOR_CHUNK, P)``;
* ``count()``, ``exists()``: 1; 0 after a list of the same queryset (the result cache), or after
  a count or a non-empty slice of it (the total its family already has);
* ``first()``, ``last()``, ``qs[i]``, ``latest()``: 1 in the queryset's direction, 2 against it
  (the total, then the row; ``last()`` of an ordered queryset reads backwards); ``first()`` and
  ``qs[i]`` after a list: 0; ``get()``: 1 (the detail endpoint, or ``limit=2``), plus a call
  per prefetch lookup and then per selected relation when it raises
  ``MultipleObjectsReturned`` (Django selects and prefetches first);
* ``in_bulk(ids)``: ``⌈k / 1000⌉`` for ``k`` distinct keys where the list filters by many keys
  at once (plus one per key holding a comma, which no v1 list can carry), ``k`` where it
  filters by one at a time (a walk of a long list would cost more);
  ``in_bulk()``: as a list;
* ``distinct()`` on ``values()``: the whole filtered list, plus 1 (rows are distinct only once
  every row is known);
* relations: per ``select_related`` field or forward prefetch, one batched call per page (per
  chunk of an iterator) when some row has a key; per reverse prefetch, ``pages(children)``
  (at least one when there are parent rows);
* ``none()``: 0. Refusals are checked separately to send none.

Where the list cannot filter by the primary key (``ActiveRun``, ``ReadyRun``: it is matched
client-side) a terminal may walk the whole list: ``pages(all rows)``. Set operations are not
budgeted (``None``): what an implementation must fetch for them is open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import MultipleObjectsReturned
from django.db.models.query import ModelIterable

from janitor_site_django.query.queryset import ITERATOR_CHUNK

from .cases import (
    Case,
    Count,
    Evaluate,
    Exists,
    Filter,
    First,
    Get,
    InBulk,
    Index,
    Iterate,
    Last,
    Nothing,
    PrefetchRelated,
    PrefetchSpec,
    Search,
    SetOp,
    Slice,
    Window,
)
from .evaluate import Outcome, Raised, relations, selected
from .replica import ReplicaSide
from .sides import apply_steps
from .tables import resource

MAX_LIST = 1000


def pk_matched_here(case: Case) -> bool:
    """The case filters by a primary key the list endpoint has no parameter for."""
    res = resource(case.model)
    pk = ReplicaSide().model(case.model)._meta.pk
    assert pk is not None
    if pk.name in res.filters:
        return False
    names = {"pk", pk.name, "pk__exact", f"{pk.name}__exact"}
    return any(path in names for path, _, _ in case.leaves())


def _rows(answer: Any) -> list[Any]:
    if isinstance(answer, list):
        return answer
    if isinstance(answer, tuple) and answer and answer[0] == "bulk":
        return [row for _, row in answer[1]]
    return [] if answer is None else [answer]


def _has_relations(row: Any) -> bool:
    return (
        isinstance(row, tuple)
        and len(row) == 2
        and isinstance(row[1], tuple)
        and bool(row[1])
        and isinstance(row[1][0], tuple)
        and len(row[1][0]) == 3
    )


def _reverse(case: Case, name: str) -> bool:
    from .tables import REVERSE

    return case.model == "Codebase" and name in REVERSE


class Budget:
    """The promises of one case, from the replica's counts."""

    def __init__(self, case: Case, oracle: Outcome) -> None:
        self.case = case
        self.oracle = oracle
        self.size = case.page_size
        side = ReplicaSide()
        self.model = side.model(case.model)
        queryset = oracle.queryset
        assert queryset is not None
        filters = [step for step in case.steps if isinstance(step, (Filter, Search))]
        base = apply_steps(side, case, side.manager(case.model, case.manager), filters, True)
        total = self.total = base.count()
        query = queryset.query
        self.low, self.high = query.low_mark, query.high_mark
        self.n = self._window(total)
        self.listed = self.n
        if pk_matched_here(case):
            paths = [(p, v) for p, v, neg in case.leaves() if p in ("campaign",) and not neg]
            everything = side.manager(case.model, case.manager)
            if paths:
                everything = everything.filter(campaign=paths[0][1])
            self.listed = everything.count()  # the slice applies to the match, not the walk

    def _marks(self, window: Window) -> tuple[int, int | None]:
        """(low, high) marks of ``qs[start:stop]`` (a slice of a slice narrows it)."""
        queryset = self.oracle.queryset
        assert queryset is not None
        sliced = queryset._chain()[window.start : window.stop]  # type: ignore[attr-defined]
        return sliced.query.low_mark, sliced.query.high_mark

    def _window(self, total: int) -> int:
        end = total if self.high is None else min(total, self.high)
        return max(0, end - self.low)

    def pages(self, rows: int, size: int | None = None) -> int:
        if self.high is not None and self.high == self.low:
            return 0
        return max(1, math.ceil(rows / (size or self.size)))

    def _relations(self, index: int, chunks: int) -> int | None:
        """Requests for the relations asked for: per forward relation one batched call per
        page (chunk) of rows when some row has a key; per reverse relation the pages of the
        related rows when there are rows."""
        answer = self.oracle.answers[index]
        queryset = self.oracle.queryset
        if queryset is not None and queryset._iterable_class is not ModelIterable:
            return 0  # values() rows: Django selects and prefetches nothing for them
        rows = _rows(answer)
        steps = [s for s in self.case.steps if isinstance(s, PrefetchRelated)]
        if any(
            isinstance(lookup, PrefetchSpec) and any(isinstance(x, Slice) for x in lookup.steps)
            for step in steps
            for lookup in step.lookups
        ):
            return None
        extra = 0
        for position, relation in enumerate(relations(self.case, self.model)):
            loaded = [row for row in rows if _has_relations(row)]
            if not loaded:
                continue
            if _reverse(self.case, relation.name):
                data = [row[1][position][2] for row in loaded]
                children = sum(
                    len(d[1])
                    for d in data
                    if isinstance(d, tuple) and d and d[0] in ("list", "bag")
                )
                extra += max(1, math.ceil(children / self.size))
                continue
            attname = self.model._meta.get_field(relation.name).attname  # type: ignore[union-attr]
            if any(dict(row[0]).get(attname) is not None for row in loaded):
                extra += chunks
        return extra

    def promises(self) -> list[int | None]:
        case = self.case
        if case.has(SetOp):
            return [None] * len(case.terminals)
        if case.has(Nothing):
            return [0] * len(case.terminals)
        queryset = self.oracle.queryset
        assert queryset is not None
        ordered = bool(queryset.ordered)
        #: A reversed order is the forward one read backwards: a slice of it needs the total.
        self.backward = ordered and not queryset.query.standard_ordering
        found: list[int | None] = []
        for index, terminal in enumerate(case.terminals[: len(self.oracle.answers)]):
            single = self._promise(terminal, case.terminals[:index], ordered)
            chunks = self.pages(self.n)
            if isinstance(terminal, Iterate):
                chunks = self.pages(self.n, min(terminal.chunk_size or ITERATOR_CHUNK, self.size))
            elif isinstance(terminal, Window):
                chunks = max(1, self.pages(terminal.stop - terminal.start))
            elif not isinstance(terminal, (Evaluate, InBulk)):
                chunks = 1
            relations = self._relations(index, chunks)
            answer = self.oracle.answers[index]
            if isinstance(answer, Raised) and issubclass(answer.type, MultipleObjectsReturned):
                # Django selects and prefetches the rows before counting them (its errors come
                # first): a call per prefetch lookup, and then per selected relation
                relations = sum(
                    len(step.lookups) for step in case.steps if isinstance(step, PrefetchRelated)
                )
                relations += len(selected(case, self.model)) if relations else 0
            if single == 0:  # from the result cache: nothing to fetch, related objects included
                found.append(0)
            else:
                found.append(None if relations is None or single is None else single + relations)
        return found

    def _promise(self, terminal: Any, earlier: Sequence[Any], ordered: bool) -> int | None:
        here = pk_matched_here(self.case)
        whole = self.pages(self.listed)
        cached = any(isinstance(t, Evaluate) for t in earlier)
        from_cache = (isinstance(terminal, (Count, Exists, Index, Window)) and cached) or (
            isinstance(terminal, First) and cached and ordered
        )
        if self.case.distinct_values() and not from_cache:
            # distinct rows are known only once every row is: the whole list, then the slice
            size = self.size
            if isinstance(terminal, Iterate) and terminal.chunk_size:
                size = min(size, terminal.chunk_size)
            return max(1, math.ceil(self.total / size)) + 1
        sliced = self.high is not None or bool(self.low)
        walk = self.pages(self.n) + (1 if self.backward and sliced else 0)
        if isinstance(terminal, Evaluate):
            return whole if here else walk
        if isinstance(terminal, Iterate):
            size = min(terminal.chunk_size or ITERATOR_CHUNK, self.size)
            if here:
                return whole
            return self.pages(self.n, size) + (1 if self.backward and sliced else 0)
        if isinstance(terminal, (Count, Exists)):
            fetched = any(
                isinstance(t, Window) and self._marks(t)[1] != self._marks(t)[0] for t in earlier
            )
            if cached or fetched or any(isinstance(t, Count) for t in earlier):
                return 0  # the result cache, or a total the family already has
            return whole if here else 1
        if isinstance(terminal, Window):
            if cached:
                return 0
            if here:
                return whole
            low, high = self._marks(terminal)
            if high is not None and high == low:
                return 0
            rows = max(0, min(self.total, high if high is not None else self.total) - low)
            return max(1, math.ceil(rows / self.size)) + (1 if self.backward else 0)
        if isinstance(terminal, Index) and cached:
            return 0
        if isinstance(terminal, First) and cached and ordered:
            return 0
        if isinstance(terminal, InBulk):
            if terminal.ids is None:
                return whole if here else walk
            keys = len(set(terminal.ids))
            if not keys:
                return 0
            pk = ReplicaSide().model(self.case.model)._meta.pk
            assert pk is not None
            spec = resource(self.case.model).filters.get(pk.name)
            if spec and spec.many:  # a key with a comma cannot be in a list: one request
                alone = sum(1 for key in set(terminal.ids) if isinstance(key, str) and "," in key)
                return math.ceil((keys - alone) / MAX_LIST) + alone
            if spec and spec.exact:
                return keys  # the list filters by one key at a time: a request per key
            return whole  # no key filter: one walk of the list
        if isinstance(terminal, Get):
            if self.backward and sliced:
                return 2  # a slice of a reversed order: the total, then the rows
            if resource(self.case.model).detail_operation is not None:
                return 1 if not here else whole
            return whole if here or _by_pk(self.case, terminal) else 1
        if here:
            return whole
        queryset = self.oracle.queryset
        assert queryset is not None
        forward = bool(queryset.query.standard_ordering)
        if isinstance(terminal, First):  # first(): this order, or by pk, in this direction
            return 1 if forward else 2
        if isinstance(terminal, Index):
            return 2 if self.backward else 1
        if isinstance(terminal, Last):  # last(): reversed, or by -pk in this direction
            return (2 if forward else 1) if ordered else (1 if forward else 2)
        return 1 if forward else 2  # latest(), earliest(): in this direction


def _by_pk(case: Case, terminal: Get) -> bool:
    pk = ReplicaSide().model(case.model)._meta.pk
    assert pk is not None
    return any(name in ("pk", pk.name) for name, _ in terminal.kwargs)
