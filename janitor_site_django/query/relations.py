"""``select_related()`` over the API: one batched request per relation, not one per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import Field, Model, QuerySet

from . import plan
from .plan import Plan


def _relations(queryset: QuerySet[Any]) -> list[Field[Any, Any]]:
    """Foreign keys to API models that ``select_related`` asks for (for ``True``, as Django:
    the non-null ones)."""
    wanted = queryset.query.select_related
    fields = []
    for field in queryset.model._meta.concrete_fields:
        related = field.related_model
        if related is None or not hasattr(related, "api_resource"):
            continue
        if (wanted is True and not field.null) or (
            isinstance(wanted, dict) and field.name in wanted
        ):
            fields.append(field)
    return fields


def _keys(objects: Sequence[Model], field: Field[Any, Any]) -> set[Any]:
    return {key for key in (getattr(obj, field.attname) for obj in objects) if key is not None}


def _attach(objects: Sequence[Model], field: Field[Any, Any], related: dict[Any, Model]) -> None:
    # A null key is selected as None, as Django's outer join selects it (so a later prefetch of
    # the same relation skips it, as in Django); a key the list does not return stays lazy.
    for obj in objects:
        key = getattr(obj, field.attname)
        target = None if key is None else related.get(key)
        if key is None or target is not None:
            field.set_cached_value(obj, target)  # type: ignore[attr-defined]


def _targets(queryset: QuerySet[Any], field: Field[Any, Any]) -> Any:
    """The related model's queryset, with the token ``queryset`` was given (``using_token``)."""
    targets: Any = field.related_model._base_manager.all()  # type: ignore[union-attr]
    token = getattr(queryset, "_api_token", None)
    return targets if token is None else targets.using_token(token)


def select_related(queryset: QuerySet[Any], objects: Sequence[Model]) -> Plan[None]:
    """The related objects of every relation asked for: one ``in_bulk`` each."""
    for field in _relations(queryset):
        keys = _keys(objects, field)
        targets = _targets(queryset, field)
        related = (yield plan.Sub(targets._in_bulk(keys))) if keys else {}
        _attach(objects, field, related)


def check_select_related(queryset: QuerySet[Any]) -> None:
    """The names Django's SQL compiler would reject, rejected as it does (before any request)."""
    wanted = queryset.query.select_related
    if not isinstance(wanted, dict):
        return
    _check_names(queryset.model, wanted)


def _check_names(model: type[Model], wanted: dict[str, Any]) -> None:
    relations = {f.name: f for f in model._meta.concrete_fields if f.is_relation}
    choices = ", ".join(relations) or "(none)"
    for name, nested in wanted.items():
        field = relations.get(name)
        if field is None:
            known = any(f.name == name for f in model._meta.concrete_fields)
            what = "Non-relational field" if known else "Invalid field name(s)"
            raise FieldError(f"{what} given in select_related: '{name}'. Choices are: {choices}")
        if nested:
            _check_names(field.related_model, nested)  # type: ignore[arg-type]


def check_prefetch(model: type[Model], lookups: Sequence[Any]) -> None:
    """What ``prefetch_related()`` cannot do over the API, refused before any request."""
    for lookup in lookups:
        queryset = getattr(lookup, "queryset", None)
        if queryset is not None and queryset.query.is_sliced:
            raise NotSupportedError(
                f"{model.__name__}: prefetch_related(Prefetch({lookup.prefetch_to!r}, "
                "queryset=<a sliced queryset>)) is not supported by the API: v1 cannot take "
                "the first rows of each related object in one request. Prefetch without the "
                "slice and slice each object's list, or query each object's rows."
            )
        if lookup is not None:
            _check_batchable(model, getattr(lookup, "prefetch_through", lookup), queryset)


def _check_batchable(model: type[Model], through: str, queryset: Any) -> None:
    """A reverse relation to an API model must be listable for many parents in one request
    (a list under a path, such as a campaign's ready runs, needs the path from ``queryset``)."""
    name = through.split("__", 1)[0]
    related = next((r for r in model._meta.related_objects if r.get_accessor_name() == name), None)
    target: Any = getattr(related, "related_model", None)
    resource = getattr(target, "api_resource", None)
    if related is None or resource is None:
        return  # Django reports unknown names; forward relations batch by key
    key = related.field.name
    spec = resource.filters.get(key)
    if spec is None or spec.many is None:
        raise NotSupportedError(
            f"{model.__name__}: prefetch_related({through!r}) is not supported by the API: "
            f"{target.__name__} lists cannot be filtered by many {key}s at once. Query each "
            f"object's {name} instead."
        )
    if resource.path_fields and queryset is not None and name == through:
        queryset._api_query()  # refused here, not after the parents' requests, without a path
    elif resource.path_fields:
        fields = ", ".join(f"{field}=..." for field in resource.path_fields)
        raise NotSupportedError(
            f"{model.__name__}: prefetch_related({through!r}) is not supported by the API "
            f"without the {target.__name__} list it reads: use Prefetch({name!r}, "
            f"queryset={target.__name__}.objects.filter({fields}))."
        )
