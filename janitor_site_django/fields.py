"""``ApiForeignKey``: a local database model's reference to an API model.

The column stores the API object's primary key (a codebase name, a run id); the attribute
resolves it lazily through the API, and ``prefetch_related()`` resolves a whole page with one
batched request::

    class Bookmark(models.Model):
        codebase = ApiForeignKey("janitor_site_django.Codebase")

    bookmark.codebase_id                      # "python-debian" (no request)
    bookmark.codebase.url                     # one request, then cached on the instance
    Bookmark.objects.prefetch_related("codebase")   # one request for every bookmark
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Model


class ApiForeignKey(models.CharField):  # type: ignore[type-arg]
    """Stores an API model's primary key in ``<name>_id``; ``<name>`` is the object."""

    description = "Reference to a Janitor site API object"

    def __init__(self, to: type[Model] | str, *, max_length: int = 255, **kwargs: Any) -> None:
        self._to = to
        super().__init__(max_length=max_length, **kwargs)

    @property
    def api_model(self) -> type[Model]:
        if isinstance(self._to, str):
            model: type[Model] = apps.get_model(self._to)
            return model
        return self._to

    def get_attname(self) -> str:
        return f"{self.name}_id"

    def get_attname_column(self) -> tuple[str, str]:
        attname = self.get_attname()
        return attname, self.db_column or attname

    def contribute_to_class(self, cls: type[Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, name, ApiObjectDescriptor(self))

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        to = self._to if isinstance(self._to, str) else self._to._meta.label
        kwargs["to"] = to
        if kwargs.get("max_length") == 255:
            del kwargs["max_length"]
        return name, path, args, kwargs


class ApiObjectDescriptor:
    """Resolves the stored key to the API object; assigning an object stores its key."""

    def __init__(self, field: ApiForeignKey) -> None:
        self.field = field

    def is_cached(self, instance: Model) -> bool:
        return self.field.name in instance._state.fields_cache

    def __get__(self, instance: Model | None, owner: type[Model]) -> Any:
        if instance is None:
            return self
        cache = instance._state.fields_cache
        if self.field.name not in cache:
            key = getattr(instance, self.field.attname)
            cache[self.field.name] = (
                None if key is None else self.field.api_model._base_manager.get(pk=key)
            )
        return cache[self.field.name]

    def __set__(self, instance: Model, value: Any) -> None:
        if isinstance(value, Model):
            setattr(instance, self.field.attname, value.pk)
            instance._state.fields_cache[self.field.name] = value
        else:
            setattr(instance, self.field.attname, value)
            instance._state.fields_cache.pop(self.field.name, None)

    def get_prefetch_querysets(
        self, instances: list[Model], querysets: list[Any] | None = None
    ) -> tuple[Any, Callable[[Any], Any], Callable[[Any], Any], bool, str, bool]:
        """For ``prefetch_related()``: one batched ``pk__in`` request for all ``instances``."""
        keys = {getattr(obj, self.field.attname) for obj in instances} - {None}
        queryset = querysets[0] if querysets else self.field.api_model._base_manager.all()
        return (
            queryset.filter(pk__in=keys),
            lambda related: related.pk,
            lambda obj: getattr(obj, self.field.attname),
            True,
            self.field.name,
            False,
        )
