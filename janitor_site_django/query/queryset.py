"""``ApiQuerySet``: Django's ``QuerySet`` with evaluation replaced by v1 API calls.

Filtering, ordering, slicing, cloning and ``values()`` are Django's own; only evaluation is
new: the ``Query`` is compiled into one list request's parameters (``compiler.py``) and pages
are fetched through the client (``SiteClient`` / ``AsyncSiteClient``, ``fetch.py``), never SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import django
from django.db import NotSupportedError
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

from .. import exceptions
from . import bulk, plan, relations, rows
from .compiler import PK, ApiQuery, compile_ordering, compile_query, ordering_fields
from .fetch import Calls, Family, Fetcher
from .plan import Plan
from .resources import Resource, read_only

M = TypeVar("M", bound=Model)

#: ``iterator()``'s ``chunk_size`` when given none: v1's largest page (a request asks for up to
#: ``JANITOR_SITE_PAGE_SIZE`` items), so a walk makes few requests and holds one page of results.
ITERATOR_CHUNK = 1000


#: Django 6.1's ``first()``/``last()`` leave a queryset whose ordering ``order_by()`` cleared
#: unordered (5.2 sorts it by pk); ``afirst()``/``alast()`` follow the running Django.
UNORDERED_EDGES = django.VERSION >= (6, 1)


def _chunk(chunk_size: int | None) -> int:
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("Chunk size must be strictly positive.")
    return chunk_size or ITERATOR_CHUNK


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
        """The endpoint's ``q`` search (case-insensitive, over all its searched fields; an
        empty term matches every row, as ``icontains=""`` does)."""
        if self.query.is_sliced:  # a filter, as Django's
            raise TypeError("Cannot filter a query once a slice has been taken.")
        if term == "":
            return self._chain()
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

    def _abatches(self, page_size: int | None = None) -> AsyncIterator[list[Any]]:
        return self._fetcher().abatches(self._api_query(), page_size)

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

    def _relate(self, results: list[Any]) -> Plan[None]:
        """``select_related`` and ``prefetch_related`` for one batch of instances."""
        if self._iterable_class is not ModelIterable or not results:
            return
        if self.query.select_related:
            yield from relations.select_related(self, results)
        if self._prefetch_related_lookups:
            yield plan.Prefetch(results, self._prefetch_related_lookups)

    def _evaluation(self) -> Plan[None]:
        """Fill the result cache (Django's ``_fetch_all``)."""
        if self._result_cache is None:
            convert = self._converter()
            if self._deduplicated():
                yield plan.Walk(self._unsliced())
                self._result_cache = self._distinct_rows((yield plan.Pull()), convert)
                return
            yield plan.Walk(self)
            results = self._results((yield plan.Pull()), convert)
            if self._iterable_class is ModelIterable and self.query.select_related:
                yield from relations.select_related(self, results)
            self._result_cache = results
        if self._prefetch_related_lookups and not self._prefetch_done:
            yield plan.Prefetch(self._result_cache, self._prefetch_related_lookups)
            self._prefetch_done = True

    def _fetch_all(self) -> None:
        plan.run(self._evaluation())

    async def _afetch_all(self) -> None:
        await plan.arun(self._evaluation())

    def __aiter__(self) -> AsyncIterator[M]:
        async def generator() -> AsyncIterator[M]:
            await self._afetch_all()
            assert self._result_cache is not None
            for obj in self._result_cache:
                yield obj

        return generator()

    def iterator(self, chunk_size: int | None = None) -> Iterator[M]:
        """Results page by page (``chunk_size`` items a request, up to the page size), without
        the result cache: memory stays flat. Related objects are selected and prefetched per
        chunk. Django's checks on ``chunk_size``, at the call."""
        if chunk_size is None and self._prefetch_related_lookups:
            raise ValueError(
                "chunk_size must be provided when using QuerySet.iterator() after "
                "prefetch_related()."
            )
        return plan.stream(self._chunks(_chunk(chunk_size)))

    def aiterator(self, chunk_size: int | None = None) -> AsyncIterator[M]:
        """Results page by page from ``AsyncSiteClient``, without the result cache."""
        return plan.astream(self._chunks(_chunk(chunk_size)))

    def _chunks(self, chunk_size: int) -> Plan[None]:
        convert = self._converter()
        if self._deduplicated():
            yield plan.Walk(self._unsliced(), chunk_size)
            yield plan.Emit(self._distinct_rows((yield plan.Pull()), convert))
            return
        yield plan.Walk(self, chunk_size)
        while True:
            batch = yield plan.Pull(chunk_size)
            results = self._results(batch, convert)
            yield from self._relate(results)
            yield plan.Emit(results)
            if len(batch) < chunk_size:
                return

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

    def _distinct_count(
        self, items: list[Any], convert: Callable[[Sequence[Any]], list[Any]]
    ) -> int:
        """Django's COUNT of distinct rows: unsliced, it drops the ordering (whose columns
        a SELECT DISTINCT also selects), so only the selected values count."""
        if self.query.is_sliced:
            return len(self._distinct_rows(items, convert))
        return len(rows.distinct(items, convert(items), ()))

    def _counting(self) -> Plan[int]:
        if self._result_cache is None and self._deduplicated():
            convert = self._converter()  # what cannot be converted is refused before I/O
            yield plan.Walk(self._unsliced())
            return self._distinct_count((yield plan.Pull()), convert)
        counted = yield plan.Call(self._fetcher(), self._count())
        if counted is None:
            yield plan.Walk(self)
            return len((yield plan.Pull()))
        assert isinstance(counted, int)
        return counted

    def count(self) -> int:
        """``total`` of the filtered set (one ``limit=0`` request, or none if already known)."""
        return plan.run(self._counting())

    async def acount(self) -> int:
        return await plan.arun(self._counting())

    def _existing(self) -> Plan[bool]:
        if self.query.distinct and self.query.is_sliced:  # Django keeps the select clause:
            relations.check_select_related(self)  # its select_related() names are checked
        return (yield from self._counting()) > 0

    def exists(self) -> bool:
        if self._result_cache is not None:
            return bool(self._result_cache)
        return plan.run(self._existing())

    async def aexists(self) -> bool:
        if self._result_cache is not None:
            return bool(self._result_cache)
        return await plan.arun(self._existing())

    # Single objects -----------------------------------------------------------------------

    def _missing(self, message: str | None = None) -> Exception:
        name = self.model._meta.object_name
        error: Exception = cast(Any, self.model).DoesNotExist(
            message or f"{name} matching query does not exist."
        )
        return error

    def _get_clone(self, args: Any, kwargs: Any) -> ApiQuerySet[M]:
        # Django rejects bad select_related() names when it compiles, after filtering a slice
        # but before the filter's values matter; this filter refuses what v1 cannot send at
        # once: check them in Django's order
        if (args or kwargs) and self.query.is_sliced:
            raise TypeError("Cannot filter a query once a slice has been taken.")
        relations.check_select_related(self)
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

    def _getting(self) -> Plan[M]:
        """The one object and its related objects (as Django's ``get()``, an invalid prefetch
        raises before ``MultipleObjectsReturned``)."""
        self._converter()
        found = yield plan.Call(self._fetcher(), self._get())
        if found is None:
            yield plan.Walk(self)
            items = yield plan.Pull()
            found = items, len(items)
        items, total = found
        if not items:
            raise self._missing()
        results = self._results(items)
        if total > 1:
            if self._prefetch_related_lookups:
                # Django selects and prefetches before it counts: an invalid prefetch raises
                # first, over the selected objects
                yield from self._relate(results)
            name = self.model._meta.object_name
            raise cast(Any, self.model).MultipleObjectsReturned(
                f"get() returned more than one {name} -- it returned {total}!"
            )
        yield from self._relate(results)
        found_one: M = results[0]
        return found_one

    def get(self, *args: Any, **kwargs: Any) -> M:
        """By primary key through the detail endpoint; otherwise ``limit=2``."""
        return plan.run(self._get_clone(args, kwargs)._getting())

    async def aget(self, *args: Any, **kwargs: Any) -> M:
        return await plan.arun(self._get_clone(args, kwargs)._getting())

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

    def _edge(self, last: bool) -> ApiQuerySet[M]:
        """What ``first()``/``last()`` read the first object of, as the running Django decides:
        unordered by pk sorts by it, except (Django 6.1) after ``order_by()`` cleared it."""
        if self.ordered or (UNORDERED_EDGES and not self.query.default_ordering):
            return self.reverse() if last else self
        return self.order_by("-pk" if last else "pk")

    async def afirst(self) -> M | None:
        queryset = self._edge(last=False)
        if queryset._result_cache is not None:  # as first() reads it, through queryset[:1]
            return queryset._result_cache[0] if queryset._result_cache else None
        async for obj in queryset[:1]:
            return obj
        return None

    async def alast(self) -> M | None:
        queryset = self._edge(last=True)
        async for obj in queryset[:1]:
            return obj
        return None

    # Bulk by key --------------------------------------------------------------------------

    def _in_bulk(self, id_list: Any = None, field_name: str = "pk") -> Plan[dict[Any, M]]:
        batches, keys = bulk.batches(self, id_list, field_name)
        if id_list is None or id_list:  # Django compiles a query: select_related names checked
            relations.check_select_related(self)  # here, as the batches select nothing
        matched: list[Any] = []
        for batch in batches:
            yield from batch._evaluation()
            assert batch._result_cache is not None
            matched += [obj for obj in batch._result_cache if keys is None or obj.pk in keys]
        yield from self._relate(matched)
        return {obj.pk: obj for obj in matched}

    def in_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        """``{pk: object}``, with one request per 1000 keys (``pk__in``)."""
        return plan.run(self._in_bulk(id_list, field_name))

    async def ain_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, M]:
        return await plan.arun(self._in_bulk(id_list, field_name))

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
