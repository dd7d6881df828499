"""Turn parsed v1 items into what a queryset yields: model instances, dicts, tuples, values.

Instances are built the way ``Model.from_db`` does, minus its per-field overhead: a bare
object, its ``__dict__`` filled from the validated item, a fresh ``ModelState``. JSON fields hold
plain JSON (as the v1 body has it), never the client's pydantic objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import JSONField, Model
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
from pydantic import BaseModel


@functools.cache
def attnames(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(v1 key, attribute name) of every concrete field: the key is the field's name."""
    return tuple((field.name, field.attname) for field in model._meta.concrete_fields)


@functools.cache
def renamed(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(v1 key, attribute name) where they differ: foreign keys (``codebase`` → ``codebase_id``)."""
    return tuple((key, attname) for key, attname in attnames(model) if key != attname)


@functools.cache
def json_keys(model: type[Model]) -> tuple[str, ...]:
    """The v1 keys of the model's JSON fields."""
    return tuple(f.name for f in model._meta.concrete_fields if isinstance(f, JSONField))


def plain(value: Any) -> Any:
    """A JSON field's value as plain JSON: the client parses nested shapes into pydantic
    models (``ResultBranch``…), which serializers, ``model_to_dict`` and DRF cannot handle."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [element.model_dump(mode="json") for element in value]
    return value


def field_values(model: type[Model], item: Any) -> dict[str, Any]:
    """``{attname: value}`` of every concrete field, from one parsed item."""
    data = item.__dict__
    values = {attname: data.get(key) for key, attname in attnames(model)}
    for key in json_keys(model):
        values[key] = plain(values[key])
    return values


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
    for key in json_keys(model):
        value = values[key]
        if value is not None:  # most are null: no call for them (100,000 rows a walk)
            values[key] = plain(value)
    state = ModelState()
    state.adding = False
    state.db = db
    obj._state = state
    return obj


def key_for(model: type[Model], name: str) -> str:
    """The v1 key holding a ``values()`` name (a field name or attname)."""
    for key, attname in attnames(model):
        if name in (key, attname):
            return key
    if name == "pk":
        return model._meta.pk.name
    if "__" in name:
        raise NotSupportedError(
            f"{model.__name__}: values({name!r}) across a relation is not supported by the API. "
            "Use the foreign key's own value, or select_related() and read the related object."
        )
    raise FieldError(f"Cannot resolve {name!r} into a field of {model.__name__}")


def _getter(model: type[Model], key: str) -> Callable[[Any], Any]:
    if key in json_keys(model):
        return lambda item: plain(item.__dict__[key])
    return lambda item: item.__dict__[key]


def converter(queryset: QuerySet[Any]) -> Callable[[Sequence[Any]], list[Any]]:
    """How this queryset's ``_iterable_class`` turns a page of items into results."""
    model: type[Model] = queryset.model
    iterable = queryset._iterable_class
    db = queryset.db
    if iterable is ModelIterable:
        return lambda items: [instance(model, item, db) for item in items]
    names = list(queryset.query.values_select) or [attname for _, attname in attnames(model)]
    getters = [_getter(model, key_for(model, str(name))) for name in names]
    pairs = list(zip(names, getters, strict=True))
    if iterable is ValuesIterable:
        return lambda items: [{name: get(item) for name, get in pairs} for item in items]
    if iterable is FlatValuesListIterable:
        get = getters[0]
        return lambda items: [get(item) for item in items]
    if iterable is NamedValuesListIterable:
        row = create_namedtuple_class(*names)
        return lambda items: [row(*(get(item) for get in getters)) for item in items]
    if iterable is ValuesListIterable:
        return lambda items: [tuple(get(item) for get in getters) for item in items]
    raise NotSupportedError(f"{model.__name__}: the iterable {iterable.__name__} is not supported")


def distinct(items: Sequence[Any], rows: list[Any], ordering: Sequence[str]) -> list[Any]:
    """The distinct ``rows`` (converted from ``items``), in order, as Django's SELECT DISTINCT:
    the values of the ``ordering`` keys count too, since it selects them."""
    seen: set[str] = set()
    kept: list[Any] = []
    for item, row in zip(items, rows, strict=True):
        key = repr((row, [item.__dict__[name] for name in ordering]))
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def attach_known_related(queryset: QuerySet[Any], objects: Iterable[Model]) -> None:
    """Set the related objects a reverse manager already knows (``codebase.runs.all()``)."""
    known: dict[Any, dict[Any, Any]] = queryset._known_related_objects  # type: ignore[attr-defined]
    for field, related in known.items():
        for obj in objects:
            value = related.get(getattr(obj, field.attname))
            if value is not None:
                field.set_cached_value(obj, value)
