"""Pages of v1 lists: :class:`Page`, and :func:`walk_pages` to request one after another."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a v1 list: its items and pagination (``total`` is None on legacy servers)."""

    items: list[T]
    total: int | None
    offset: int
    limit: int
    has_more: bool
    #: True when served from the cache because the service failed (stale-if-error).
    stale: bool = False

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


def walk_pages(
    first: Mapping[str, Any], page_size: int
) -> Generator[dict[str, Any], Page[Any], None]:
    """Parameters of successive pages of an iteration, given each page as it arrives.

    Honours an overall ``offset`` / ``limit`` in ``first``; stops when the server says there is
    no more (or, when ``total`` is unknown, on a short page).
    """
    offset = first.get("offset") or 0
    wanted = first.get("limit")
    seen = 0
    while wanted is None or seen < wanted:
        size = page_size if wanted is None else min(page_size, wanted - seen)
        page = yield {**first, "offset": offset, "limit": size}
        seen += len(page.items)
        offset += len(page.items)
        if not page.has_more or not page.items:
            return
