"""The contract's ordering rules (§2.6, §4.8) as Django order expressions, in this one place.

The API orders by its v1 ``sort``: text in code point order, enums in declaration order, booleans
false < true, ``null`` last in both directions, and the primary key (ascending) appended as the
final key unless already named. The replicas say the same to SQLite:

* ``F(column).asc(nulls_last=True)`` / ``.desc(nulls_last=True)``: SQLite alone puts NULL first
  ascending; an explicit ``nulls_first=True`` (``F(x).asc(nulls_first=True)``) is kept as asked;
* an enum column sorts by its rank, ``Case(When(col=value, then=rank)…)``, in the order of the
  API model field's ``choices`` (which are the contract's declaration order);
* text needs nothing: SQLite's BINARY collation compares UTF-8 bytes, i.e. code points;
* the tie-breaker ``F(pk).asc()`` last, unless the primary key is already a key.

Django then does the rest as it does for any model: ``reverse()`` flips every term (the nulls
too, so a reversed list is exactly the list reversed), ``last()`` is the reversed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.expressions import OrderBy

#: One order key: (Django name without ``-``, descending, explicit nulls ``"first"``/``"last"``
#: or None for the contract's rule).
Key = tuple[str, bool, "str | None"]


def resolve(model: type[models.Model], name: str) -> models.Field[Any, Any] | None:
    """The concrete field an order name means (``pk``, attnames, ``fk__pk`` resolved), else
    None (a join, an unknown name, ``?``)."""
    meta = model._meta
    if name == "pk":
        return meta.pk  # type: ignore[return-value]
    head, _, rest = name.partition("__")
    for field in meta.concrete_fields:
        if head in (field.name, field.attname):
            if not rest:
                return field
            related = field.related_model  # (not while the app registry loads: no "__" there)
            if related is not None and rest in ("pk", related._meta.pk.name):  # type: ignore[union-attr]
                return field
    return None


def enum_rank(field: models.Field[Any, Any]) -> Case:
    """The declaration-order rank of an enum column (NULL stays NULL)."""
    whens = [
        When(**{field.attname: value}, then=Value(rank))
        for rank, (value, _) in enumerate(field.choices or ())
    ]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def term(model: type[models.Model], name: str, descending: bool, nulls: str | None) -> Any:
    """One order key as the contract sorts it (or as Django would, for what the API cannot sort:
    the API must refuse those, Django's answer is still well defined)."""
    if name == "?":
        return "?"
    field = resolve(model, name)
    expression: Any
    if field is None:
        expression = F(name)
    elif field.choices:
        expression = enum_rank(field)
    else:
        expression = F(field.attname)
    options = {"nulls_first": True} if nulls == "first" else {"nulls_last": True}
    return expression.desc(**options) if descending else expression.asc(**options)


def contract_order(
    model: type[models.Model], keys: Iterable[Key | Any], *, tie_breaker: bool = True
) -> list[Any]:
    """``order_by()`` arguments for the replica of ``model`` meaning what ``keys`` mean to the
    API. Anything but a key tuple (a string, an expression) is passed as it is: what Django
    itself must reject as written.
    ``tie_breaker=False`` leaves out the appended primary key (see ``distinct()``)."""
    keys = list(keys)
    terms = [term(model, *key) if isinstance(key, tuple) else key for key in keys]
    pk = model._meta.pk
    has_pk = any(isinstance(key, tuple) and resolve(model, key[0]) is pk for key in keys)
    if tie_breaker and not has_pk and "?" not in terms:
        terms.append(F(pk.attname).asc())  # type: ignore[union-attr]
    return terms


def parse(names: Sequence[Any]) -> list[Key]:
    """``Meta.ordering``-style names (``"-start_time"``) as keys."""
    return [(str(name).lstrip("-"), str(name).startswith("-"), None) for name in names]


def is_total(model: type[models.Model], terms: Sequence[Any]) -> bool:
    """Whether ``terms`` (as built by :func:`contract_order`) order every row apart: they end
    with the primary key, or name it."""
    pk = model._meta.pk
    return any(
        isinstance(entry, OrderBy)
        and isinstance(entry.expression, F)
        and resolve(model, entry.expression.name) is pk
        for entry in terms
    )
