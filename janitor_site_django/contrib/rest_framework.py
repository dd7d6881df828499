"""Django REST framework over API models: the ordering, search and paging the API can do.

* :class:`ApiOrderingFilter`: DRF's ``OrderingFilter`` whose ``ordering_fields`` default to the
  fields the API sorts (``Model.api.sortable_fields``); a term outside the allowed fields is a
  400 listing them (DRF's would drop it, or, for a field the API cannot sort, raise
  ``FieldError``: a 500).
* :class:`ApiSearchFilter`: the endpoint's one search term ``q`` (``Model.api
  .searchable_fields``). One word, or one quoted phrase (``?search="fix typo"``), is a search;
  several terms are a 400: v1 takes one term, and searching them as a phrase would answer
  another question than DRF's (every term, each in any field).
* :class:`ApiPageNumberPagination`: DRF's ``PageNumberPagination`` with
  :class:`~janitor_site_django.paginator.ApiPaginator`: a page and its count from one API call.
* :class:`ApiModelSerializer`: a ``ModelSerializer`` whose output is the v1 JSON of the object.
  A plain ``ModelSerializer`` already renders every field under its v1 key and value (enums as
  their strings, JSON fields as plain JSON, foreign keys as the key) except datetimes, which DRF
  renders in the current time zone (``TIME_ZONE``) with an offset; this one renders them in
  UTC with ``Z``, as v1 does.

* :func:`exception_handler`: DRF's, and a failed API call answers as what went wrong (401,
  403, 404, 409, 429 as the service said; 503 when it cannot be reached, 504 past the deadline,
  502 otherwise) with the service's reason and request id, never as a 500.

Filtering: :class:`janitor_site_django.contrib.django_filters.ApiFilterBackend`. Other models
get DRF's own behaviour from these classes. Needs ``djangorestframework`` (``pip install
"janitor-site-django[drf]"``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import NotSupportedError, models
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import exceptions
from ..client import current_user_token
from ..paginator import ApiPaginator
from ..query import ApiQuerySet
from ..query.resources import api_of

__all__ = [
    "ApiModelSerializer",
    "ApiOrderingFilter",
    "ApiPageNumberPagination",
    "ApiSearchFilter",
    "exception_handler",
]

logger = logging.getLogger(__name__)

#: Statuses of the service that are the caller's own answer, passed on as they are.
_CALLERS = (403, 404, 409, 429)


class ApiOrderingFilter(OrderingFilter):
    """``?ordering=`` over the fields the API sorts (or the view's ``ordering_fields``, which
    must be among them); another term is a 400 naming the allowed fields."""

    def get_valid_fields(
        self, queryset: QuerySet[Any], view: Any, context: Mapping[str, Any] | None = None
    ) -> list[tuple[str, Any]]:
        api = api_of(queryset.model)
        declared = getattr(view, "ordering_fields", self.ordering_fields)
        if api is None:
            return super().get_valid_fields(queryset, view, context)
        if declared is None or declared == "__all__":
            meta = queryset.model._meta
            return [(name, meta.get_field(name).verbose_name) for name in api.sortable_fields]
        valid = super().get_valid_fields(queryset, view, context)
        unsortable = [name for name, _ in valid if not api.can_sort(name)]
        if unsortable:
            raise ImproperlyConfigured(
                f"{type(view).__name__}.ordering_fields names {', '.join(unsortable)}: the API "
                f"cannot sort {queryset.model.__name__} by them. It sorts by "
                f"{', '.join(api.sortable_fields)}."
            )
        return valid

    def remove_invalid_fields(
        self, queryset: QuerySet[Any], fields: Iterable[str], view: Any, request: Request
    ) -> list[str]:
        if api_of(queryset.model) is None:
            return super().remove_invalid_fields(queryset, fields, view, request)
        valid = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
        terms = [term for term in fields if term]  # "a,,b": DRF skips the empty term too
        refused = [term for term in terms if term.removeprefix("-") not in valid]
        if refused:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(refused)}. Allowed: {', '.join(valid)} "
                        "(prefix - for descending)."
                    ]
                }
            )
        return terms


class ApiSearchFilter(SearchFilter):
    """``?search=``: the endpoint's one term ``q``, over the fields the API searches; several
    terms are a 400. A view's ``search_fields`` must be those fields (as ``icontains`` paths:
    ``codebase__name``)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        if not isinstance(queryset, ApiQuerySet):
            return super().filter_queryset(request, queryset, view)
        terms = self.get_search_terms(request)
        if len(terms) > 1:
            raise ValidationError(
                {
                    self.search_param: [
                        f"The API searches for one term, not {len(terms)}: search for one "
                        f'word, or put the phrase in quotes ("{" ".join(terms)}").'
                    ]
                }
            )
        fields = self.get_search_fields(view, request)
        if not terms:
            return queryset
        if not fields:
            return queryset.search(terms[0])
        self._check_fields(queryset, view, fields)
        return super().filter_queryset(request, queryset, view)  # compiled into q

    def _check_fields(self, queryset: QuerySet[Any], view: Any, fields: Sequence[str]) -> None:
        """DRF's OR of the fields' lookups must be the API's search (checked before any I/O)."""
        lookups = [self.construct_search(str(field), queryset) for field in fields]
        try:
            queryset.filter(reduce(or_, (Q(**{lookup: "term"}) for lookup in lookups)))
        except (NotSupportedError, FieldError) as error:
            raise ImproperlyConfigured(
                f"{type(view).__name__}.search_fields cannot be searched through the API: "
                f"{error} (leave search_fields unset to search the API's fields)."
            ) from error


class ApiPageNumberPagination(PageNumberPagination):
    """DRF's page-number pagination, one API call a page (the count comes with the page)."""

    django_paginator_class = ApiPaginator


class _UtcDateTimeField(serializers.DateTimeField):
    """Rendered in UTC (``…Z``), as v1 renders timestamps, whatever ``TIME_ZONE`` is."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", dt.timezone.utc)
        super().__init__(**kwargs)


class ApiModelSerializer(serializers.ModelSerializer[Any]):
    """A ``ModelSerializer`` rendering an API model as its v1 JSON (``fields = "__all__"``: every
    v1 key)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: _UtcDateTimeField,
    }


def _status(error: exceptions.JanitorSiteError) -> int:
    if isinstance(error, exceptions.APIError):
        if error.status in _CALLERS:
            return error.status
        if error.status == 401 and current_user_token() is not None:
            return 401  # the user's own token was refused (the service token's is ours: 502)
        if isinstance(error, exceptions.Unavailable):
            return 503
    if isinstance(error, exceptions.Timeout):
        return 504
    if isinstance(error, exceptions.TransportError):
        return 503
    return 502


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, with API failures answered as what went wrong instead of a
    500: ``REST_FRAMEWORK = {"EXCEPTION_HANDLER":
    "janitor_site_django.contrib.rest_framework.exception_handler"}``."""
    if not isinstance(exc, exceptions.JanitorSiteError):
        return drf_exception_handler(exc, context)
    status = _status(exc)
    if isinstance(exc, exceptions.APIError):
        body = {"detail": exc.reason, "code": exc.code}
    elif isinstance(exc, exceptions.TransportError):
        body = {"detail": "The Janitor site service could not be reached.", "code": "unavailable"}
    else:
        body = {"detail": "The Janitor site service gave an answer that could not be read.",
                "code": "bad_gateway"}  # fmt: skip
    request_id = getattr(exc, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(body, status=status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(math.ceil(retry_after))
    if status >= 500:
        logger.warning("Janitor site API call failed: %s", exc)
    return response
