"""``ApiPaginator``: a Django ``Paginator`` whose count and page rows come from one API call.

The stock ``Paginator`` asks ``count()`` first (a ``limit=0`` request) and then slices (a
second request). This one fetches the page first; the response's ``total`` then answers
``count`` without another request. Use it as ``ListView.paginator_class`` or
``ModelAdmin.paginator``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.translation import gettext_lazy as _

from .query import ApiQuerySet

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:  # Django's Paginator is generic only in django-stubs
    _Paginator = Paginator


class ApiPaginator(_Paginator):
    def page(self, number: Any) -> Page[Any]:
        if not isinstance(self.object_list, ApiQuerySet) or "count" in self.__dict__:
            return super().page(number)
        bottom = (self._positive(number) - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + self.orphans])
        number = self.validate_number(number)  # the count is now known: no request
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page: Page[Any] = self._get_page(rows[: max(0, top - bottom)], number, self)  # type: ignore[attr-defined]
        return page

    def _positive(self, number: Any) -> int:
        """``validate_number`` without the page-count check (which would need the count)."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            value = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(
                self.error_messages.get("invalid_page", _("That page number is not an integer"))
            ) from exc
        if value < 1:
            raise EmptyPage(
                self.error_messages.get("min_page", _("That page number is less than 1"))
            )
        return value
