"""Turn parsed v1 items into what a queryset yields: model instances, dicts, tuples, values.

Instances are built the way ``Model.from_db`` does, minus its per-field overhead: a bare
object, its ``__dict__`` filled from the validated item, a fresh ``ModelState``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    QuerySet,
    ValuesIterable,
    ValuesListIterable,
)
from django.db.models.utils import create_namedtuple_class


@functools.cache
def attnames(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(v1 key, attribute name) of every concrete field: the key is the field's name."""
    return tuple((field.name, field.attname) for field in model._meta.concrete_fields)


@functools.cache
def renamed(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(v1 key, attribute name) where they differ: foreign keys (``codebase`` → ``codebase_id``)."""
    return tuple((key, attname) for key, attname in attnames(model) if key != attname)


def instance(model: type[Model], item: Any, db: str | None) -> Model:
    """A model instance from one parsed item (a pydantic model), without ``__init__``.

    The item's fields are the v1 keys, which are the model's field names: one C-level copy,
    then the foreign keys moved to their attnames.
    """
    obj = model.__new__(model)
    values = obj.__dict__
    values.update(item.__dict__)
    for key, attname in renamed(model):
        values[attname] = values.pop(key, None)
    state = ModelState()
    state.adding = False
    state.db = db
    obj._state = state
    return obj


def _key_for(model: type[Model], name: str) -> str:
    """The v1 key holding a ``values()`` name (a field name or attname)."""
    for key, attname in attnames(model):
        if name in (key, attname):
            return key
    if name == "pk":
        return model._meta.pk.name
    from django.core.exceptions import FieldError

    raise FieldError(f"Cannot resolve {name!r} into a field of {model.__name__}")


def converter(queryset: QuerySet[Any]) -> Callable[[Sequence[Any]], list[Any]]:
    """How this queryset's ``_iterable_class`` turns a page of items into results."""
    model: type[Model] = queryset.model
    iterable = queryset._iterable_class
    db = queryset.db
    if iterable is ModelIterable:
        return lambda items: [instance(model, item, db) for item in items]
    names = list(queryset.query.values_select) or [attname for _, attname in attnames(model)]
    keys = [_key_for(model, str(name)) for name in names]
    pairs = list(zip(names, keys, strict=True))
    if iterable is ValuesIterable:
        return lambda items: [{name: item.__dict__[key] for name, key in pairs} for item in items]
    if iterable is FlatValuesListIterable:
        key = keys[0]
        return lambda items: [item.__dict__[key] for item in items]
    if iterable is NamedValuesListIterable:
        row = create_namedtuple_class(*names)
        return lambda items: [row(*(item.__dict__[k] for k in keys)) for item in items]
    if iterable is ValuesListIterable:
        return lambda items: [tuple(item.__dict__[k] for k in keys) for item in items]
    from django.db import NotSupportedError

    raise NotSupportedError(f"{model.__name__}: the iterable {iterable.__name__} is not supported")


def attach_known_related(queryset: QuerySet[Any], objects: Iterable[Model]) -> None:
    """Set the related objects a reverse manager already knows (``codebase.runs.all()``)."""
    known: dict[Any, dict[Any, Any]] = queryset._known_related_objects  # type: ignore[attr-defined]
    for field, related in known.items():
        for obj in objects:
            value = related.get(getattr(obj, field.attname))
            if value is not None:
                field.set_cached_value(obj, value)
