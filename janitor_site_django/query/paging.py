"""Which pages one evaluation requests, and when (I/O-free; driven by the sync and async shells)."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

from ..client import Page, walk_pages
from .compiler import ApiQuery

#: Page requests kept in flight while earlier pages are consumed.
PREFETCH_DEPTH = 2


@dataclasses.dataclass(frozen=True)
class Fetch:
    """Step of :func:`walk`: request the page at ``offset`` now and send it back."""

    offset: int
    limit: int
    #: Request it in the background instead and send back None; :class:`Take` hands it back.
    ahead: bool = False
    #: The evaluation's first page (one its clones fetched may serve).
    first: bool = False


@dataclasses.dataclass(frozen=True)
class Take:
    """Step of :func:`walk`: send back the oldest page requested ahead, once it has arrived."""


@dataclasses.dataclass(frozen=True)
class Emit:
    """Step of :func:`walk`: hand these items to the consumer."""

    items: list[Any]


Walk = Generator[Fetch | Take | Emit, Any, None]


def first_request(api: ApiQuery, size: int) -> tuple[int, int]:
    """(offset, limit) of the first page."""
    return api.offset, size if api.limit is None else min(size, api.limit)


def later_requests(api: ApiQuery, size: int, first: Page[Any]) -> list[tuple[int, int]] | None:
    """(offset, limit) of every later page, known from the first page's ``total``.

    None when the server gives no total (legacy servers): then pages are requested one after
    another until one says there is no more.
    """
    if not first.items or not first.has_more:
        return []
    if first.total is None:
        return None
    end = first.total if api.limit is None else min(first.total, api.offset + api.limit)
    start = api.offset + len(first.items)
    return [(offset, min(size, end - offset)) for offset in range(start, end, size)]


def walk(api: ApiQuery, size: int) -> Walk:
    """Every page of ``api`` in ``size`` items a request: later pages are requested
    :data:`PREFETCH_DEPTH` ahead while earlier ones are consumed, or, without a total, one
    after another."""
    if api.reversed:
        yield from _backward(api, size)
        return
    first: Page[Any] = yield Fetch(*first_request(api, size), first=True)
    yield Emit(first.items)
    later = later_requests(api, size, first)
    if later is None:
        yield from _one_after_another(api, size, first)
        return
    del first  # a page is freed once consumed: memory stays flat however long the list
    ahead = [Fetch(offset, limit, ahead=True) for offset, limit in later]
    yield from ahead[:PREFETCH_DEPTH]  # each sent back None
    for index in range(len(ahead)):
        page: Page[Any] = yield Take()
        if index + PREFETCH_DEPTH < len(ahead):
            yield ahead[index + PREFETCH_DEPTH]
        yield Emit(page.items)


def _backward(api: ApiQuery, size: int) -> Walk:
    """A reversed order: the whole forward order reversed, then the slice; for a slice with an
    end, the total first (one ``limit=0`` request) and only the window of the forward order that
    it covers (without a total: all of it)."""
    total = None
    if api.limit is not None:
        counted: Page[Any] = yield Fetch(0, 0)
        total = counted.total
    start = api.offset
    if total is None:
        forward = dataclasses.replace(api, offset=0, limit=None, reversed=False)
    else:
        end = total if api.limit is None else min(total, api.offset + api.limit)
        if end <= start:
            yield Emit([])
            return
        forward = dataclasses.replace(api, offset=total - end, limit=end - start, reversed=False)
        start = 0
    items: list[Any] = []
    yield from _collect(walk(forward, size), items)
    items.reverse()
    stop = None if total is not None or api.limit is None else start + api.limit
    yield Emit(items[start:stop])


def _collect(steps: Walk, into: list[Any]) -> Walk:
    """Drive ``steps`` through the caller, keeping what they emit in ``into``."""
    reply: Any = None
    while True:
        try:
            step = steps.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            into.extend(step.items)
            reply = None
        else:
            reply = yield step


def _one_after_another(api: ApiQuery, size: int, first: Page[Any]) -> Walk:
    """The pages after ``first`` when the server gives no total, until one says there is no more."""
    requests = walk_pages({"offset": api.offset, "limit": api.limit}, size)
    next(requests)
    page = first
    while True:
        try:
            request = requests.send(page)
        except StopIteration:
            return
        page = yield Fetch(request["offset"], request["limit"])
        yield Emit(page.items)
