"""One evaluation, two drivers: a queryset method is a plan, a generator of steps that does no
I/O, and the sync and async drivers carry its steps out in the same order.

So paging, selecting, prefetching and counting cannot exist on one side only: ``count()`` and
``acount()``, ``iterator()`` and ``aiterator()``… run the same plan. A plan yields
:class:`Call` (a flow of API calls), :class:`Walk` then :class:`Pull` (items of a list, page by
page), :class:`Sub` (another plan, e.g. the related objects' ``in_bulk``), :class:`Prefetch`
(Django's ``prefetch_related_objects``) and, in iterators, :class:`Emit` (results for the
consumer); it is sent each step's outcome and returns its value.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from typing import Any, TypeVar

from django.db.models import aprefetch_related_objects, prefetch_related_objects

from .fetch import Calls, Fetcher

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Call:
    """Send a flow's API calls (:data:`.fetch.Calls`) → the flow's value."""

    fetcher: Fetcher
    calls: Calls[Any]


@dataclasses.dataclass(frozen=True)
class Walk:
    """Start walking every page of a queryset's list, ``size`` items a request (it replaces the
    plan's previous walk) → None."""

    queryset: Any
    size: int | None = None


@dataclasses.dataclass(frozen=True)
class Pull:
    """The next ``count`` items of the walk (fewer at its end; None: all that remain) → a list."""

    count: int | None = None


@dataclasses.dataclass(frozen=True)
class Sub:
    """Run another plan, with a driver (and walk) of its own → its value."""

    plan: Plan[Any]


@dataclasses.dataclass(frozen=True)
class Prefetch:
    """``prefetch_related_objects(results, *lookups)`` → None."""

    results: Sequence[Any]
    lookups: Sequence[Any]


@dataclasses.dataclass(frozen=True)
class Emit:
    """Hand these results to the consumer (a plan driven by :func:`stream`/:func:`astream`)."""

    results: list[Any]


Step = Call | Walk | Pull | Sub | Prefetch | Emit
Plan = Generator[Step, Any, T]


class _Sync:
    def __init__(self) -> None:
        self.items: Iterator[Any] = iter(())

    def outcome(self, step: Step) -> Any:
        if isinstance(step, Call):
            return step.fetcher.run(step.calls)
        if isinstance(step, Walk):
            self.close()
            self.items = step.queryset._items(step.size)
            return None
        if isinstance(step, Pull):
            return list(itertools.islice(self.items, step.count))
        if isinstance(step, Sub):
            return run(step.plan)
        if isinstance(step, Prefetch):
            prefetch_related_objects(list(step.results), *step.lookups)
            return None
        raise TypeError(f"a plan yielded {step!r} where its value was wanted")

    def close(self) -> None:
        getattr(self.items, "close", lambda: None)()


class _Async:
    def __init__(self) -> None:
        self.batches: AsyncIterator[list[Any]] | None = None
        self.buffer: list[Any] = []

    async def outcome(self, step: Step) -> Any:
        if isinstance(step, Call):
            return await step.fetcher.arun(step.calls)
        if isinstance(step, Walk):
            await self.close()
            self.batches = step.queryset._abatches(step.size)
            return None
        if isinstance(step, Pull):
            return await self._pull(step.count)
        if isinstance(step, Sub):
            return await arun(step.plan)
        if isinstance(step, Prefetch):
            await aprefetch_related_objects(list(step.results), *step.lookups)
            return None
        raise TypeError(f"a plan yielded {step!r} where its value was wanted")

    async def _pull(self, count: int | None) -> list[Any]:
        while self.batches is not None and (count is None or len(self.buffer) < count):
            try:
                self.buffer += await anext(self.batches)
            except StopAsyncIteration:
                break
        end = len(self.buffer) if count is None else count
        pulled, self.buffer = self.buffer[:end], self.buffer[end:]
        return pulled

    async def close(self) -> None:
        if self.batches is not None:
            await getattr(self.batches, "aclose")()  # noqa: B009 (AsyncIterator has no aclose)
        self.batches, self.buffer = None, []


def _steps(plan: Plan[T], driver: _Sync) -> Generator[Any, None, T]:
    outcome: Any = None
    while True:
        try:
            step = plan.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, Emit):
            yield from step.results
            outcome = None
        else:
            outcome = driver.outcome(step)


def run(plan: Plan[T]) -> T:
    """Carry out ``plan`` synchronously → its value."""
    driver = _Sync()
    try:
        next(_steps(plan, driver))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        driver.close()
    raise TypeError("a plan run for its value emitted results")


def stream(plan: Plan[None]) -> Iterator[Any]:
    """Carry out ``plan`` synchronously, yielding what it emits."""
    driver = _Sync()
    try:
        yield from _steps(plan, driver)
    finally:
        driver.close()
        plan.close()


async def arun(plan: Plan[T]) -> T:
    """Carry out ``plan`` asynchronously → its value."""
    driver = _Async()
    try:
        outcome: Any = None
        while True:
            try:
                step = plan.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = await driver.outcome(step)
    finally:
        await driver.close()


async def astream(plan: Plan[None]) -> AsyncIterator[Any]:
    """Carry out ``plan`` asynchronously, yielding what it emits."""
    driver = _Async()
    try:
        outcome: Any = None
        while True:
            try:
                step = plan.send(outcome)
            except StopIteration:
                return
            if isinstance(step, Emit):
                for result in step.results:
                    yield result
                outcome = None
            else:
                outcome = await driver.outcome(step)
    finally:
        await driver.close()
        plan.close()
