"""``ApiManager``: the manager of API models (default and base manager)."""

from __future__ import annotations

from typing import Any

from django.db.models import Manager

from .queryset import ApiQuerySet


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
