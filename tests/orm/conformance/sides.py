"""Where a case becomes a queryset: the :class:`Side` protocol, the API side, and :func:`build`."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any, Protocol

from django.db import models
from django.db.models import Prefetch, Q, QuerySet

from .cases import (
    All,
    And,
    Case,
    Distinct,
    Filter,
    L,
    Latest,
    Not,
    Nothing,
    OrderBy,
    OrderKey,
    PrefetchRelated,
    PrefetchSpec,
    QTree,
    Ref,
    Reverse,
    Search,
    SelectRelated,
    SetOp,
    Slice,
    Step,
    Values,
    ValuesList,
)
from .tables import API_MODELS


class Side(Protocol):
    """Where a case is built: the API models (:class:`ApiSide`) or their SQL replicas
    (``replica.ReplicaSide``, translating what the two do not spell alike)."""

    name: str

    def model(self, name: str) -> type[models.Model]: ...
    def manager(self, model: str, manager: str) -> QuerySet[Any]: ...
    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]: ...
    def order_by(
        self, queryset: QuerySet[Any], keys: Sequence[OrderKey], tie_breaker: bool
    ) -> QuerySet[Any]: ...
    def setop(
        self, left: QuerySet[Any], kind: str, right: QuerySet[Any], all: bool
    ) -> QuerySet[Any]: ...
    def latest(self, queryset: QuerySet[Any], step: Latest) -> Any: ...
    async def alatest(self, queryset: QuerySet[Any], step: Latest) -> Any: ...


class ApiSide:
    """The API models, called exactly as a Django user would."""

    name = "api"

    def model(self, name: str) -> type[models.Model]:
        return API_MODELS[name]

    def manager(self, model: str, manager: str) -> QuerySet[Any]:
        return getattr(self.model(model), manager).all()  # type: ignore[no-any-return]

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return queryset.search(term)  # type: ignore[attr-defined,no-any-return]

    def order_by(
        self, queryset: QuerySet[Any], keys: Sequence[OrderKey], tie_breaker: bool
    ) -> QuerySet[Any]:
        return queryset.order_by(*(key.for_api() for key in keys))

    def setop(
        self, left: QuerySet[Any], kind: str, right: QuerySet[Any], all: bool
    ) -> QuerySet[Any]:
        if kind == "union":
            return left.union(right, all=all)
        return getattr(left, kind)(right)  # type: ignore[no-any-return]

    def latest(self, queryset: QuerySet[Any], step: Latest) -> Any:
        return (queryset.earliest if step.earliest else queryset.latest)(*step.fields)

    async def alatest(self, queryset: QuerySet[Any], step: Latest) -> Any:
        return await (queryset.aearliest if step.earliest else queryset.alatest)(*step.fields)


def value(side: Side, data: Any) -> Any:
    """Case data → a lookup value of ``side`` (a :class:`Ref` becomes that side's instance)."""
    if isinstance(data, Ref):
        model = side.model(data.model)
        obj = model(pk=data.pk)
        obj._state.adding = False  # as if loaded: related filters refuse unsaved instances
        return obj
    if isinstance(data, list):
        return [value(side, item) for item in data]
    if isinstance(data, tuple):
        return tuple(value(side, item) for item in data)
    return data


#: Lookups SQLite answers with LIKE, whose pattern ends at a NUL: ``a\x00b`` would match as
#: ``a``. No text holds a NUL (v1 cannot carry one), nor U+FFFF (a noncharacter): the replica
#: looks for the latter, which matches nothing, as the former does.
_LIKE = ("contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact")


def _lookup_value(side: Side, tree: L) -> Any:
    data = value(side, tree.value)
    if side.name == "replica" and isinstance(data, str) and tree.path.endswith(_LIKE):
        return data.replace("\x00", "\uffff")
    return data


def build_q(side: Side, tree: QTree) -> Q:
    if isinstance(tree, L):
        return Q(**{tree.path: _lookup_value(side, tree)})
    if isinstance(tree, Not):
        return ~build_q(side, tree.child)
    combine = operator.and_ if isinstance(tree, And) else operator.or_
    return functools.reduce(combine, (build_q(side, child) for child in tree.children))


def build(case: Case, side: Side) -> QuerySet[Any]:
    """The queryset of ``case`` on ``side`` (steps applied in order; may raise as Django does)."""
    queryset = side.manager(case.model, case.manager)
    return apply_steps(side, case, queryset, case.steps, not case.distinct_values())


def apply_steps(
    side: Side, case: Case, queryset: QuerySet[Any], steps: Sequence[Step], tie_breaker: bool
) -> QuerySet[Any]:
    for step in steps:
        queryset = apply_step(side, case, queryset, step, tie_breaker)
    return queryset


def apply_step(
    side: Side, case: Case, qs: QuerySet[Any], step: Step, tie_breaker: bool
) -> QuerySet[Any]:
    if isinstance(step, Filter):
        args = [build_q(side, tree) for tree in step.q]
        kwargs = {path: value(side, data) for path, data in step.kwargs}
        return qs.exclude(*args, **kwargs) if step.negate else qs.filter(*args, **kwargs)
    if isinstance(step, Search):
        return side.search(qs, step.term)
    if isinstance(step, OrderBy):
        return side.order_by(qs, step.keys, tie_breaker)
    if isinstance(step, Reverse):
        return qs.reverse()
    if isinstance(step, Slice):
        return qs[step.start : step.stop]
    if isinstance(step, Values):
        return qs.values(*step.fields)
    if isinstance(step, ValuesList):
        return qs.values_list(*step.fields, flat=step.flat, named=step.named)
    if isinstance(step, Distinct):
        return qs.distinct()
    if isinstance(step, SetOp):
        right = side.manager(case.model, case.manager)
        right = apply_steps(side, case, right, step.other, tie_breaker)
        return side.setop(qs, step.kind, right, step.all)
    if isinstance(step, Nothing):
        return qs.none()
    if isinstance(step, All):
        return qs.all()
    if isinstance(step, SelectRelated):
        return qs.select_related(*(step.fields or ()))
    if isinstance(step, PrefetchRelated):
        lookups = [
            lookup if isinstance(lookup, str) else prefetch(side, case, lookup)
            for lookup in step.lookups
        ]
        return qs.prefetch_related(*lookups)
    raise AssertionError(f"unknown step {step!r}")


def prefetch(side: Side, case: Case, spec: PrefetchSpec) -> Prefetch:  # type: ignore[type-arg]
    queryset = apply_steps(side, case, side.manager(spec.model, "objects"), spec.steps, True)
    return Prefetch(spec.lookup, queryset=queryset, to_attr=spec.to_attr)
