"""How a queryset calls the API: flows of operations, each driven by a sync and an async shell.

A flow (:data:`Calls`) yields the operations to send and decides everything else, so that both
shells behave identically: :meth:`Fetcher.run` / :meth:`Fetcher.arun` send one flow's
operations, :meth:`Fetcher.items` / :meth:`Fetcher.aitems` walk every page of a query
(:func:`.paging.walk`), the sync one in threads, the async one in tasks.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar

from django.db import NotSupportedError
from django.db.models import Model

from .. import exceptions
from ..client import (
    AsyncSiteClient,
    Operation,
    Page,
    SiteClient,
    get_async_client,
    get_client,
    user_token,
)
from . import paging
from .compiler import PK, ApiQuery
from .resources import Resource

T = TypeVar("T")

#: A flow of API calls: it yields operations, is sent each result (or thrown the call's error)
#: and returns a ``T``.
Calls = Generator[Operation[Any], Any, T]

#: Threads fetching the next page while the current one is consumed.
_prefetcher = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="janitor-site-page")
#: Event-loop turns given to pages requested ahead before a page is handed to the consumer, who
#: keeps the loop until it asks for the next one: a request on a pooled connection is written in
#: four (and later ones while the next page is awaited).
_SEND_TICKS = 8
#: How long clones of one queryset reuse each other's totals and first pages.
FAMILY_SECONDS = 10.0
#: Most values one ``__in`` parameter may carry (v1 lists hold at most 1000 elements).
MAX_LIST = 1000
#: Parent resources whose 404 on a list means "no rows" (an unknown campaign lists nothing).
_EMPTY_PARENTS = ("campaign", "codebase")


class Family:
    """What clones of one queryset share: totals and first pages already fetched, so that a
    count after a page (or a page after a count, in the admin) makes no request. Forgotten
    after :data:`FAMILY_SECONDS`, so a long-lived queryset never serves stale numbers."""

    def __init__(self) -> None:
        self._born = time.monotonic()
        self._totals: dict[tuple[Any, ...], int] = {}
        self._first_pages: dict[tuple[Any, ...], Page[Any]] = {}

    def _expire(self) -> None:
        if time.monotonic() - self._born > FAMILY_SECONDS:
            self._born = time.monotonic()
            self._totals.clear()
            self._first_pages.clear()

    def totals(self) -> dict[tuple[Any, ...], int]:
        self._expire()
        return self._totals

    def first_pages(self) -> dict[tuple[Any, ...], Page[Any]]:
        self._expire()
        return self._first_pages


@dataclasses.dataclass(frozen=True)
class _Done(Generic[T]):
    """What a flow returned."""

    value: T


def _advance(calls: Calls[T], outcome: Any) -> Operation[Any] | _Done[T]:
    """Resume ``calls`` with a call's outcome (thrown in when it is the call's error)."""
    try:
        if isinstance(outcome, exceptions.JanitorSiteError):
            return calls.throw(outcome)
        return calls.send(outcome)
    except StopIteration as done:
        return _Done(done.value)


def _page_size(client: SiteClient | AsyncSiteClient, wanted: int | None) -> int:
    return min(wanted or client.config.page_size, client.config.page_size)


class Fetcher:
    """One queryset's requests: its resource's operations, its token, its clones' family."""

    def __init__(
        self, model: type[Model], resource: Resource, token: str | None, family: Family
    ) -> None:
        self.model = model
        self.resource = resource
        self.token = token
        self.family = family

    # Flows --------------------------------------------------------------------------------

    def page(self, api: ApiQuery, offset: int, limit: int) -> Calls[Page[Any]]:
        """One page of ``api``; a missing parent (an unknown campaign) is an empty page."""
        params = {**api.params, "offset": offset, "limit": limit}
        try:
            page: Page[Any] = yield self.resource.list_operation(*api.path, **params)
        except exceptions.NotFound as error:
            if error.details.get("resource") not in _EMPTY_PARENTS:
                raise
            page = Page([], 0, offset, limit, False)
        if page.total is not None:
            self.family.totals()[api.signature] = page.total
        return page

    def first_page(self, api: ApiQuery, offset: int, limit: int) -> Calls[Page[Any]]:
        """The first page of an evaluation, from a clone's earlier page when one covers it."""
        key = (api.signature, api.params.get("sort"), offset)
        known = self.family.first_pages().get(key)
        if known is not None and (len(known.items) >= limit or not known.has_more):
            more = known.has_more or len(known.items) > limit
            return Page(known.items[:limit], known.total, offset, limit, more)
        page = yield from self.page(api, offset, limit)
        self.family.first_pages()[key] = page
        return page

    def split(self, api: ApiQuery) -> list[ApiQuery]:
        """One query per 1000 values of its longest ``__in`` list (v1's list limit)."""
        long = [
            name
            for name, value in api.params.items()
            if isinstance(value, list) and len(value) > MAX_LIST
        ]
        if not long:
            return [api]
        if api.offset or api.limit is not None or len(long) > 1:
            raise NotSupportedError(
                f"{self.model.__name__}: slicing or combining __in lists of more than {MAX_LIST} "
                "values is not supported; iterate in batches."
            )
        values = api.params[long[0]]
        return [
            ApiQuery({**api.params, long[0]: values[i : i + MAX_LIST]}, api.path, 0, None)
            for i in range(0, len(values), MAX_LIST)
        ]

    def _without_pk(self, api: ApiQuery) -> tuple[ApiQuery, Callable[[Any], bool] | None]:
        """A primary key the list cannot filter by is matched here, on the items of the whole
        (unsliced) list; the slice then applies to the match. None: nothing to match here."""
        if PK not in api.params:
            return api, None
        wanted = api.params[PK]
        key = self.model._meta.pk.name
        params = {k: v for k, v in api.params.items() if k != PK}
        listed = ApiQuery(params, api.path, 0, None, api.empty)  # one match: order is moot
        return listed, lambda item: bool(item.__dict__[key] == wanted)

    def detail(self, api: ApiQuery, extra: Mapping[str, Any]) -> Operation[Any] | None:
        """The detail request when ``api`` is exactly ``pk=value`` on a resource with a detail
        endpoint (and not sliced), else None (``extra``: the queryset's raw parameters)."""
        resource = self.resource
        pk = self.model._meta.pk
        spec = resource.filters.get(pk.name) if pk is not None else None
        param = spec.exact if spec is not None and spec.exact else PK
        ignored = {"sort", *resource.detail_params}
        filters = {k: v for k, v in api.params.items() if k not in ignored}
        if resource.detail_operation is None or api.offset or api.limit is not None:
            return None
        if list(filters) == [param] and set(extra) <= set(resource.detail_params):
            try:
                return resource.detail_operation(filters[param], **extra)
            except exceptions.UnaddressableKey:  # a key with "/": matched on the listed items
                return None
        return None

    def _credentials(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self.token is None else user_token(self.token)

    # Sync shell ---------------------------------------------------------------------------

    def run(self, calls: Calls[T], client: SiteClient | None = None) -> T:
        """Send the operations of ``calls`` (with this thread's client unless given one)."""
        step = _advance(calls, None)
        while isinstance(step, Operation):
            client = client or get_client()
            try:
                with self._credentials():
                    outcome: Any = client.call(step)
            except exceptions.JanitorSiteError as error:
                outcome = error
            step = _advance(calls, outcome)
        return step.value

    def items(self, api: ApiQuery, page_size: int | None = None) -> Iterator[Any]:
        """Every parsed item of ``api``, page by page (the next pages fetched ahead)."""
        listed, match = self._without_pk(api)
        if listed.empty:
            return
        client = get_client()
        size = _page_size(client, page_size if match is None else None)  # a match: one row
        walked = (item for part in self.split(listed) for item in self._walk(client, part, size))
        if match is None:
            yield from walked
            return
        found = next(filter(match, walked), None)  # a primary key: the first match is the only one
        walked.close()
        yield from self._matched(api, [] if found is None else [found])

    def _matched(self, api: ApiQuery, found: list[Any]) -> list[Any]:
        """The slice of a primary key's match (none or one), whose total is now known."""
        self.family.totals()[api.signature] = len(found)
        return found[api.offset : None if api.limit is None else api.offset + api.limit]

    def _walk(self, client: SiteClient, api: ApiQuery, size: int) -> Iterator[Any]:
        steps = paging.walk(api, size)
        ahead: collections.deque[concurrent.futures.Future[Page[Any]]] = collections.deque()
        page: Page[Any] | None = None
        try:
            while True:
                try:
                    step = steps.send(page)
                except StopIteration:
                    return
                page = None
                if isinstance(step, paging.Emit):
                    yield from step.items
                elif isinstance(step, paging.Take):
                    page = ahead.popleft().result()
                elif step.ahead:
                    calls = self.page(api, step.offset, step.limit)
                    context = contextvars.copy_context()
                    ahead.append(_prefetcher.submit(context.run, self.run, calls, client))
                else:
                    flow = self.first_page if step.first else self.page
                    page = self.run(flow(api, step.offset, step.limit), client)
        finally:  # an error, or a consumer who stopped: the pages not yet sent never are
            for future in ahead:
                future.cancel()

    # Async shell --------------------------------------------------------------------------

    async def arun(self, calls: Calls[T], client: AsyncSiteClient | None = None) -> T:
        """Send the operations of ``calls`` (with this loop's client unless given one)."""
        step = _advance(calls, None)
        while isinstance(step, Operation):
            client = client or get_async_client()
            try:
                with self._credentials():
                    outcome: Any = await client.call(step)
            except exceptions.JanitorSiteError as error:
                outcome = error
            step = _advance(calls, outcome)
        return step.value

    async def abatches(
        self, api: ApiQuery, page_size: int | None = None
    ) -> AsyncIterator[list[Any]]:
        """Every parsed item of ``api``, a page at a time (the next pages fetched ahead): a
        list per page, so that a long walk costs one await a page, not one an item."""
        listed, match = self._without_pk(api)
        if listed.empty:
            return
        client = get_async_client()
        size = _page_size(client, page_size if match is None else None)  # a match: one row
        found: list[Any] = []
        for part in self.split(listed):
            async with contextlib.aclosing(self._awalk(client, part, size)) as walked:
                async for batch in walked:
                    if match is None:
                        yield batch
                        continue
                    found = [item for item in batch if match(item)][:1]
                    if found:  # a primary key: the first match is the only one
                        break
            if found:
                break
        if match is not None:
            yield self._matched(api, found)

    async def _awalk(
        self, client: AsyncSiteClient, api: ApiQuery, size: int
    ) -> AsyncGenerator[list[Any], None]:
        steps = paging.walk(api, size)
        ahead: collections.deque[asyncio.Future[Page[Any]]] = collections.deque()
        page: Page[Any] | None = None
        sending = False
        try:
            while True:
                try:
                    step = steps.send(page)
                except StopIteration:
                    return
                page = None
                if isinstance(step, paging.Emit):
                    if sending:  # the consumer keeps the loop until it asks again: send them now
                        for _ in range(_SEND_TICKS):
                            await asyncio.sleep(0)
                        sending = False
                    yield step.items
                elif isinstance(step, paging.Take):
                    page = await ahead.popleft()
                elif step.ahead:
                    calls = self.page(api, step.offset, step.limit)
                    ahead.append(asyncio.ensure_future(self.arun(calls, client)))
                    sending = True
                else:
                    flow = self.first_page if step.first else self.page
                    page = await self.arun(flow(api, step.offset, step.limit), client)
        finally:  # an error, or a consumer who stopped: the pages requested ahead are dropped
            for task in ahead:
                task.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)
