"""``in_bulk()`` over the API: which list requests answer it, and which keys to keep."""

from __future__ import annotations

from typing import Any, TypeVar

import django
from django.db import NotSupportedError
from django.db.models import QuerySet
from django.db.models.query import ModelIterable

from .fetch import MAX_LIST

Q = TypeVar("Q", bound=QuerySet[Any])


def _keyable(key: Any) -> bool:
    """Whether a row can have the key: v1 keys are never empty and hold no NUL."""
    return not isinstance(key, str) or (key != "" and "\x00" not in key)


def batches(queryset: Q, id_list: Any, field_name: str) -> tuple[list[Q], set[Any] | None]:
    """The querysets to evaluate, and the keys to keep from them (None: all); Django's checks
    first. The querysets select and prefetch nothing: the caller does it once, for the matched
    objects only."""
    model = queryset.model
    if queryset.query.is_sliced:
        raise TypeError("Cannot use 'limit' or 'offset' with in_bulk().")
    if queryset._iterable_class is not ModelIterable:
        if django.VERSION < (6, 1):
            raise TypeError("in_bulk() cannot be used with values() or values_list().")
        raise NotSupportedError(  # Django 6.1 maps keys to the rows; not done here yet
            f"{model.__name__}: in_bulk() after values() or values_list() is not supported by "
            "the API models. Call in_bulk() on the queryset itself, then read the fields."
        )
    pk = model._meta.pk
    assert pk is not None
    if field_name not in ("pk", pk.name):
        if not getattr(model._meta.get_field(field_name), "unique", False):
            raise ValueError(
                f"in_bulk()'s field_name must be a unique field but {field_name!r} isn't."
            )
        raise NotSupportedError(f"{model.__name__}: in_bulk() works by primary key only.")
    bare = queryset.select_related(None).prefetch_related(None)
    if id_list is None:
        return [bare], None
    ids = [key for key in dict.fromkeys(id_list) if _keyable(key)]
    bare = bare.order_by()
    spec = model.api_resource.filters.get(pk.name)
    if spec is not None and spec.many:  # a v1 list cannot hold a key with a comma: alone
        alone = [key for key in ids if isinstance(key, str) and "," in key]
        listed = [key for key in ids if key not in alone]
        starts = range(0, len(listed), MAX_LIST)
        lists = [bare.filter(pk__in=listed[i : i + MAX_LIST]) for i in starts]
        return lists + [bare.filter(pk=key) for key in alone], None
    if spec is not None and spec.exact:  # an exact filter only: one request per key
        return [bare.filter(pk=key) for key in ids], None
    # No filter for this key at all: one walk of the list, the keys matched here.
    return ([bare] if ids else []), set(ids)
