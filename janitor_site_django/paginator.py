"""``ApiPaginator``: a Django ``Paginator`` whose count and page rows come from one API call.

The stock ``Paginator`` asks ``count()`` first (a ``limit=0`` request), then slices (a second
request). This one fetches a page first, and the response's ``total`` answers ``count``.
Use it as ``ListView.paginator_class``; ``ApiModelAdmin`` uses it with the page the request
asks for (``first_page``), so a changelist page is one API call. The object list may also wrap
the queryset, as django-tables2 does (a table paginates its rows, which hold the table's data,
which holds the queryset, each as ``.data``): a page is then the wrapper's slice, fetched once.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator
from django.utils.translation import gettext_lazy as _

from .query import ApiQuerySet

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:  # Django's Paginator is generic only in django-stubs
    _Paginator = Paginator


def _api_queryset(object_list: Any) -> ApiQuerySet[Any] | None:
    """The API queryset ``object_list`` is, or wraps as ``.data`` (django-tables2's rows → the
    table's data → the queryset), else None."""
    for _depth in range(3):
        if isinstance(object_list, ApiQuerySet):
            return object_list
        object_list = getattr(object_list, "data", None)
    return None


class ApiPaginator(_Paginator):
    def __init__(self, object_list: Any, per_page: int, orphans: int = 0,
                 allow_empty_first_page: bool = True, error_messages: Any = None,
                 *, first_page: Any = 1) -> None:  # fmt: skip
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, error_messages)
        #: The page most likely asked for: fetched to learn the count.
        self._first_page = first_page
        #: Fetched pages by number: slices of the object list, evaluated.
        self._rows: dict[int, Any] = {}

    @property
    def _lazy(self) -> bool:
        queryset = _api_queryset(self.object_list)
        return queryset is not None and queryset._result_cache is None

    @cached_property
    def count(self) -> int:
        if self._lazy and not self._rows:  # else a fetched page's total is known
            try:
                number = self._positive(self._first_page)
            except InvalidPage:
                number = 1
            self._rows[number] = self._fetch(number)  # its total answers the count
        total: int = Paginator.count.func(self)  # type: ignore[attr-defined]
        return total

    def page(self, number: Any) -> Page[Any]:
        if not self._lazy:
            return super().page(number)
        wanted = self._positive(number)
        rows = self._rows.get(wanted)
        if rows is None:
            rows = self._rows[wanted] = self._fetch(wanted)
        number = self.validate_number(number)  # the count is known by now: no request
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page: Page[Any] = self._get_page(rows[: max(0, top - bottom)], number, self)  # type: ignore[attr-defined]
        return page

    def _fetch(self, number: int) -> Any:
        """The page's slice (orphans included), evaluated: one request, which brings the total.
        A slice of it is then taken without a request (an evaluated queryset slices its
        results; a wrapper, such as django-tables2's rows, slices the queryset it holds)."""
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page + self.orphans]
        len(rows)
        return rows

    def _positive(self, number: Any) -> int:
        """``validate_number`` without the page-count check (which would need the count)."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            value = int(number)
        except (TypeError, ValueError) as exc:
            message = _("That page number is not an integer")
            raise PageNotAnInteger(self.error_messages.get("invalid_page", message)) from exc
        if value < 1:
            message = _("That page number is less than 1")
            raise EmptyPage(self.error_messages.get("min_page", message))
        return value
