"""``ApiQuerySet``: Django's ``QuerySet`` with evaluation replaced by v1 API calls.

Filtering, ordering, slicing, cloning and ``values()`` are Django's own; only evaluation is
new: the ``Query`` is compiled into one list request's parameters (``compiler.py``) and pages
are fetched through the client (``SiteClient`` / ``AsyncSiteClient``, ``fetch.py``), never SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asgiref.sync import sync_to_async
from django.db import NotSupportedError
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.db.models.query import ModelIterable

from .. import exceptions
from . import relations, rows
from .compiler import PK, ApiQuery, compile_ordering, compile_query, ordering_fields
from .fetch import MAX_LIST, Calls, Family, Fetcher
from .resources import Resource, read_only

M = TypeVar("M", bound=Model)

#: Items a request when ``iterator()`` is given no ``chunk_size``: pages in flight stay small.
ITERATOR_CHUNK = 500


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
        self._api_family = Family()

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
        clone._api_family = Family()
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
        current = self._api_extra.get("q")
        if current is not None and current != term:
            raise NotSupportedError(
                f"{self.model.__name__}: two different search terms ({current!r}, {term!r}) are "
                "not supported by the API. The API takes one q; search for the whole phrase with "
                "one term."
            )
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

    def prefetch_related(self, *lookups: Any) -> ApiQuerySet[M]:
        relations.check_prefetch(self.model, lookups)
        clone: ApiQuerySet[M] = super().prefetch_related(*lookups)
        return clone

    def _api_query(self) -> ApiQuery:
        return compile_query(self.query, self._api_resource, self._api_extra)

    # Evaluation ---------------------------------------------------------------------------

    def _fetcher(self) -> Fetcher:
        return Fetcher(self.model, self._api_resource, self._api_token, self._api_family)

    def _items(self, page_size: int | None = None) -> Iterator[Any]:
        """Every parsed item of this queryset, page by page."""
        return self._fetcher().items(self._api_query(), page_size)

    def _aitems(self, page_size: int | None = None) -> AsyncIterator[Any]:
        return self._fetcher().aitems(self._api_query(), page_size)

    def _converter(self) -> Callable[[Sequence[Any]], list[Any]]:
        """How items become results; what cannot be converted is refused before any request."""
        relations.check_select_related(self)
        return rows.converter(self)

    def _results(
        self, items: list[Any], convert: Callable[[Sequence[Any]], list[Any]] | None = None
    ) -> list[Any]:
        """Items as this queryset's results (instances carry its token for their writes)."""
        results = (convert or self._converter())(items)
        if self._iterable_class is ModelIterable:
            rows.attach_known_related(self, results)
            if self._api_token is not None:
                for obj in results:
                    obj._api_token = self._api_token
        return results

    def _related(self, results: list[Any]) -> None:
        """``select_related`` and ``prefetch_related`` for one batch of instances."""
        if self._iterable_class is not ModelIterable or not results:
            return
        if self.query.select_related:
            relations.select_related(self, results)
        if self._prefetch_related_lookups:
            prefetch_related_objects(results, *self._prefetch_related_lookups)

    async def _arelated(self, results: list[Any]) -> None:
        if self._iterable_class is not ModelIterable or not results:
            return
        if self.query.select_related:
            await relations.aselect_related(self, results)
        if self._prefetch_related_lookups:
            await sync_to_async(prefetch_related_objects)(results, *self._prefetch_related_lookups)

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            convert = self._converter()
            if self._deduplicated():
                items = list(self._unsliced()._items())
                self._result_cache = self._distinct_rows(items, convert)
                return
            results = self._results(list(self._items()), convert)
            if self._iterable_class is ModelIterable and self.query.select_related:
                relations.select_related(self, results)
            self._result_cache = results
        if self._prefetch_related_lookups and not self._prefetch_done:
            self._prefetch_related_objects()

    async def _afetch_all(self) -> None:
        if self._result_cache is None:
            convert = self._converter()
            if self._deduplicated():
                items = [item async for item in self._unsliced()._aitems()]
                self._result_cache = self._distinct_rows(items, convert)
                return
            results = self._results([item async for item in self._aitems()], convert)
            if self._iterable_class is ModelIterable and self.query.select_related:
                await relations.aselect_related(self, results)
            self._result_cache = results
        if self._prefetch_related_lookups and not self._prefetch_done:
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
        :data:`ITERATOR_CHUNK`), without the result cache: memory stays flat. Related objects
        are selected and prefetched per page."""
        chunk_size = chunk_size or ITERATOR_CHUNK
        convert = self._converter()
        if self._deduplicated():
            yield from self._distinct_rows(list(self._unsliced()._items(chunk_size)), convert)
            return
        batch: list[Any] = []
        for item in self._items(chunk_size):
            batch.append(item)
            if len(batch) == chunk_size:
                yield from self._emit(convert, batch)
                batch = []
        yield from self._emit(convert, batch)

    def _emit(self, convert: Callable[[Sequence[Any]], list[Any]], batch: list[Any]) -> list[Any]:
        results = self._results(batch, convert)
        self._related(results)
        return results

    async def aiterator(self, chunk_size: int | None = None) -> AsyncIterator[M]:
        """Results page by page from ``AsyncSiteClient``, without the result cache."""
        chunk_size = chunk_size or ITERATOR_CHUNK
        convert = self._converter()
        if self._deduplicated():
            items = [item async for item in self._unsliced()._aitems(chunk_size)]
            for row in self._distinct_rows(items, convert):
                yield row
            return
        batch: list[Any] = []
        async for item in self._aitems(chunk_size):
            batch.append(item)
            if len(batch) == chunk_size:
                for obj in await self._aemit(convert, batch):
                    yield obj
                batch = []
        for obj in await self._aemit(convert, batch):
            yield obj

    async def _aemit(
        self, convert: Callable[[Sequence[Any]], list[Any]], batch: list[Any]
    ) -> list[Any]:
        results = self._results(batch, convert)
        await self._arelated(results)
        return results

    # Counting -----------------------------------------------------------------------------

    def _sliced(self, total: int, api: ApiQuery) -> int:
        remaining = max(0, total - api.offset)
        return remaining if api.limit is None else min(remaining, api.limit)

    def _count(self) -> Calls[int | None]:
        """The count from the result cache, a known total or one ``limit=0`` request; None when
        only paging tells (a legacy server without totals, split lists, a pk matched here)."""
        if self._result_cache is not None:
            return len(self._result_cache)
        api = self._api_query()
        if api.empty:
            return 0
        fetcher = self._fetcher()
        total = self._api_family.totals().get(api.signature)
        if total is None and PK not in api.params and len(fetcher.split(api)) == 1:
            total = (yield from fetcher.page(api, 0, 0)).total
        return None if total is None else self._sliced(total, api)

    def count(self) -> int:
        """``total`` of the filtered set (one ``limit=0`` request, or none if already known)."""
        if self._deduplicated():
            self._fetch_all()
            assert self._result_cache is not None
            return len(self._result_cache)
        counted = self._fetcher().run(self._count())
        return sum(1 for _ in self._items()) if counted is None else counted

    async def acount(self) -> int:
        if self._deduplicated():
            await self._afetch_all()
            assert self._result_cache is not None
            return len(self._result_cache)
        counted = await self._fetcher().arun(self._count())
        return len([item async for item in self._aitems()]) if counted is None else counted

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

    def _get_clone(self, args: Any, kwargs: Any) -> ApiQuerySet[M]:
        clone = self.filter(*args, **kwargs) if args or kwargs else self._chain()
        if clone.query.can_filter():
            clone = clone.order_by()
        return clone

    def _get(self) -> Calls[tuple[list[Any], int] | None]:
        """At most two items of this (filtered) queryset and their number: by primary key
        through the detail endpoint, otherwise ``limit=2`` (within a slice: the slice's items);
        None when the primary key is matched here, on the listed items."""
        api = self._api_query()
        if api.empty:
            raise self._missing()
        detail = self._fetcher().detail(api, self._api_extra)
        if detail is not None:
            try:
                item = yield detail
            except exceptions.NotFound as error:
                raise self._missing(str(error)) from error
            return [item], 1
        if PK in api.params:
            return None
        sliced = self.query.is_sliced
        if api.reversed and sliced:
            return None  # the reversed walk picks the slice
        self.query.set_limits(high=2)
        page_api = dataclasses.replace(self._api_query(), reversed=False)  # order is moot
        if page_api.empty:  # a slice of nothing
            return [], 0
        assert page_api.limit is not None
        page = yield from self._fetcher().page(page_api, page_api.offset, page_api.limit)
        counted = page.total is not None and not sliced
        return page.items, page.total if counted and page.total is not None else len(page.items)

    def get(self, *args: Any, **kwargs: Any) -> M:
        """By primary key through the detail endpoint; otherwise ``limit=2``."""
        clone = self._get_clone(args, kwargs)
        clone._converter()
        found = clone._fetcher().run(clone._get())
        if found is None:
            items = list(clone._items())
            found = items, len(items)
        return clone._one(*found)

    async def aget(self, *args: Any, **kwargs: Any) -> M:
        clone = self._get_clone(args, kwargs)
        clone._converter()
        found = await clone._fetcher().arun(clone._get())
        if found is None:
            items = [item async for item in clone._aitems()]
            found = items, len(items)
        return await clone._aone(*found)

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
        results = self._results(items[:1])
        self._related(results)
        return results[0]  # type: ignore[no-any-return]

    async def _aone(self, items: list[Any], total: int) -> M:
        self._check_one(items, total)
        results = self._results(items[:1])
        await self._arelated(results)
        return results[0]  # type: ignore[no-any-return]

    def latest(self, *fields: Any) -> M:
        """The first object of the fields' descending order as v1 sorts it, nulls last (the
        newest with a value), not the exact reverse of the ascending one (which would put the
        objects without a value first)."""
        if not fields or self.query.is_sliced:
            return super().latest(*fields)  # Django's errors
        flipped = [f[1:] if f.startswith("-") else "-" + f for f in fields if isinstance(f, str)]
        if len(flipped) != len(fields):
            return super().latest(*fields)
        return self._earliest(*flipped)  # type: ignore[attr-defined,no-any-return]

    async def afirst(self) -> M | None:
        queryset = self if self.ordered else self.order_by("pk")
        if queryset._result_cache is not None:  # as first() reads it, through queryset[:1]
            return queryset._result_cache[0] if queryset._result_cache else None
        async for obj in queryset[:1]:
            return obj
        return None

    async def alast(self) -> M | None:
        queryset = self.reverse() if self.ordered else self.order_by("-pk")
        async for obj in queryset[:1]:
            return obj
        return None

    # Bulk by key --------------------------------------------------------------------------

    def _bulk(self, id_list: Any, field_name: str) -> tuple[list[ApiQuerySet[M]], set[Any] | None]:
        """The querysets to evaluate, and the keys to keep from them (None: all)."""
        if self.query.is_sliced:
            raise TypeError("Cannot use 'limit' or 'offset' with in_bulk().")
        if self._iterable_class is not ModelIterable:
            raise TypeError("in_bulk() cannot be used with values() or values_list().")
        if field_name not in ("pk", self.model._meta.pk.name):
            if not getattr(self.model._meta.get_field(field_name), "unique", False):
                raise ValueError(
                    f"in_bulk()'s field_name must be a unique field but {field_name!r} isn't."
                )
            raise NotSupportedError(f"{self.model.__name__}: in_bulk() works by primary key only.")
        if id_list is None:
            return [self._chain()], None
        ids = list(dict.fromkeys(id_list))
        spec = self._api_resource.filters.get(self.model._meta.pk.name)
        if spec is not None and spec.many:
            batches = range(0, len(ids), MAX_LIST)
            return [self.filter(pk__in=ids[i : i + MAX_LIST]).order_by() for i in batches], None
        if spec is not None and spec.exact:  # an exact filter only: one request per key
            return [self.filter(pk=key).order_by() for key in ids], None
        # No filter for this key at all: one walk of the list, the keys matched here.
        return ([self.order_by()] if ids else []), set(ids)

    def in_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        """``{pk: object}``, with one request per 1000 keys (``pk__in``)."""
        batches, keys = self._bulk(id_list, field_name)
        return {obj.pk: obj for batch in batches for obj in batch if keys is None or obj.pk in keys}

    async def ain_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        batches, keys = self._bulk(id_list, field_name)
        return {
            obj.pk: obj
            for batch in batches
            async for obj in batch
            if keys is None or obj.pk in keys
        }

    # What v1 cannot do ---------------------------------------------------------------------

    def _combinator_query(self, combinator: str, *other_qs: Any, all: bool = False) -> Any:
        """``union()``, ``intersection()``, ``difference()``: refused (v1 lists one set)."""
        raise NotSupportedError(
            f"{self.model.__name__}: {combinator}() is not supported by the API. Combine the "
            "filters instead: filter(Q(...) | Q(...)) over one field's values, or evaluate both "
            "querysets and combine their results."
        )

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
        """Objects are distinct already (a v1 list has no duplicates); ``values()`` rows are made
        distinct here, over the whole list, before the slice (distinct on fields is refused)."""
        if field_names:
            raise NotSupportedError(f"{self.model.__name__}: distinct(fields) is not supported.")
        clone: ApiQuerySet[M] = super().distinct()
        return clone

    def _deduplicated(self) -> bool:
        return bool(self.query.distinct) and self._iterable_class is not ModelIterable

    def _distinct_rows(
        self, items: list[Any], convert: Callable[[Sequence[Any]], list[Any]]
    ) -> list[Any]:
        """The distinct rows of the unsliced list, in order, then the slice."""
        ordering = [rows.key_for(self.model, name) for name in ordering_fields(self.query)]
        distinct = rows.distinct(items, convert(items), ordering)
        return distinct[self.query.low_mark : self.query.high_mark]

    def _unsliced(self) -> ApiQuerySet[M]:
        clone = self._chain()
        clone.query.clear_limits()
        return clone

    create = read_only("create")
    get_or_create = read_only("get_or_create")
    update_or_create = read_only("update_or_create")
    bulk_create = read_only("bulk_create")
    bulk_update = read_only("bulk_update")
    update = read_only("update")
    delete = read_only("delete")
    raw = read_only("raw")
    select_for_update = read_only("select_for_update")
