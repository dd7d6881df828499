"""Evaluating a case on one side, sync or async, into comparable data (an :class:`Outcome`).

Rows become plain, hashable data: a model instance is the sorted (attname, value) pairs of every
concrete field, pk included, plus the related objects the case asked for (``select_related``,
``prefetch_related``); ``values()`` rows keep their keys in order; JSON values become sorted
tuples, timestamps their UTC ISO text, booleans stay apart from integers.

The API side may not load anything while being normalised: a relation it did not load is
``NOT_LOADED`` (never fetched lazily, which would also call the sync client on the event loop).
The replica side loads what Django did not (SQL is allowed there), so "Django would have
queried later" and "the API preloaded it" still compare equal.

``ActiveRun.current_duration`` is "now − start_time when the service answered" (§4.5): it
differs between any two requests, so it compares as ``VOLATILE`` once checked to be a number.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import (
    EmptyResultSet,
    FieldError,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import DatabaseError, NotSupportedError, models
from django.db.models import QuerySet
from pydantic import BaseModel

from janitor_site_django import signals
from janitor_site_django.client import SiteClient

from .cases import (
    Case,
    Count,
    Evaluate,
    Exists,
    First,
    Get,
    InBulk,
    Index,
    Iterate,
    Last,
    Latest,
    PrefetchRelated,
    PrefetchSpec,
    SelectRelated,
    SetOp,
    Terminal,
    Values,
    ValuesList,
    Window,
)
from .sides import Side, value
from .tables import REVERSE

VOLATILE = "<volatile>"
NOT_LOADED = "<not loaded>"
MISSING = "<missing>"
#: Fields whose value changes with every request.
VOLATILE_FIELDS = {("ActiveRun", "current_duration")}

#: Exception kinds compared between the sides (the first that matches names the kind).
KINDS: tuple[type[BaseException], ...] = (
    ObjectDoesNotExist,
    MultipleObjectsReturned,
    NotSupportedError,
    FieldError,
    ValidationError,
    EmptyResultSet,
    DatabaseError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    AssertionError,
)
#: Kinds that depend on the data, so requests come first (a missing row, a too short list).
DATA_KINDS = (ObjectDoesNotExist, MultipleObjectsReturned, IndexError)
#: What the API may raise to refuse a case it cannot express.
REFUSALS = (NotSupportedError, FieldError)


def category(error: BaseException) -> type[BaseException]:
    for candidate in KINDS:
        if isinstance(error, candidate):
            return candidate
    return type(error)


@dataclasses.dataclass(frozen=True)
class Raised:
    """A step or terminal raised."""

    kind: type[BaseException]
    type: type[BaseException]
    message: str
    #: Where: ``(0, i)`` building step ``i``, ``(1, i)`` terminal ``i``.
    position: tuple[int, int] = (1, 0)
    #: Requests sent by that step or terminal before it raised.
    sent: int = 0
    #: SQL queries run by that terminal before it raised (the replica: did Django read first?).
    queries: int = 0

    def __repr__(self) -> str:
        return f"raised {self.type.__name__}({self.message!r})"


@dataclasses.dataclass
class Outcome:
    """What a side answered: one entry per terminal run (stopping at the first that raised),
    the requests each sent, and facts the request budget is computed from."""

    answers: list[Any] = dataclasses.field(default_factory=list)
    sent: list[int] = dataclasses.field(default_factory=list)
    #: Requests sent while building the queryset (before any terminal).
    build_sent: int = 0
    #: Sync client calls made on an event loop thread.
    sync_on_loop: int = 0
    #: SQL queries the API side ran (it must run none).
    sql: int = 0
    #: Raw results per terminal that answered.
    raw: list[Any] = dataclasses.field(default_factory=list)
    #: SQL queries per terminal that answered (the API side must run none).
    queries: list[int] = dataclasses.field(default_factory=list)
    #: The final queryset (replica: for orderings and slices).
    queryset: QuerySet[Any] | None = None

    @property
    def raised(self) -> Raised | None:
        last = self.answers[-1] if self.answers else None
        return last if isinstance(last, Raised) else None


# Normalising -----------------------------------------------------------------------------------


def freeze(data: Any) -> Any:
    """JSON-ish data as hashable, order-insensitive-for-objects data."""
    if isinstance(data, BaseModel):
        return freeze(data.model_dump(mode="json"))
    if isinstance(data, dict):
        return ("{}", tuple(sorted((str(k), freeze(v)) for k, v in data.items())))
    if isinstance(data, (list, tuple)):
        return tuple(freeze(item) for item in data)
    if isinstance(data, bool):
        return ("bool", data)
    if isinstance(data, dt.datetime):
        if data.tzinfo is None:
            return ("naive", data.isoformat())
        return ("ts", data.astimezone(dt.timezone.utc).isoformat())
    return data


def field_value(model: str, name: str, data: Any) -> Any:
    if (model, name) in VOLATILE_FIELDS and isinstance(data, float) and data >= 0:
        return VOLATILE
    return freeze(data)


@dataclasses.dataclass(frozen=True)
class Relation:
    """One relation a case asked to load: ``name`` (forward FK or reverse accessor)."""

    name: str
    to_attr: str | None = None
    ordered: bool = True


def _applying(case: Case) -> tuple[Any, ...]:
    """The steps that shape the result: a set operation's result is a new queryset (or, on an
    empty one, the other operand), so only what comes after it applies."""
    setops = [i for i, step in enumerate(case.steps) if isinstance(step, SetOp)]
    return case.steps[setops[-1] + 1 :] if setops else case.steps


def selected(case: Case, model: type[models.Model]) -> list[str]:
    """The forward relations ``select_related`` loads, as Django's state has them: names add
    up; select_related() replaces them with "every non-null foreign key", and later names
    replace that again."""
    forward = [f.name for f in model._meta.concrete_fields if f.is_relation]
    non_null = [f.name for f in model._meta.concrete_fields if f.is_relation and not f.null]
    names: list[str] = []
    for step in _applying(case):
        if isinstance(step, SelectRelated):
            names = (
                non_null
                if not step.fields
                else [*(names if names is not non_null else []), *step.fields]
            )
    return [name for name in names if name in forward]


def relations(case: Case, model: type[models.Model]) -> list[Relation]:
    """The relations the top-level steps ask to load, for the rows' comparison."""
    forward = [f.name for f in model._meta.concrete_fields if f.is_relation]
    found = [Relation(name) for name in selected(case, model)]
    steps = _applying(case)
    for step in steps:
        if isinstance(step, PrefetchRelated):
            for lookup in step.lookups:
                if isinstance(lookup, PrefetchSpec):
                    from .cases import OrderBy

                    ordered = not any(
                        isinstance(s, OrderBy)
                        and (not s.keys or any(k.field == "?" for k in s.keys))
                        for s in lookup.steps
                    )
                    found.append(Relation(lookup.lookup, lookup.to_attr, ordered))
                elif lookup in forward or lookup in REVERSE:
                    found.append(Relation(lookup))
    return list(dict.fromkeys(found))


class Normaliser:
    """Turns one side's results into comparable data."""

    def __init__(self, side: Side, case: Case, queryset: QuerySet[Any]) -> None:
        self.api = side.name == "api"
        self.model = case.model
        names = list(getattr(queryset, "_fields", None) or ())
        self.names = names or [f.attname for f in queryset.model._meta.concrete_fields]
        self.relations = relations(case, queryset.model)

    def instance(self, obj: models.Model, nested: bool = False) -> Any:
        model = type(obj).__name__
        fields = tuple(
            sorted(
                (f.attname, field_value(model, f.attname, getattr(obj, f.attname)))
                for f in obj._meta.concrete_fields
            )
        )
        if nested or not self.relations:
            return fields
        return (fields, tuple((r.name, r.to_attr, self.related(obj, r)) for r in self.relations))

    def related(self, obj: models.Model, relation: Relation) -> Any:
        meta = obj._meta
        forward = {f.name: f for f in meta.concrete_fields if f.is_relation}
        if relation.name in forward:
            field = forward[relation.name]
            if getattr(obj, field.attname) is None:
                return None
            if relation.to_attr is not None:
                if relation.to_attr not in obj.__dict__:
                    return NOT_LOADED
                target = obj.__dict__[relation.to_attr]
            elif field.is_cached(obj):  # type: ignore[attr-defined]
                target = field.get_cached_value(obj)  # type: ignore[attr-defined]
            elif self.api:
                return NOT_LOADED
            else:
                try:
                    target = getattr(obj, relation.name)
                except ObjectDoesNotExist:
                    return MISSING
            return None if target is None else self.instance(target, nested=True)
        cache = getattr(obj, "_prefetched_objects_cache", {})
        if relation.to_attr is not None:
            if relation.to_attr not in obj.__dict__:
                return NOT_LOADED
            rows = list(obj.__dict__[relation.to_attr])
        elif relation.name in cache:
            rows = list(cache[relation.name])
        elif self.api:
            return NOT_LOADED
        else:
            rows = list(getattr(obj, relation.name).all())
        frozen = [self.instance(row, nested=True) for row in rows]
        if relation.ordered:
            return ("list", tuple(frozen))
        return ("bag", tuple(sorted(frozen, key=repr)))

    def row(self, item: Any) -> Any:
        if isinstance(item, models.Model):
            return self.instance(item)
        if isinstance(item, dict):
            return ("dict", tuple((k, field_value(self.model, k, v)) for k, v in item.items()))
        if isinstance(item, tuple):
            names = zip(self.names, item, strict=False)
            values = tuple(field_value(self.model, name, data) for name, data in names)
            fields = getattr(item, "_fields", None)
            return ("named", tuple(fields), values) if fields else ("tuple", values)
        return ("flat", field_value(self.model, self.names[0], item))

    def rows(self, items: Iterable[Any]) -> list[Any]:
        return [self.row(item) for item in items]

    def answer(self, terminal: Terminal, result: Any) -> Any:
        if isinstance(terminal, (Evaluate, Iterate, Window)):
            return self.rows(result)
        if isinstance(terminal, (Count, Exists)):
            return ("bool", result) if isinstance(result, bool) else result
        if isinstance(terminal, InBulk):
            return (
                "bulk",
                tuple(sorted(((freeze(k), self.row(v)) for k, v in result.items()), key=repr)),
            )
        return None if result is None else self.row(result)


# Running ---------------------------------------------------------------------------------------


class SyncOnLoop:
    """Counts sync client calls made on a thread running an event loop."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, sender: Any, call: Any, **kwargs: Any) -> None:
        if isinstance(sender, type) and issubclass(sender, SiteClient):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            with self.lock:
                self.count += 1


@contextmanager
def counting() -> Iterator[Callable[[], int]]:
    """Count the requests sent (from any thread) while the block runs."""
    from janitor_site_django.testing import capture_api_calls

    with capture_api_calls() as calls:
        yield lambda: len(calls.sent)


def _ids(side: Side, terminal: InBulk) -> Any:
    return None if terminal.ids is None else [value(side, pk) for pk in terminal.ids]


def run_sync(side: Side, queryset: QuerySet[Any], terminal: Terminal) -> Any:
    if isinstance(terminal, Evaluate):
        return list(queryset)
    if isinstance(terminal, Count):
        return queryset.count()
    if isinstance(terminal, Exists):
        return queryset.exists()
    if isinstance(terminal, First):
        return queryset.first()
    if isinstance(terminal, Last):
        return queryset.last()
    if isinstance(terminal, Get):
        return queryset.get(**{k: value(side, v) for k, v in terminal.kwargs})
    if isinstance(terminal, Index):
        return queryset[terminal.i]
    if isinstance(terminal, Window):
        return list(queryset[terminal.start : terminal.stop])
    if isinstance(terminal, InBulk):
        return queryset.in_bulk(_ids(side, terminal), field_name=terminal.field_name)
    if isinstance(terminal, Iterate):
        if terminal.chunk_size is None:
            return list(queryset.iterator())
        return list(queryset.iterator(chunk_size=terminal.chunk_size))
    if isinstance(terminal, Latest):
        return side.latest(queryset, terminal)
    raise AssertionError(f"unknown terminal {terminal!r}")


async def run_async(side: Side, queryset: QuerySet[Any], terminal: Terminal) -> Any:
    if isinstance(terminal, Evaluate):
        return [obj async for obj in queryset]
    if isinstance(terminal, Count):
        return await queryset.acount()
    if isinstance(terminal, Exists):
        return await queryset.aexists()
    if isinstance(terminal, First):
        return await queryset.afirst()
    if isinstance(terminal, Last):
        return await queryset.alast()
    if isinstance(terminal, Get):
        return await queryset.aget(**{k: value(side, v) for k, v in terminal.kwargs})
    if isinstance(terminal, Index):
        if queryset._result_cache is not None or terminal.i < 0:  # type: ignore[attr-defined]
            return queryset[terminal.i]  # from the cache, or Django's refusal: no I/O
        rows = [obj async for obj in queryset[terminal.i : terminal.i + 1]]
        if not rows:
            raise IndexError("list index out of range")
        return rows[0]
    if isinstance(terminal, Window):
        window = queryset[terminal.start : terminal.stop]
        if isinstance(window, list):  # sliced from the result cache
            return window
        return [obj async for obj in window]
    if isinstance(terminal, InBulk):
        return await queryset.ain_bulk(_ids(side, terminal), field_name=terminal.field_name)
    if isinstance(terminal, Iterate):
        if terminal.chunk_size is None:
            return [obj async for obj in queryset.aiterator()]
        return [obj async for obj in queryset.aiterator(chunk_size=terminal.chunk_size)]
    if isinstance(terminal, Latest):
        return await side.alatest(queryset, terminal)
    raise AssertionError(f"unknown terminal {terminal!r}")


def _raised(error: BaseException, position: tuple[int, int], sent: int, queries: int = 0) -> Raised:
    return Raised(category(error), type(error), str(error), position, sent, queries)


@contextmanager
def sql(side: Side) -> Iterator[Callable[[], int]]:
    """Count the SQL queries the replica side runs (0 for the API side, which must run none)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # a full log (9000 entries) would make the count 0
    with CaptureQueriesContext(connection) as queries:
        yield lambda: len(queries.captured_queries)


def _build(side: Side, case: Case, outcome: Outcome) -> QuerySet[Any] | None:
    """The queryset of ``case``, step by step; None when a step raised (recorded)."""
    from .sides import apply_step

    queryset = side.manager(case.model, case.manager)
    tie_breaker = not case.distinct_values()
    for index, step in enumerate(case.steps):
        with counting() as sent:
            try:
                queryset = apply_step(side, case, queryset, step, tie_breaker)
            except Exception as error:
                outcome.answers.append(_raised(error, (0, index), sent()))
                return None
            outcome.build_sent += sent()
    outcome.queryset = queryset
    return queryset


def evaluate(side: Side, case: Case) -> Outcome:
    """Build ``case`` on ``side`` and run its terminals synchronously."""
    outcome = Outcome()
    queryset = _build(side, case, outcome)
    if queryset is None:
        return outcome
    normaliser = Normaliser(side, case, queryset)
    for index, terminal in enumerate(case.terminals):
        with counting() as sent, sql(side) as queries:
            try:
                result = run_sync(side, queryset, terminal)
                answer = normaliser.answer(terminal, result)
            except Exception as error:
                outcome.answers.append(_raised(error, (1, index), sent(), queries()))
                outcome.sent.append(sent())
                return outcome
            outcome.answers.append(answer)
            outcome.raw.append(result)
            outcome.sent.append(sent())
            outcome.queries.append(queries())
            if side.name == "api":
                outcome.sql += queries()
    return outcome


async def aevaluate(side: Side, case: Case) -> Outcome:
    """Build ``case`` on ``side`` and run its terminals with the async API (on a loop)."""
    outcome = Outcome()
    watch = SyncOnLoop()
    signals.api_call.connect(watch, weak=False, dispatch_uid=id(watch))
    try:
        queryset = _build(side, case, outcome)
        if queryset is None:
            return outcome
        normaliser = Normaliser(side, case, queryset)
        for index, terminal in enumerate(case.terminals):
            with counting() as sent:
                try:
                    answer = normaliser.answer(terminal, await run_async(side, queryset, terminal))
                except Exception as error:
                    outcome.answers.append(_raised(error, (1, index), sent()))
                    outcome.sent.append(sent())
                    return outcome
                outcome.answers.append(answer)
                outcome.sent.append(sent())
        return outcome
    finally:
        signals.api_call.disconnect(dispatch_uid=id(watch))
        outcome.sync_on_loop = watch.count


def async_oracle_case(case: Case) -> Case:
    """The case whose sync evaluation is Django's answer to the async one: ``aiterator()``
    defaults to ``chunk_size=2000`` where ``iterator()`` has no default with prefetching."""
    terminals = tuple(
        Iterate(2000) if isinstance(t, Iterate) and t.chunk_size is None else t
        for t in case.terminals
    )
    return dataclasses.replace(case, terminals=terminals)


def without_slices(case: Case) -> Case:
    """The case unsliced, evaluated as a list: what a slice of an unordered set is drawn from."""
    from .cases import Slice

    steps = tuple(step for step in case.steps if not isinstance(step, Slice))
    return dataclasses.replace(case, steps=steps, terminals=(Evaluate(),))


def shows_values(case: Case) -> bool:
    return case.has(Values, ValuesList)
