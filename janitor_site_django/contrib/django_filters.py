"""django-filter over API models: FilterSets generated from what the API can filter.

``ApiFilterSet`` is a ``django_filters.FilterSet`` whose ``Meta.fields`` default to every
lookup the API supports for ``Meta.model`` (``Model.api.lookups``); fields it cannot filter are
refused when the class is defined (``ImproperlyConfigured``), foreign keys are filtered by key
(a text box, not a ``<select>`` listing every codebase), and the fields a query must have (a
ready list's campaign) are required. A value the form accepts but the API cannot send (an
empty item in ``codebase__in=a,,b``) is a form error on its field, so the filterset is invalid
(DRF answers 400) instead of raising in the view. ``ApiFilterBackend`` is DRF's
``DjangoFilterBackend`` with it. Needs ``django-filter`` (``pip install
"janitor-site-django[filters]"``)::

    class RunFilter(ApiFilterSet):
        class Meta:
            model = Run            # fields: every lookup of Run.api.lookups
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import NotSupportedError, models
from django.db.models import QuerySet
from django_filters.constants import ALL_FIELDS
from django_filters.rest_framework import DjangoFilterBackend

from ..query import ApiQuerySet, Capabilities
from ..query.resources import api_of

__all__ = ["ApiFilterBackend", "ApiFilterSet", "filterset_for"]


def _describe(api: Capabilities) -> str:
    return "; ".join(f"{field}: {', '.join(lookups)}" for field, lookups in api.lookups.items())


class ApiFilterSet(django_filters.FilterSet):
    """A FilterSet over an API model: the API's lookups, and only those."""

    if TYPE_CHECKING:  # set on each class by django-filter's metaclass; the stubs omit it
        _meta: Any

    @classmethod
    def get_fields(cls) -> dict[str, Any]:  # field → lookups (the stubs say model fields)
        """``Meta.fields`` (all the API's lookups when unset or ``"__all__"``), refusing those
        the API cannot send."""
        api = api_of(cls._meta.model)
        if api is None:
            return super().get_fields()
        fields: Any = cls._meta.fields
        if fields is None or fields == ALL_FIELDS:
            wanted = {name: list(lookups) for name, lookups in api.lookups.items()}
        elif isinstance(fields, dict):
            wanted = {name: list(lookups) for name, lookups in fields.items()}
        else:  # a list: exact lookups (or names of declared filters)
            wanted = {name: ["exact"] for name in fields}
        refused = [
            f"{name}__{lookup}"
            for name, lookups in wanted.items()
            for lookup in lookups
            if name not in cls.declared_filters and not api.can_filter(name, lookup)
        ]
        if refused:
            raise ImproperlyConfigured(
                f"{cls.__name__}: the API cannot filter {cls._meta.model.__name__} by "
                f"{', '.join(refused)}. It filters {_describe(api)}."
            )
        exclude = cls._meta.exclude or ()
        return OrderedDict((name, ls) for name, ls in wanted.items() if name not in exclude)

    @classmethod
    def filter_for_lookup(cls, field: Any, lookup_type: str) -> Any:
        """django-filter's, with an API model's foreign keys filtered as their key (a
        ``ModelChoiceFilter`` would list every row of the related API model)."""
        if field.is_relation and api_of(cls._meta.model) is not None:
            field = field.target_field
        return super().filter_for_lookup(field, lookup_type)

    @classmethod
    def get_filters(cls) -> OrderedDict[str, django_filters.Filter]:
        """The filters; those of required fields are required, and first (the API queryset
        refuses any other filter before them)."""
        filters: OrderedDict[str, django_filters.Filter] = super().get_filters()
        api = api_of(cls._meta.model)
        for name in reversed(api.required_fields if api is not None else ()):
            if name in filters:
                filters[name].extra["required"] = True
                filters.move_to_end(name, last=False)
        return filters

    def is_valid(self) -> bool:
        self._check_api()
        return super().is_valid()

    @property
    def errors(self) -> Any:
        self._check_api()
        return self.form.errors

    def _check_api(self) -> None:
        """Apply each cleaned value to the queryset (no request: the API queryset refuses what
        v1 cannot send as it is filtered); a refusal becomes an error on its field."""
        if not self.is_bound or getattr(self, "_api_checked", False):
            return
        self._api_checked = True
        if not isinstance(self.queryset, ApiQuerySet):
            return
        self.form.is_valid()  # cleans it: cleaned_data holds the valid values
        cleaned = self.form.cleaned_data
        api = api_of(self.queryset.model)
        if api is None or any(n in self.filters and n not in cleaned for n in api.required_fields):
            return  # a required field's own error says it: nothing filters without it
        queryset: QuerySet[Any] = self.queryset.all()
        for name, value in list(cleaned.items()):
            try:
                queryset = self.filters[name].filter(queryset, value)
            except (NotSupportedError, FieldError) as error:
                self.form.add_error(name, str(error))  # and out of cleaned_data


@functools.cache
def filterset_for(model: type[models.Model]) -> type[ApiFilterSet]:
    """An :class:`ApiFilterSet` with every lookup the API supports for ``model``."""
    meta = type("Meta", (), {"model": model})
    filterset: type[ApiFilterSet] = type(
        f"{model.__name__}FilterSet", (ApiFilterSet,), {"Meta": meta}
    )
    return filterset


class ApiFilterBackend(DjangoFilterBackend):
    """DRF's ``DjangoFilterBackend`` with :class:`ApiFilterSet`: ``filterset_fields`` are
    checked against the API, and a view naming neither ``filterset_class`` nor
    ``filterset_fields`` filters on every lookup the API supports. Invalid values are a 400."""

    filterset_base = ApiFilterSet

    def get_filterset_class(self, view: Any, queryset: Any = None) -> Any:
        declared = getattr(view, "filterset_class", None) or getattr(view, "filterset_fields", None)
        if declared is None and queryset is not None and api_of(queryset.model) is not None:
            return filterset_for(queryset.model)
        return super().get_filterset_class(view, queryset)
