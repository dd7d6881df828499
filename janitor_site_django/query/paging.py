"""Which pages one evaluation requests (I/O-free; driven by the sync and async querysets)."""

from __future__ import annotations

from typing import Any

from ..client import Page
from .compiler import ApiQuery

#: Page requests kept in flight while earlier pages are consumed.
PREFETCH_DEPTH = 2


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
