"""Strategies of lookup values, filter leaves, Q trees and filter steps of one model."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from typing import Any

from django.db import models
from hypothesis import strategies as st

from .cases import And, Filter, L, Not, Or, QTree, Ref
from .tables import (
    ABSENT_TEXT,
    API_MODELS,
    EPOCH,
    FUTURE,
    INVALID_ENUM,
    MICRO,
    UNSUPPORTED,
    Pool,
    concrete,
    kind,
    pick,
    resource,
    text_path,
)


def _keyed(path: str, data: Any) -> Any:
    """A value for ``path``: an instance only where Django compares it by key (the relation or
    its attname); ``fk__pk=<instance>`` compares ``str(instance)``, which is no API matter."""
    if "__" not in path.removesuffix("__exact").removesuffix("__in"):
        return data
    if isinstance(data, Ref):
        return data.pk
    if isinstance(data, (list, tuple)):
        return type(data)(_keyed(path, item) for item in data)
    return data


def chance(draw: Any, p: float) -> bool:
    """True with probability ``p``; shrinks to False."""
    return bool(draw(st.integers(0, 999)) >= 1000 * (1 - p))


def memo(method: Callable[..., Any]) -> Callable[..., Any]:
    """Build a strategy once per instance and arguments (building and validating strategies
    for every example would dominate the run)."""

    @functools.wraps(method)
    def cached(self: FilterStrategies, *args: Any) -> Any:
        key = (method.__name__, *(tuple(a) if isinstance(a, list) else a for a in args))
        if key not in self._memo:
            self._memo[key] = method(self, *args)
        return self._memo[key]

    return cached


class FilterStrategies:
    """Values and filters of one model, from its resource table and the pool (the base of
    :class:`~.strategies.Strategies`); ``good``: what the table supports, else anything."""

    def __init__(self, model: str, pool: Pool) -> None:
        self.model = model
        self.api_model = API_MODELS[model]
        self.meta = self.api_model._meta
        self.resource = resource(model)
        self.pool = pool
        self._memo: dict[tuple[Any, ...], Any] = {}
        self.pk: models.Field[Any, Any] = self.meta.pk  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"

    def field(self, name: str) -> models.Field[Any, Any]:
        return self.meta.get_field(name)  # type: ignore[return-value]

    # Values ----------------------------------------------------------------------------------

    @memo
    def present(self, field: models.Field[Any, Any]) -> st.SearchStrategy[Any]:
        values = self.pool.of(self.model, field.attname)
        return pick(values) if values else self.absent(field)

    @memo
    def absent(self, field: models.Field[Any, Any]) -> st.SearchStrategy[Any]:
        kinds = kind(field)
        if kinds == "enum":
            valid = [choice for choice, _ in field.choices or ()]
            return st.sampled_from([*INVALID_ENUM, *valid])
        if kinds in ("text", "fk"):
            present = self.pool.of(self.model, field.attname)
            variants = pick(present).map(str.upper) if present else st.nothing()
            return st.one_of(st.sampled_from(ABSENT_TEXT), variants)
        if kinds == "int":
            return st.sampled_from([-1, 0, 987654321])
        if kinds == "float":
            return st.sampled_from([0.5, -1.0])
        if kinds == "bool":
            return st.booleans()
        if kinds == "datetime":
            return st.one_of(st.sampled_from([EPOCH, FUTURE]), self.shifted(field))
        return st.just({"no": "such value"})

    @memo
    def shifted(self, field: models.Field[Any, Any]) -> st.SearchStrategy[dt.datetime]:
        """A present timestamp, or one a microsecond or a day off."""
        values = self.pool.of(self.model, field.attname) or [EPOCH]
        offsets = st.sampled_from([dt.timedelta(0), MICRO, -MICRO, dt.timedelta(days=1)])
        return st.builds(operator.add, pick(values), offsets)

    @memo
    def scalar(self, field: models.Field[Any, Any]) -> st.SearchStrategy[Any]:
        """Mostly a present value, sometimes one no row has; a ``Ref`` for relations."""
        base = st.one_of(self.present(field), self.present(field), self.absent(field))
        if field.is_relation:
            target = field.related_model.__name__  # type: ignore[union-attr]
            refs = self.present(field).map(lambda pk: Ref(target, pk))
            return st.one_of(base, refs)
        return base

    @memo
    def many(self, field: models.Field[Any, Any]) -> st.SearchStrategy[Any]:
        items = st.lists(self.scalar(field), min_size=0, max_size=4)
        return st.one_of(items, items.map(tuple))

    @memo
    def term(self, names: tuple[str, ...]) -> st.SearchStrategy[str]:
        """A search term: a piece of a present value (maybe re-cased), or absent."""
        texts = [
            v
            for name in names
            for v in self.pool.of(self.model, self.field(name).attname)
            if isinstance(v, str) and v.isascii()
        ]
        if not texts:
            return st.sampled_from(["zzz", ""])

        @st.composite
        def piece(draw: Any) -> str:
            text = draw(pick(texts))
            start = draw(st.integers(0, max(0, len(text) - 1)))
            stop = draw(st.integers(start, min(len(text), start + 12)))
            cut = text[start:stop]
            return str(draw(st.sampled_from([cut, cut.upper(), cut.title()])))

        odd = st.sampled_from(["zzz-nothing", "", "%", "_", "PY", "nul\x00byte"])
        return st.one_of(piece(), piece(), odd)

    # Filters ---------------------------------------------------------------------------------

    def names(self, field: models.Field[Any, Any]) -> list[str]:
        """The ways to name ``field`` in a lookup: its name, ``pk``, the attname, ``fk__pk``."""
        names = [field.name]
        if field.primary_key:
            names.append("pk")
        if field.is_relation:
            target_pk = field.related_model._meta.pk.name  # type: ignore[union-attr]
            names += [field.attname, f"{field.name}__pk", f"{field.name}__{target_pk}"]
        return names

    @memo
    def supported(self) -> st.SearchStrategy[L]:
        """A lookup the resource table lists (the value may still be absent or odd)."""
        options: list[st.SearchStrategy[L]] = []
        for name, spec in self.resource.filters.items():
            field = self.field(name)
            paths = st.sampled_from(self.names(field))
            if spec.exact:
                suffix = st.sampled_from(["", "", "__exact"])
                options.append(
                    st.builds(
                        lambda p, s, v: L(p + s, _keyed(p, v)), paths, suffix, self.scalar(field)
                    )
                )
            if spec.many:
                options.append(
                    st.builds(lambda p, v: L(p + "__in", _keyed(p, v)), paths, self.many(field))
                )
            if spec.gte and spec.lt:
                moment = self.shifted(field)
                ops = [f"{name}__{op}" for op in ("gte", "gt", "lt", "lte")]
                options.append(st.builds(L, st.sampled_from(ops), moment))
                options.append(
                    st.builds(lambda a, b, n=name: L(f"{n}__range", (a, b)), moment, moment)
                )
        for name in self.resource.path_fields:
            campaigns = st.one_of(pick(self.pool.campaigns), self.absent(self.field(name)))
            options.append(st.builds(L, st.just(name), campaigns))
        for name in self.resource.defaults:
            options.append(st.builds(L, st.sampled_from([name, f"{name}__exact"]), st.booleans()))
        for name in self.resource.searched:
            paths = st.sampled_from(list(dict.fromkeys([text_path(self.api_model, name), name])))
            options.append(
                st.builds(lambda p, t: L(f"{p}__icontains", t), paths, self.term((name,)))
            )
        if self.pk.name not in self.resource.filters:  # matched client-side or by detail
            options.append(
                st.builds(L, st.sampled_from(["pk", self.pk.name]), self.scalar(self.pk))
            )
        return st.one_of(options)

    @memo
    def unsupported(self) -> st.SearchStrategy[L]:
        """A valid Django lookup the API has no parameter for."""
        options = []
        for field in concrete(self.model):
            kinds = kind(field)
            for lookup in UNSUPPORTED[kinds]:
                options.append(
                    st.builds(
                        L, st.just(f"{field.name}__{lookup}"), self.lookup_value(field, lookup)
                    )
                )
            if field.name not in self.resource.filters and kinds not in ("json", "datetime"):
                options.append(st.builds(L, st.just(field.name), self.scalar(field)))
        return st.one_of(options)

    def lookup_value(self, field: models.Field[Any, Any], lookup: str) -> st.SearchStrategy[Any]:
        if lookup == "isnull":
            return st.booleans()
        if lookup == "in":
            return self.many(field)
        if lookup == "range":
            return st.tuples(self.present(field), self.present(field))
        if lookup == "year":
            return st.sampled_from([2025, 2026])
        if lookup == "date":
            return self.present(field).map(lambda moment: moment.date())
        if lookup == "regex":
            return st.sampled_from(["^lib", "perl$"])
        if lookup == "has_key":
            return st.sampled_from(["code", "stage"])
        if lookup in ("icontains", "contains", "startswith", "endswith", "iexact"):
            return self.term((field.name,))
        return self.present(field)

    @memo
    def odd(self) -> st.SearchStrategy[L]:
        """Joins, transforms, unknown names, ``None`` and values of the wrong type."""
        options: list[st.SearchStrategy[L]] = [
            st.builds(L, st.sampled_from(["nope", "nope__exact"]), st.just("x")),
            st.builds(L, st.sampled_from([f.name for f in concrete(self.model)]), st.none()),
        ]
        for field in concrete(self.model):
            if field.is_relation:
                joins = [
                    f"{field.name}__{name}"
                    for name in ("url", "vcs_type", "inactive", "name__startswith")
                ]
                options.append(
                    st.builds(L, st.sampled_from(joins), st.sampled_from(["git", True, "x"]))
                )
            if kind(field) == "int":
                options.append(st.just(L(field.name, "not-a-number")))
            if kind(field) == "datetime":
                options.append(st.just(L(f"{field.name}__gte", "not-a-timestamp")))
        return st.one_of(options)

    @memo
    def leaf(self, good: bool) -> st.SearchStrategy[L]:
        if good:
            searched = self.resource.searched
            return self.supported().filter(
                lambda leaf: not leaf.path.endswith("__icontains") or len(searched) == 1
            )
        return st.one_of(self.supported(), self.unsupported(), self.odd())

    @memo
    def shaped_or(self, good: bool) -> st.SearchStrategy[QTree]:
        """The two OR shapes v1 can send: one field's values, and ``q`` over the searched
        fields (not good: also the raw foreign key name, or not all the searched fields)."""
        options: list[st.SearchStrategy[QTree]] = []
        for name, spec in self.resource.filters.items():
            if spec.exact and (spec.many or not good):
                field = self.field(name)
                leaf = st.one_of(
                    st.builds(L, st.just(name), self.scalar(field)),
                    st.builds(L, st.just(f"{name}__in"), self.many(field)),
                )
                options.append(st.lists(leaf, min_size=2, max_size=3).map(lambda c: Or(tuple(c))))
        searched = self.resource.searched
        texts = [text_path(self.api_model, name) for name in searched]
        shapes = [(False, len(searched))]  # (raw foreign key names, how many fields)
        if not good:
            shapes = [(True, len(searched)), (False, max(1, len(searched) - 1))]
        odd = st.sampled_from(shapes)
        options.append(
            st.builds(
                lambda t, shape: Or(
                    tuple(
                        L(f"{name}__icontains", t)
                        for name in (searched if shape[0] else texts)[: shape[1]]
                    )
                ),
                self.term(searched),
                odd,
            )
        )
        return st.one_of(options)

    @memo
    def tree(self, good: bool) -> st.SearchStrategy[QTree]:
        if good:
            return st.one_of(
                self.shaped_or(True),
                st.lists(self.leaf(True), min_size=2, max_size=2).map(lambda c: And(tuple(c))),
            )
        leaves: st.SearchStrategy[QTree] = self.leaf(False)
        return st.one_of(
            self.shaped_or(False),
            st.recursive(
                leaves,
                lambda children: st.one_of(
                    st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
                    st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
                    children.map(Not),
                ),
                max_leaves=4,
            ),
        )

    @memo
    def filter(self, good: bool) -> st.SearchStrategy[Filter]:
        @st.composite
        def draw_filter(draw: Any) -> Filter:
            leaves = draw(
                st.lists(
                    self.leaf(good),
                    min_size=0,
                    max_size=2 if good else 3,
                    unique_by=lambda leaf: leaf.path,
                )
            )
            trees = draw(
                st.lists(self.tree(good), min_size=0 if leaves else 1, max_size=1 if good else 2)
            )
            negate = chance(draw, 0.05 if good else 0.2)
            return Filter(tuple((leaf.path, leaf.value) for leaf in leaves), tuple(trees), negate)

        return draw_filter()

    @memo
    def narrowing(self) -> st.SearchStrategy[Filter]:
        """A filter leaving few rows (to keep cases over 5,000 runs cheap)."""
        if "codebase" in self.resource.filters:
            codebase = self.present(self.field("codebase"))
            return st.builds(lambda v: Filter((("codebase", v),)), codebase)
        return st.builds(
            lambda v: Filter(((f"{self.pk.name}__in", v),)),
            st.lists(self.present(self.pk), min_size=1, max_size=5),
        )
