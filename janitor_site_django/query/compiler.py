"""Django's ``Query`` (where tree, ordering, slice) → one v1 list request's parameters.

Pure functions of the query: no I/O. Whatever v1 cannot express raises ``FieldError`` or
``NotSupportedError`` naming the model, the lookup and what is supported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import Field, Model
from django.db.models.expressions import Col, ColPairs, F, OrderBy
from django.db.models.lookups import Lookup
from django.db.models.sql import Query
from django.db.models.sql.where import AND, OR, NothingNode, WhereNode

from .resources import FieldFilter, Resource

MICROSECOND = dt.timedelta(microseconds=1)
#: Parameter holding a primary key the list endpoint cannot filter by.
PK = "pk"


@dataclasses.dataclass(frozen=True)
class ApiQuery:
    """One compiled queryset: the list call's keyword arguments and the slice."""

    #: Keyword arguments of the client's list method (filters and ``sort``).
    params: Mapping[str, Any]
    #: Values of the resource's path fields (e.g. the ready list's campaign), in order.
    path: tuple[str, ...]
    offset: int
    limit: int | None
    #: The filters can match nothing (``none()``, contradictory filters): make no request.
    empty: bool = False
    #: ``reverse()``: the exact reverse of the ``sort`` order, slice included. v1 sorts nulls
    #: last both ways and breaks ties by the ascending key, so ``-x`` is not the reverse of
    #: ``x``: the walk reads the matching window of the forward order and reverses it.
    reversed: bool = False

    @property
    def signature(self) -> tuple[Any, ...]:
        """Identity of the filtered set, ignoring order and slice (to share ``total``)."""
        filters = tuple(sorted((k, repr(v)) for k, v in self.params.items() if k != "sort"))
        return (self.path, filters)


class _Empty(Exception):
    """The where tree matches nothing."""


def _model_name(model: type[Model]) -> str:
    return model._meta.object_name or model.__name__


def _unsupported(model: type[Model], what: str, hint: str) -> NotSupportedError:
    return NotSupportedError(f"{_model_name(model)}: {what} is not supported by the API. {hint}")


class WhereCompiler:
    """Walks one ``Query.where`` tree into v1 parameters."""

    def __init__(self, query: Query, resource: Resource, extra: Mapping[str, Any]) -> None:
        self.query = query
        self.model: type[Model] = query.model  # type: ignore[assignment]
        self.resource = resource
        self.params: dict[str, Any] = dict(extra)
        self.path: dict[str, str] = {}

    def compile(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        if not _carried(self.params.get("q", "")):  # search(): no row holds a NUL
            raise _Empty
        self._node(self.query.where)
        missing = [name for name in self.resource.path_fields if name not in self.path]
        if missing:
            raise _unsupported(
                self.model,
                "a query without " + " and ".join(f"filter({name}=...)" for name in missing),
                f"{_model_name(self.model)} lists are per {missing[0]}: "
                f"filter({missing[0]}=...) first.",
            )
        return self.params, tuple(self.path[name] for name in self.resource.path_fields)

    # Tree --------------------------------------------------------------------------------

    def _node(self, node: Any) -> None:
        if isinstance(node, NothingNode):
            raise _Empty
        if isinstance(node, Lookup):
            self._lookup(node)
            return
        if not isinstance(node, WhereNode):
            raise _unsupported(self.model, f"the filter {node!r}", "Use field lookups.")
        if node.negated:
            self._negation(node)
        elif node.connector == AND or len(node.children) <= 1:
            for child in node.children:
                self._node(child)
        elif node.connector == OR:
            self._disjunction(node)
        else:
            raise _unsupported(self.model, f"the {node.connector} connector", "Use AND or OR.")

    def _disjunction(self, node: WhereNode) -> None:
        """OR is expressible in two shapes: one field's values (IN) or ``q`` over its fields."""
        lookups = self._alternatives(node)
        fields = {self._field(lookup).name for lookup in lookups}
        names = {lookup.lookup_name for lookup in lookups}
        if len(fields) == 1 and names <= {"exact", "in"}:
            values: list[Any] = []
            for lookup in lookups:
                values += list(lookup.rhs) if lookup.lookup_name == "in" else [lookup.rhs]
            self._in(self._field(lookups[0]), values, "in")
            return
        if names == {"icontains"} and fields == set(self.resource.searched):
            terms = {lookup.rhs for lookup in lookups}
            if len(terms) == 1:
                self._set("q", terms.pop())
                return
        raise self._or_error()

    def _alternatives(self, node: WhereNode) -> list[Lookup]:
        """The lookups of an OR, through nested ORs and one-lookup groups (``qs_a | qs_b``)."""
        lookups: list[Lookup] = []
        for child in node.children:
            if isinstance(child, Lookup):
                lookups.append(child)
            elif (
                isinstance(child, WhereNode)
                and not child.negated
                and (child.connector == OR or len(child.children) == 1)
            ):
                lookups += self._alternatives(child)
            else:
                raise self._or_error()
        return lookups

    def _or_error(self) -> NotSupportedError:
        searched = ", ".join(self.resource.searched)
        return _unsupported(
            self.model,
            "OR across different parameters",
            f"OR works over one field's values (field__in), or as the search q: one term "
            f"icontains-ed over exactly these fields: {searched}.",
        )

    def _negation(self, node: WhereNode) -> None:
        """``exclude(flag=x)`` on a non-null boolean is ``flag=not x``; nothing else is."""
        if len(node.children) == 1 and isinstance(node.children[0], Lookup):
            lookup = node.children[0]
            field = self._field(lookup)
            if (
                lookup.lookup_name == "exact"
                and field.get_internal_type() == "BooleanField"
                and not field.null
                and isinstance(lookup.rhs, bool)
            ):
                self._apply(field, "exact", not lookup.rhs)
                return
        raise _unsupported(
            self.model,
            "this exclude()",
            "The API has no negated filters; only exclude() of a non-null boolean field works.",
        )

    # Lookups -----------------------------------------------------------------------------

    def _field(self, lookup: Lookup) -> Field[Any, Any]:
        lhs = lookup.lhs
        column = _single_column(lhs, self.query)
        if column is not None:
            return column
        if not isinstance(lhs, Col):
            raise _unsupported(
                self.model,
                f"the lookup {lookup.lookup_name!r} on {lhs!r}",
                "Transforms (e.g. __date, __year) cannot be sent to the API.",
            )
        if lhs.alias != self.query.get_initial_alias():
            raise _unsupported(
                self.model,
                f"filtering on the related field {lhs.target.model.__name__}.{lhs.target.name}",
                "Filter the related model's own queryset, or by its primary key here.",
            )
        field: Field[Any, Any] = lhs.target
        return field

    def _lookup(self, lookup: Lookup) -> None:
        self._apply(self._field(lookup), str(lookup.lookup_name), lookup.rhs)

    def _apply(self, field: Field[Any, Any], name: str, value: Any) -> None:
        if field.name in self.resource.path_fields and name == "exact":
            self._path(field.name, value)
            return
        if field.name in self.resource.defaults and name == "exact":
            default = self.resource.defaults[field.name]
            if value != default:
                raise _unsupported(
                    self.model,
                    f"filter({field.name}={value!r})",
                    f"v1 lists the rows with {field.name}={default!r} (or all of them, with "
                    f"{self.resource.widened_by.get(field.name, 'no filter')}); it cannot list "
                    "only the others.",
                )
            self.params.pop(self.resource.widened_by.get(field.name, ""), None)
            return
        if name == "icontains" and self.resource.searched == (field.name,):
            self._set("q", value)
            return
        if name == "in":
            values = [v[0] if isinstance(v, tuple) and len(v) == 1 else v for v in value]
            self._in(field, values, name)
            return
        spec = self.resource.filters.get(field.name)
        if spec is None and name == "exact" and field.primary_key:
            if value == "" or not _carried(value):
                raise _Empty  # v1 keys are non-empty and hold no NUL
            self._set(PK, value)  # served by the detail endpoint, or matched client-side
            return
        if spec is None:
            raise self._lookup_error(field, name)
        if name == "exact" and spec.exact and value is not None:
            self._set(spec.exact, self._value(field, spec.exact, value))
        elif name in ("gte", "gt", "lt", "lte", "range") and spec.gte and spec.lt:
            self._range(spec, name, value)
        else:
            raise self._lookup_error(field, name)

    def _lookup_error(self, field: Field[Any, Any], name: str) -> NotSupportedError:
        spec = self.resource.filters.get(field.name)
        supported = ", ".join(spec.lookups()) if spec else "none"
        searched = self.resource.searched
        if name == "icontains":
            hint = (
                f"The API's search q matches any of {', '.join(searched)} at once: use "
                f"{_model_name(self.model)}.objects.search(term), or icontains over all of them "
                "in one Q(...) | Q(...)."
            )
        else:
            filtered = ", ".join(self.resource.filtered_fields())
            hint = f"Lookups on {field.name}: {supported}. Filterable fields: {filtered}."
        return _unsupported(self.model, f"the lookup {field.name}__{name}", hint)

    def _value(self, field: Field[Any, Any], param: str, value: Any) -> Any:
        """``value`` for ``param``; a value no row can hold (an unknown enum value) matches
        nothing; an empty string cannot be asked for (§2.4 reads it as absent)."""
        if value == "" and field.primary_key:
            raise _Empty  # v1 keys are never empty: no row has it
        if value == "":
            raise _unsupported(
                self.model,
                f"filter({field.name}='')",
                "v1 reads an empty value as an absent filter (§2.4), so it cannot ask for empty "
                "values: leave the filter out when the value is empty.",
            )
        encoder = self.resource.spec.filters.get(param)
        try:
            if encoder is not None:
                encoder(param, value)
        except ValueError:
            raise _Empty from None
        return value

    def _in(self, field: Field[Any, Any], values: list[Any], name: str) -> None:
        spec = self.resource.filters.get(field.name)
        if spec is None or spec.many is None:
            raise self._lookup_error(field, name)
        if field.primary_key:  # v1 keys are never empty: no row has one
            values = [value for value in values if value != ""]
            if not values:
                raise _Empty
        distinct = list(dict.fromkeys(values))
        if len(distinct) == 1 and spec.exact and "," in str(distinct[0]):
            # one value a v1 list cannot carry: asked for exactly, as filter(field=value)
            self._set(spec.exact, self._value(field, spec.exact, distinct[0]))
            return
        if any(isinstance(value, str) and (not value or "," in value) for value in values):
            written = f"{field.name}__in" + (" (pk__in)" if field.primary_key else "")
            raise _unsupported(
                self.model,
                f"{written} with an empty value or a value containing a comma",
                "v1 lists are comma-separated and cannot hold either; filter by such a value "
                f"alone with filter({field.name}=value).",
            )
        values = [value for value in values if self._matchable(field, spec.exact, value)]
        if not values:
            raise _Empty
        current = self.params.get(spec.many)
        wanted = list(dict.fromkeys(values))
        if current is not None:
            wanted = [value for value in current if value in set(wanted)]
            if not wanted:
                raise _Empty
        self.params[spec.many] = wanted

    def _range(self, spec: FieldFilter, name: str, value: Any) -> None:
        if name == "range":
            bounds = [(spec.gte, value[0]), (spec.lt, _after(value[1]))]
        elif name in ("gte", "gt"):
            bounds = [(spec.gte, value if name == "gte" else _after(value))]
        else:
            bounds = [(spec.lt, value if name == "lt" else _after(value))]
        for param, bound in bounds:
            assert param is not None
            current = self.params.get(param)
            if current is not None:  # two bounds on one side: the tighter one wins
                bound = max(current, bound) if param == spec.gte else min(current, bound)
            self.params[param] = bound

    def _matchable(self, field: Field[Any, Any], param: str | None, value: Any) -> bool:
        if param is None:
            return True
        try:
            self._value(field, param, value)
        except _Empty:
            return False
        return True

    def _set(self, param: str, value: Any) -> None:
        if param == "q" and value == "":
            return  # icontains "" matches every row: each resource searches a non-null field
        if param == "q" and not _carried(value):
            raise _Empty
        if param in self.params and self.params[param] != value:
            if param == "q":
                raise _unsupported(
                    self.model,
                    "two different search terms",
                    "The API takes one q; search for the whole phrase with one term.",
                )
            raise _Empty  # x = a AND x = b
        self.params[param] = value

    def _path(self, name: str, value: Any) -> None:
        if value == "" or not _carried(value):
            raise _Empty  # no campaign is named so
        if name in self.path and self.path[name] != value:
            raise _Empty
        self.path[name] = value


def _carried(value: Any) -> bool:
    """Whether v1 can carry ``value``: a string with a NUL it cannot, and no row holds one."""
    return not (isinstance(value, str) and "\x00" in value)


def _single_column(lhs: Any, query: Query) -> Field[Any, Any] | None:
    """The field of a one-column ``ColPairs`` on the model itself (related prefetches use
    ``TupleIn`` on such pairs), else None."""
    single = isinstance(lhs, ColPairs) and len(lhs.targets) == 1
    if single and lhs.alias == query.get_initial_alias():
        field: Field[Any, Any] = lhs.targets[0]
        return field
    return None


def _after(value: Any) -> Any:
    """The next instant after a timestamp: v1 timestamps have microsecond resolution."""
    if not isinstance(value, dt.datetime):
        raise NotSupportedError(f"range bounds must be datetimes, not {type(value).__name__}")
    return value + MICROSECOND


def _ordering(query: Query) -> Iterable[Any]:
    model: type[Model] = query.model  # type: ignore[assignment]
    return query.order_by or ((model._meta.ordering or ()) if query.default_ordering else ())


def ordering_fields(query: Query) -> list[str]:
    """The model fields the query is ordered by, in order."""
    model: type[Model] = query.model  # type: ignore[assignment]
    return [_order_entry(model, entry)[0] for entry in _ordering(query)]


def compile_ordering(query: Query, resource: Resource) -> str | None:
    """The ``sort`` parameter: ``order_by`` (or ``Meta.ordering``), forward (``reverse()`` is
    applied to the results: :attr:`ApiQuery.reversed`)."""
    model: type[Model] = query.model  # type: ignore[assignment]
    fields: list[str] = []
    for entry in _ordering(query):
        field, descending = _order_entry(model, entry)
        if field not in resource.sortable:
            sortable = ", ".join(resource.sortable)
            raise FieldError(
                f"{_model_name(model)} cannot be ordered by {field!r} through the API; "
                f"sortable fields: {sortable}."
            )
        api_field = resource.sortable[field]
        if all(existing.lstrip("-") != api_field for existing in fields):
            fields.append(("-" if descending else "") + api_field)
    return ",".join(fields) or None


def _order_entry(model: type[Model], entry: Any) -> tuple[str, bool]:
    if isinstance(entry, OrderBy) and isinstance(entry.expression, F):
        if entry.nulls_first:
            raise _unsupported(
                model,
                f"ordering with nulls first ({entry.expression.name})",  # type: ignore[attr-defined]
                "The API sorts nulls last in both directions; order without nulls_first.",
            )
        return _field_name(model, str(entry.expression.name)), entry.descending  # type: ignore[attr-defined]
    if isinstance(entry, F):
        return _field_name(model, str(entry.name)), False  # type: ignore[attr-defined]
    if not isinstance(entry, str) or entry == "?":
        raise _unsupported(model, f"ordering by {entry!r}", "Order by field names.")
    descending = entry.startswith("-")
    return _field_name(model, entry.lstrip("-+")), descending


def _field_name(model: type[Model], name: str) -> str:
    """A model field's name for an ordering term (``pk``, attnames and ``fk__pk`` resolved)."""
    meta = model._meta
    if name == "pk":
        return meta.pk.name
    head, _, rest = name.partition("__")
    for field in meta.concrete_fields:
        if head in (field.name, field.attname):
            related = field.related_model
            if not rest or (related is not None and rest in ("pk", related._meta.pk.name)):
                return field.name
    raise FieldError(f"{_model_name(model)} has no field {name!r} to order by.")


def compile_query(query: Query, resource: Resource, extra: Mapping[str, Any]) -> ApiQuery:
    """The v1 request for ``query``; ``extra`` are raw v1 parameters (``api_params()``)."""
    offset, high = query.low_mark, query.high_mark
    limit = None if high is None else max(0, high - offset)
    try:
        params, path = WhereCompiler(query, resource, extra).compile()
    except _Empty:
        return ApiQuery({}, (), offset, limit, empty=True)
    sort = compile_ordering(query, resource)
    if sort is not None:
        params["sort"] = sort
    backward = sort is not None and not query.standard_ordering
    return ApiQuery(params, path, offset, limit, empty=limit == 0, reversed=backward)
