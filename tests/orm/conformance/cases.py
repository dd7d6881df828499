"""A drawn case as data: frozen dataclasses whose ``repr`` is Python that rebuilds them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeAlias

from django.db.models import F


@dataclasses.dataclass(frozen=True)
class Ref:
    """An instance of ``model`` with primary key ``pk``: each side's own model class."""

    model: str
    pk: Any


@dataclasses.dataclass(frozen=True)
class L:
    """A leaf: ``Q(**{path: value})``."""

    path: str
    value: Any


@dataclasses.dataclass(frozen=True)
class And:
    children: tuple[QTree, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    children: tuple[QTree, ...]


@dataclasses.dataclass(frozen=True)
class Not:
    child: QTree


QTree: TypeAlias = "L | And | Or | Not"


@dataclasses.dataclass(frozen=True)
class Filter:
    """``filter(*q, **kwargs)``, or ``exclude(…)`` when ``negate``."""

    kwargs: tuple[tuple[str, Any], ...] = ()
    q: tuple[QTree, ...] = ()
    negate: bool = False


@dataclasses.dataclass(frozen=True)
class Search:
    """``ApiQuerySet.search(term)``; on the replica, ``icontains`` OR-ed over the searched
    fields (the contract's ``q``)."""

    term: str


@dataclasses.dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` argument: ``"-field"``, or ``F(field).desc(nulls_first=True)``…"""

    field: str
    descending: bool = False
    #: ``"first"`` / ``"last"``: asked explicitly (only with ``expression``).
    nulls: str | None = None
    #: Given as ``F(field).asc()`` / ``.desc()`` rather than a string.
    expression: bool = False

    def for_api(self) -> Any:
        if not self.expression:
            return ("-" if self.descending else "") + self.field
        options = {"first": {"nulls_first": True}, "last": {"nulls_last": True}}
        expression = F(self.field)
        direction = expression.desc if self.descending else expression.asc
        return direction(**options.get(self.nulls or "", {}))

    def key(self) -> tuple[str, bool, str | None]:
        return (self.field, self.descending, self.nulls)


@dataclasses.dataclass(frozen=True)
class OrderBy:
    keys: tuple[OrderKey, ...] = ()


@dataclasses.dataclass(frozen=True)
class Reverse:
    pass


@dataclasses.dataclass(frozen=True)
class Slice:
    start: int | None = None
    stop: int | None = None


@dataclasses.dataclass(frozen=True)
class Values:
    fields: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ValuesList:
    fields: tuple[str, ...] = ()
    flat: bool = False
    named: bool = False


@dataclasses.dataclass(frozen=True)
class Distinct:
    pass


@dataclasses.dataclass(frozen=True)
class SetOp:
    """``qs.union(other)`` / ``intersection`` / ``difference``; ``other`` is built from the same
    manager with its own steps."""

    kind: str
    other: tuple[Step, ...] = ()
    all: bool = False


@dataclasses.dataclass(frozen=True)
class Nothing:
    """``none()``."""


@dataclasses.dataclass(frozen=True)
class All:
    """``all()``."""


@dataclasses.dataclass(frozen=True)
class SelectRelated:
    """``select_related(*fields)``; ``None``: ``select_related()``."""

    fields: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class PrefetchSpec:
    """``Prefetch(lookup, queryset=<model's objects + steps>, to_attr=to_attr)``."""

    lookup: str
    model: str
    steps: tuple[Step, ...] = ()
    to_attr: str | None = None


@dataclasses.dataclass(frozen=True)
class PrefetchRelated:
    lookups: tuple[str | PrefetchSpec, ...] = ()


Step: TypeAlias = (
    "Filter | Search | OrderBy | Reverse | Slice | Values | ValuesList | Distinct | SetOp | "
    "Nothing | All | SelectRelated | PrefetchRelated"
)


@dataclasses.dataclass(frozen=True)
class Evaluate:
    """``list(qs)`` / ``[x async for x in qs]``."""


@dataclasses.dataclass(frozen=True)
class Count:
    pass


@dataclasses.dataclass(frozen=True)
class Exists:
    pass


@dataclasses.dataclass(frozen=True)
class First:
    pass


@dataclasses.dataclass(frozen=True)
class Last:
    pass


@dataclasses.dataclass(frozen=True)
class Get:
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True)
class Index:
    """``qs[i]`` (async: the one row of ``qs[i:i + 1]``, ``IndexError`` if none)."""

    i: int


@dataclasses.dataclass(frozen=True)
class Window:
    """``list(qs[start:stop])``: a sliced clone of the same queryset family (what a paginator
    does before asking the count)."""

    start: int
    stop: int


@dataclasses.dataclass(frozen=True)
class InBulk:
    ids: tuple[Any, ...] | None = None
    field_name: str = "pk"


@dataclasses.dataclass(frozen=True)
class Iterate:
    """``iterator(chunk_size)`` / ``aiterator(chunk_size)`` (None: the default)."""

    chunk_size: int | None = None


@dataclasses.dataclass(frozen=True)
class Latest:
    fields: tuple[str, ...] = ()
    earliest: bool = False


Terminal: TypeAlias = (
    "Evaluate | Count | Exists | First | Last | Get | Index | Window | InBulk | Iterate | Latest"
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One drawn case: ``<model>.<manager>`` + steps, then each terminal on that queryset.

    A printed case replays: ``JANITOR_CONFORMANCE_CASE="Case(...)"`` (``test_conformance.py``).
    """

    model: str
    steps: tuple[Step, ...] = ()
    terminals: tuple[Terminal, ...] = (Evaluate(),)
    manager: str = "objects"
    #: ``JANITOR_SITE_PAGE_SIZE`` while it runs.
    page_size: int = 1000

    def all_steps(self) -> list[Step]:
        """Every step, those of set operands and prefetch querysets included."""
        found: list[Step] = []

        def walk(steps: Sequence[Step]) -> None:
            for step in steps:
                found.append(step)
                if isinstance(step, SetOp):
                    walk(step.other)
                if isinstance(step, PrefetchRelated):
                    for lookup in step.lookups:
                        if isinstance(lookup, PrefetchSpec):
                            walk(lookup.steps)

        walk(self.steps)
        return found

    def has(self, *kinds: type) -> bool:
        """Whether a top-level step is one of ``kinds``."""
        return any(isinstance(step, kinds) for step in self.steps)

    def leaves(self, top_level: bool = True) -> list[tuple[str, Any, bool]]:
        """(path, value, negated) of every filter leaf (kwargs and Q trees)."""
        found: list[tuple[str, Any, bool]] = []

        def walk(tree: QTree, negated: bool) -> None:
            if isinstance(tree, L):
                found.append((tree.path, tree.value, negated))
            elif isinstance(tree, Not):
                walk(tree.child, not negated)
            else:
                for child in tree.children:
                    walk(child, negated)

        steps = self.steps if top_level else self.all_steps()
        for step in steps:
            if isinstance(step, Filter):
                for path, value in step.kwargs:
                    found.append((path, value, step.negate))
                for tree in step.q:
                    walk(tree, step.negate)
        return found

    def distinct_values(self) -> bool:
        """``distinct()`` on ``values()`` rows: the replica then leaves out the tie-breaker (the
        server's, not the user's), which Django would add to ``SELECT DISTINCT``."""
        return self.has(Distinct) and self.has(Values, ValuesList)
