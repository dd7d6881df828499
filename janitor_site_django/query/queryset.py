"""``ApiQuerySet``: Django's ``QuerySet`` with evaluation replaced by v1 API calls.

Filtering, ordering, slicing, cloning and ``values()`` are Django's own; only evaluation is
new: the ``Query`` is compiled into one list request's parameters (``compiler.py``) and pages
are fetched through the client (``SiteClient`` / ``AsyncSiteClient``), never SQL.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import NotSupportedError
from django.db.models import Manager, Model, QuerySet
from django.db.models.query import ModelIterable

from .. import exceptions
from ..client import AsyncSiteClient, Page, SiteClient, get_async_client, get_client, user_token
from ..client._core import walk_pages
from . import paging, rows
from .compiler import PK, ApiQuery, compile_ordering, compile_query
from .resources import Resource

M = TypeVar("M", bound=Model)

#: Threads fetching the next page while the current one is consumed.
_prefetcher = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="janitor-site-page")
#: How long clones of one queryset reuse each other's totals and first pages.
FAMILY_SECONDS = 10.0
#: Items a request when ``iterator()`` is given no ``chunk_size``: pages in flight stay small.
ITERATOR_CHUNK = 500
#: Most values one ``__in`` parameter may carry (v1 lists hold at most 1000 elements).
MAX_LIST = 1000
#: Parent resources whose 404 on a list means "no rows" (an unknown campaign lists nothing).
_EMPTY_PARENTS = ("campaign", "codebase")

_WRITE_HINT = (
    "The API allows run.save(update_fields=['description']), run.reschedule() and "
    "codebase.publish()."
)


def _read_only(name: str) -> Callable[..., Any]:
    def refuse(self: ApiQuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(
            f"{self.model.__name__}.objects.{name}() is not supported: API models are read-only. "
            + _WRITE_HINT
        )

    refuse.__name__ = name
    return refuse


class _Family:
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


class ApiQuerySet(QuerySet[M]):
    """A lazy, cloned-on-chain, result-cached query over a v1 list endpoint."""

    if TYPE_CHECKING:  # Django's private QuerySet API, which django-stubs does not declare
        _query: Any
        _prefetch_done: bool
        _prefetch_related_lookups: tuple[Any, ...]
        _known_related_objects: dict[Any, dict[Any, Any]]

        def _chain(self) -> ApiQuerySet[M]: ...
        def _prefetch_related_objects(self) -> None: ...

    def __init__(self, model: type[M] | None = None, query: Any = None, using: str | None = None,
                 hints: dict[str, Any] | None = None) -> None:  # fmt: skip
        super().__init__(model, query, using, hints)
        self._api_extra: Mapping[str, Any] = {}
        self._api_token: str | None = None
        self._api_family = _Family()

    def _clone(self) -> ApiQuerySet[M]:
        clone: ApiQuerySet[M] = super()._clone()  # type: ignore[misc]
        clone._api_extra = self._api_extra
        clone._api_token = self._api_token
        clone._api_family = self._api_family
        return clone

    def all(self) -> ApiQuerySet[M]:
        """A fresh copy: it shares no totals or pages with this queryset (a class-level
        ``ListView.queryset`` is copied with ``all()`` on each request)."""
        clone: ApiQuerySet[M] = super().all()
        clone._api_family = _Family()
        return clone

    # API-specific chain methods -----------------------------------------------------------

    def api_params(self, **params: Any) -> ApiQuerySet[M]:
        """Add raw v1 query parameters that no model field expresses (``publishable_only=True``,
        ``include_inactive=True``, ``min_success_chance=0.5``…). Checked by the client."""
        clone = self._chain()
        clone._api_extra = {**self._api_extra, **params}
        return clone

    def search(self, term: str) -> ApiQuerySet[M]:
        """The endpoint's ``q`` search (case-insensitive, over all its searched fields)."""
        return self.api_params(q=term)

    def using_token(self, token: str) -> ApiQuerySet[M]:
        """Evaluate with this bearer token instead of the user's or the service token."""
        clone = self._chain()
        clone._api_token = token
        return clone

    # Early validation: filters and orderings the API cannot do fail here, before any I/O ----

    @property
    def _api_resource(self) -> Resource:
        resource: Resource = self.model.api_resource  # type: ignore[attr-defined]
        return resource

    def _filter_or_exclude_inplace(self, negate: bool, args: Any, kwargs: Any) -> None:
        super()._filter_or_exclude_inplace(negate, args, kwargs)  # type: ignore[misc]
        # ``self._query``: ``self.query`` would re-apply a deferred filter (reverse managers).
        compile_query(self._query, self._api_resource, self._api_extra)

    def order_by(self, *field_names: Any) -> ApiQuerySet[M]:
        clone: ApiQuerySet[M] = super().order_by(*field_names)
        compile_ordering(clone.query, self._api_resource)
        return clone

    def _api_query(self) -> ApiQuery:
        return compile_query(self.query, self._api_resource, self._api_extra)

    @contextlib.contextmanager
    def _api_credentials(self) -> Iterator[None]:
        if self._api_token is None:
            yield
        else:
            with user_token(self._api_token):
                yield

    # Requests -----------------------------------------------------------------------------

    def _list_args(
        self, api: ApiQuery, offset: int, limit: int
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        return api.path, {**api.params, "offset": offset, "limit": limit}

    def _page(self, client: SiteClient, api: ApiQuery, offset: int, limit: int) -> Page[Any]:
        path, kwargs = self._list_args(api, offset, limit)
        try:
            with self._api_credentials():
                page: Page[Any] = getattr(client, self._api_resource.list_method)(*path, **kwargs)
        except exceptions.NotFound as error:
            if error.details.get("resource") not in _EMPTY_PARENTS:
                raise
            page = Page([], 0, offset, limit, False)
        self._remember_total(api, page)
        return page

    async def _apage(
        self, client: AsyncSiteClient, api: ApiQuery, offset: int, limit: int
    ) -> Page[Any]:
        path, kwargs = self._list_args(api, offset, limit)
        try:
            with self._api_credentials():
                page: Page[Any] = await getattr(client, self._api_resource.list_method)(
                    *path, **kwargs
                )
        except exceptions.NotFound as error:
            if error.details.get("resource") not in _EMPTY_PARENTS:
                raise
            page = Page([], 0, offset, limit, False)
        self._remember_total(api, page)
        return page

    def _remember_total(self, api: ApiQuery, page: Page[Any]) -> None:
        if page.total is not None:
            self._api_family.totals()[api.signature] = page.total

    def _split(self, api: ApiQuery) -> list[ApiQuery]:
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

    def _without_pk(self, api: ApiQuery) -> tuple[ApiQuery, Callable[[Any], bool]]:
        """A primary key the list cannot filter by is matched here, on every listed item."""
        if PK not in api.params:
            return api, lambda item: True
        wanted = api.params[PK]
        key = self.model._meta.pk.name
        params = {k: v for k, v in api.params.items() if k != PK}
        listed = ApiQuery(params, api.path, api.offset, api.limit)
        return listed, lambda item: bool(item.__dict__[key] == wanted)

    def _items(self, page_size: int | None = None, prefetch: bool = True) -> Iterator[Any]:
        """Every parsed item of this queryset, page by page (the next page fetched ahead)."""
        api = self._api_query()
        if api.empty:
            return
        api, keep = self._without_pk(api)
        client = get_client()
        size = min(page_size or client.config.page_size, client.config.page_size)
        for part in self._split(api):
            yield from filter(keep, self._walk(client, part, size, prefetch))

    def _first_page(self, client: SiteClient, api: ApiQuery, offset: int, limit: int) -> Page[Any]:
        """The first page of an evaluation, from a clone's earlier page when one covers it."""
        key = (api.signature, api.params.get("sort"), offset)
        known = self._api_family.first_pages().get(key)
        if known is not None and (len(known.items) >= limit or not known.has_more):
            return Page(
                known.items[:limit],
                known.total,
                offset,
                limit,
                known.has_more or len(known.items) > limit,
            )
        page = self._page(client, api, offset, limit)
        self._api_family.first_pages()[key] = page
        return page

    def _walk(self, client: SiteClient, api: ApiQuery, size: int, prefetch: bool) -> Iterator[Any]:
        """Items of every page: later pages are requested while earlier ones are consumed."""
        first = self._first_page(client, api, *paging.first_request(api, size))
        later = paging.later_requests(api, size, first)
        yield from first.items
        if later is None:  # no total: one page after another
            yield from self._walk_unknown(client, api, size, first)
            return
        del first  # a page is freed once consumed: memory stays flat however long the list
        depth = paging.PREFETCH_DEPTH if prefetch else 1
        pending: collections.deque[concurrent.futures.Future[Page[Any]]] = collections.deque()
        requests = iter(later)
        for offset, limit in itertools.islice(requests, depth):
            pending.append(self._ahead(client, api, offset, limit))
        while pending:
            page = pending.popleft().result()
            for offset, limit in itertools.islice(requests, 1):
                pending.append(self._ahead(client, api, offset, limit))
            yield from page.items

    def _ahead(
        self, client: SiteClient, api: ApiQuery, offset: int, limit: int
    ) -> concurrent.futures.Future[Page[Any]]:
        context = contextvars.copy_context()
        return _prefetcher.submit(context.run, self._page, client, api, offset, limit)

    def _walk_unknown(
        self, client: SiteClient, api: ApiQuery, size: int, first: Page[Any]
    ) -> Iterator[Any]:
        walk = walk_pages({"offset": api.offset, "limit": api.limit}, size)
        next(walk)
        page = first
        while True:
            try:
                request = walk.send(page)
            except StopIteration:
                return
            page = self._page(client, api, request["offset"], request["limit"])
            yield from page.items

    async def _aitems(self, page_size: int | None = None) -> AsyncIterator[Any]:
        api = self._api_query()
        if api.empty:
            return
        api, keep = self._without_pk(api)
        client = get_async_client()
        size = min(page_size or client.config.page_size, client.config.page_size)
        for part in self._split(api):
            async for item in self._awalk(client, part, size):
                if keep(item):
                    yield item

    async def _awalk(self, client: AsyncSiteClient, api: ApiQuery, size: int) -> AsyncIterator[Any]:
        first = await self._apage(client, api, *paging.first_request(api, size))
        later = paging.later_requests(api, size, first)
        for item in first.items:
            yield item
        if later is None:
            walk = walk_pages({"offset": api.offset, "limit": api.limit}, size)
            next(walk)
            page = first
            while True:
                try:
                    request = walk.send(page)
                except StopIteration:
                    return
                page = await self._apage(client, api, request["offset"], request["limit"])
                for item in page.items:
                    yield item
        requests = iter(later or [])
        pending = collections.deque(
            asyncio.ensure_future(self._apage(client, api, offset, limit))
            for offset, limit in itertools.islice(requests, paging.PREFETCH_DEPTH)
        )
        while pending:
            page = await pending.popleft()
            for offset, limit in itertools.islice(requests, 1):
                pending.append(asyncio.ensure_future(self._apage(client, api, offset, limit)))
            for item in page.items:
                yield item

    # Evaluation ---------------------------------------------------------------------------

    def _results(self, items: list[Any]) -> list[Any]:
        results = rows.converter(self)(items)
        if self._iterable_class is ModelIterable:
            rows.attach_known_related(self, results)
        return results

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._result_cache = self._results(list(self._items()))
            if self._iterable_class is ModelIterable and self.query.select_related:
                from .relations import select_related

                select_related(self, self._result_cache)
        if self._prefetch_related_lookups and not self._prefetch_done:
            self._prefetch_related_objects()

    async def _afetch_all(self) -> None:
        if self._result_cache is None:
            items = [item async for item in self._aitems()]
            results = self._results(items)
            if self._iterable_class is ModelIterable and self.query.select_related:
                from .relations import aselect_related

                await aselect_related(self, results)
            self._result_cache = results
        if self._prefetch_related_lookups and not self._prefetch_done:
            from asgiref.sync import sync_to_async

            await sync_to_async(self._prefetch_related_objects)()

    def __aiter__(self) -> AsyncIterator[M]:
        async def generator() -> AsyncIterator[M]:
            await self._afetch_all()
            assert self._result_cache is not None
            for obj in self._result_cache:
                yield obj

        return generator()

    def iterator(self, chunk_size: int | None = None) -> Iterator[M]:
        """Results page by page (``chunk_size`` items a request, default
        :data:`ITERATOR_CHUNK`), without the result cache: memory stays flat."""
        chunk_size = chunk_size or ITERATOR_CHUNK
        convert = rows.converter(self)
        batch: list[Any] = []
        for item in self._items(chunk_size):
            batch.append(item)
            if len(batch) == chunk_size:
                yield from self._emit(convert, batch)
                batch = []
        yield from self._emit(convert, batch)

    def _emit(self, convert: Callable[[list[Any]], list[Any]], batch: list[Any]) -> Iterator[Any]:
        results = convert(batch)
        if self._iterable_class is ModelIterable:
            rows.attach_known_related(self, results)
            if self._prefetch_related_lookups and results:
                from django.db.models import prefetch_related_objects

                prefetch_related_objects(results, *self._prefetch_related_lookups)
        yield from results

    async def aiterator(self, chunk_size: int = ITERATOR_CHUNK) -> AsyncIterator[M]:
        """Results page by page from ``AsyncSiteClient``, without the result cache."""
        batch: list[Any] = []
        async for item in self._aitems(chunk_size):
            batch.append(item)
            if len(batch) == chunk_size:
                for obj in self._results(batch):
                    yield obj
                batch = []
        for obj in self._results(batch):
            yield obj

    # Counting -----------------------------------------------------------------------------

    def _sliced(self, total: int, api: ApiQuery) -> int:
        remaining = max(0, total - api.offset)
        return remaining if api.limit is None else min(remaining, api.limit)

    def count(self) -> int:
        """``total`` of the filtered set (one ``limit=0`` request, or none if already known)."""
        if self._result_cache is not None:
            return len(self._result_cache)
        api = self._api_query()
        if api.empty:
            return 0
        total = self._api_family.totals().get(api.signature)
        countable = PK not in api.params and len(self._split(api)) == 1
        if total is None and countable:
            total = self._page(get_client(), api, 0, 0).total
        if total is None:  # legacy server without totals, split lists, pk matched here: page
            return sum(1 for _ in self._items())
        return self._sliced(total, api)

    async def acount(self) -> int:
        if self._result_cache is not None:
            return len(self._result_cache)
        api = self._api_query()
        if api.empty:
            return 0
        total = self._api_family.totals().get(api.signature)
        if total is None and PK not in api.params and len(self._split(api)) == 1:
            total = (await self._apage(get_async_client(), api, 0, 0)).total
        if total is None:
            return len([item async for item in self._aitems()])
        return self._sliced(total, api)

    def exists(self) -> bool:
        if self._result_cache is not None:
            return bool(self._result_cache)
        return self.count() > 0

    async def aexists(self) -> bool:
        if self._result_cache is not None:
            return bool(self._result_cache)
        return await self.acount() > 0

    # Single objects -----------------------------------------------------------------------

    def _missing(self, message: str | None = None) -> Exception:
        name = self.model._meta.object_name
        error: Exception = cast(Any, self.model).DoesNotExist(
            message or f"{name} matching query does not exist."
        )
        return error

    def _detail_key(self, api: ApiQuery) -> Any:
        """The primary key when the query is exactly ``pk=value`` on a resource with a detail
        endpoint (and not sliced), else None."""
        resource = self._api_resource
        pk = self.model._meta.pk
        spec = resource.filters.get(pk.name) if pk is not None else None
        param = spec.exact if spec is not None and spec.exact else PK
        ignored = {"sort", *resource.detail_params}
        filters = {k: v for k, v in api.params.items() if k not in ignored}
        if resource.detail_method is None or api.offset or api.limit is not None:
            return None
        if list(filters) == [param] and set(self._api_extra) <= set(resource.detail_params):
            return filters[param]
        return None

    def _prepare_get(self, args: Any, kwargs: Any) -> tuple[ApiQuerySet[M], ApiQuery]:
        clone = self.filter(*args, **kwargs) if args or kwargs else self._chain()
        if clone.query.can_filter():
            clone = clone.order_by()
        return clone, clone._api_query()

    def get(self, *args: Any, **kwargs: Any) -> M:
        """By primary key through the detail endpoint; otherwise ``limit=2``."""
        clone, api = self._prepare_get(args, kwargs)
        if api.empty:
            raise self._missing()
        key = clone._detail_key(api)
        if key is not None:
            try:
                with clone._api_credentials():
                    item = getattr(get_client(), clone._api_resource.detail_method or "")(
                        key, **clone._api_extra
                    )
            except exceptions.NotFound as error:
                raise self._missing(str(error)) from error
            return clone._one([item], 1)
        clone.query.set_limits(high=2)
        page_api = clone._api_query()
        page = clone._page(get_client(), page_api, page_api.offset, 2)
        return clone._one(page.items, page.total if page.total is not None else len(page.items))

    async def aget(self, *args: Any, **kwargs: Any) -> M:
        clone, api = self._prepare_get(args, kwargs)
        if api.empty:
            raise self._missing()
        key = clone._detail_key(api)
        if key is not None:
            try:
                with clone._api_credentials():
                    detail = getattr(get_async_client(), clone._api_resource.detail_method or "")
                    item = await detail(key, **clone._api_extra)
            except exceptions.NotFound as error:
                raise self._missing(str(error)) from error
            return await clone._aone([item], 1)
        clone.query.set_limits(high=2)
        page_api = clone._api_query()
        page = await clone._apage(get_async_client(), page_api, page_api.offset, 2)
        return await clone._aone(
            page.items, page.total if page.total is not None else len(page.items)
        )

    def _check_one(self, items: list[Any], total: int) -> None:
        name = self.model._meta.object_name
        if not items:
            raise self._missing()
        if total > 1:
            raise cast(Any, self.model).MultipleObjectsReturned(
                f"get() returned more than one {name} -- it returned {total}!"
            )

    def _one(self, items: list[Any], total: int) -> M:
        self._check_one(items, total)
        (obj,) = self._results(items[:1])
        if self.query.select_related:
            from .relations import select_related

            select_related(self, [obj])
        if self._prefetch_related_lookups:
            from django.db.models import prefetch_related_objects

            prefetch_related_objects([obj], *self._prefetch_related_lookups)
        return obj  # type: ignore[no-any-return]

    async def _aone(self, items: list[Any], total: int) -> M:
        self._check_one(items, total)
        (obj,) = self._results(items[:1])
        if self.query.select_related:
            from .relations import aselect_related

            await aselect_related(self, [obj])
        return obj  # type: ignore[no-any-return]

    async def afirst(self) -> M | None:
        queryset = self._chain() if self.ordered else self.order_by("pk")
        async for obj in queryset[:1]:
            return obj
        return None

    async def alast(self) -> M | None:
        queryset = self.reverse() if self.ordered else self.order_by("-pk")
        async for obj in queryset[:1]:
            return obj
        return None

    # Bulk by key --------------------------------------------------------------------------

    def _bulk_batches(self, id_list: Any, field_name: str) -> list[ApiQuerySet[M]]:
        if field_name not in ("pk", self.model._meta.pk.name):
            raise NotSupportedError(f"{self.model.__name__}: in_bulk() works by primary key only.")
        ids = list(dict.fromkeys(id_list))
        spec = self._api_resource.filters.get(self.model._meta.pk.name)
        if spec is not None and spec.many:
            return [self.filter(pk__in=ids[i : i + MAX_LIST]) for i in range(0, len(ids), MAX_LIST)]
        return [self.filter(pk=key) for key in ids]  # no list filter for this key: one each

    def in_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        """``{pk: object}``, with one request per 1000 keys (``pk__in``)."""
        if id_list is None:
            return {obj.pk: obj for obj in self}
        found: dict[Any, M] = {}
        for batch in self._bulk_batches(id_list, field_name):
            found.update((obj.pk, obj) for obj in batch.order_by())
        return found

    async def ain_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        if id_list is None:
            return {obj.pk: obj async for obj in self}
        found: dict[Any, M] = {}
        for batch in self._bulk_batches(id_list, field_name):
            found.update([(obj.pk, obj) async for obj in batch.order_by()])
        return found

    # What v1 cannot do ---------------------------------------------------------------------

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotSupportedError(
            f"{self.model.__name__}: aggregate() is not supported by the API; count() is."
        )

    def annotate(self, *args: Any, **kwargs: Any) -> ApiQuerySet[M]:
        raise NotSupportedError(f"{self.model.__name__}: annotate() is not supported by the API.")

    def dates(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(f"{self.model.__name__}: dates() is not supported by the API.")

    def datetimes(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(f"{self.model.__name__}: datetimes() is not supported by the API.")

    def distinct(self, *field_names: Any) -> ApiQuerySet[M]:
        """A no-op: API lists have no duplicate rows (distinct on fields is not supported)."""
        if field_names:
            raise NotSupportedError(f"{self.model.__name__}: distinct(fields) is not supported.")
        return self._chain()

    create = _read_only("create")
    get_or_create = _read_only("get_or_create")
    update_or_create = _read_only("update_or_create")
    bulk_create = _read_only("bulk_create")
    bulk_update = _read_only("bulk_update")
    update = _read_only("update")
    delete = _read_only("delete")
    raw = _read_only("raw")
    select_for_update = _read_only("select_for_update")


class ApiManager(Manager.from_queryset(ApiQuerySet)):  # type: ignore[misc]
    """The manager of API models: the default and the base manager (related lookups use it).

    ``ApiManager(include_inactive=True)`` also sees inactive codebases (the base manager of
    ``Codebase``, so that a run's codebase resolves even when it is inactive).
    """

    def __init__(self, **api_params: Any) -> None:
        super().__init__()
        self._api_defaults = api_params

    def deconstruct(self) -> Any:
        as_manager, path, qs_class, args, kwargs = super().deconstruct()
        return as_manager, path, qs_class, args, {**kwargs, **self._api_defaults}

    def get_queryset(self) -> ApiQuerySet[Any]:
        queryset: ApiQuerySet[Any] = super().get_queryset()
        return queryset.api_params(**self._api_defaults) if self._api_defaults else queryset
