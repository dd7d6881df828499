"""django-tables2 over API models: columns sort only where the API sorts.

``ApiTable`` is a ``django_tables2.Table`` whose columns the API cannot sort are
``orderable=False`` (no sort link), and whose ``order_by`` ignores them, so a hand-edited
``?sort=`` on such a column leaves the order as it was, as django-tables2 does for any
non-orderable column, instead of raising ``FieldError``. A column showing a foreign key shows
the key (``codebase_id``: the codebase's name), as the admin does, instead of fetching each
row's related object; a ``?per_page=`` below 1 is the default. Paginate with
:class:`~janitor_site_django.paginator.ApiPaginator` for one API call a page::

    paginate = {"paginator_class": ApiPaginator, "per_page": 25}
    RequestConfig(request, paginate=paginate).configure(table)

(``SingleTableView``: ``table_pagination = {"paginator_class": ApiPaginator, ...}``; with
``paginate_by``, ``ListView`` fetches a page of its own too.) Needs ``django-tables2`` (``pip
install "janitor-site-django[tables2]"``).
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables  # type: ignore[import-untyped]  # django-tables2 ships no types
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django_tables2.utils import Accessor, OrderBy  # type: ignore[import-untyped]

from ..query import ApiQuerySet

__all__ = ["ApiTable"]


class ApiTable(tables.Table):  # type: ignore[misc]  # django-tables2 is untyped
    """A table whose columns sort only where the API sorts (its data an API queryset)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queryset = getattr(self.data, "data", None)
        if not isinstance(queryset, ApiQuerySet):
            return
        keys = {f.name: f.attname for f in queryset.model._meta.concrete_fields if f.is_relation}
        for bound_column in self.columns.iterall():  # this table's own copies of the columns
            if not self._api_sorts(bound_column):
                bound_column.column.orderable = False
            if str(bound_column.accessor) in keys:  # the key, not a request per row
                key = Accessor(keys[str(bound_column.accessor)])
                bound_column.column.accessor = bound_column.accessor = key

    @property
    def order_by(self) -> Any:
        return tables.Table.order_by.fget(self)

    @order_by.setter
    def order_by(self, value: Any) -> None:
        """django-tables2's, without the aliases of columns the API cannot sort (``__init__``
        applies ``order_by`` before the columns are marked)."""
        aliases = value.split(",") if isinstance(value, str) else (value or ())
        kept = [
            alias
            for alias in aliases
            if (name := OrderBy(alias).bare) not in self.columns
            or self._api_sorts(self.columns[name])
        ]
        tables.Table.order_by.fset(self, kept)

    def paginate(self, *args: Any, per_page: int | None = None, **kwargs: Any) -> Any:
        """django-tables2's; a ``per_page`` below 1 (``?per_page=-5``, which RequestConfig
        passes on) is the table's default, not a negative slice (a 500)."""
        if per_page is not None and per_page < 1:
            per_page = None
        return super().paginate(*args, per_page=per_page, **kwargs)

    def _api_sorts(self, bound_column: Any) -> bool:
        """Whether the API sorts by the column's ``order_by`` (or accessor): the queryset's own
        ``order_by`` answers, before any request. Custom ``order_FOO`` methods are trusted."""
        queryset = getattr(self.data, "data", None)
        if not isinstance(queryset, ApiQuerySet) or hasattr(self, f"order_{bound_column.name}"):
            return True
        keys = bound_column.column.order_by or (bound_column.accessor,)
        try:
            queryset.order_by(*(OrderBy(str(key)).bare.for_queryset() for key in keys))
        except (FieldError, NotSupportedError):
            return False
        return True
