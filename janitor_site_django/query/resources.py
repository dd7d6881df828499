"""What the API can do for each model: filters (lookup → v1 parameter), search, sort, endpoints.

One :class:`Resource` per API model, set as ``Model.api_resource``. The compiler consults it to
turn Django's ``Query`` into v1 parameters, and to refuse — before any I/O — what v1 cannot do.
Its public, documented summary is :class:`Capabilities`, ``Model.api`` (what integrations and
``docs/orm-lookups.md`` read).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from django.db import NotSupportedError
from django.db.models import Model

from ..client import Operation, Page, operations, specs


@dataclasses.dataclass(frozen=True)
class FieldFilter:
    """The v1 parameters that filter on one model field."""

    #: ``field=value`` / ``field__exact=value``.
    exact: str | None = None
    #: ``field__in=[…]`` (a comma list of 1–1000 values).
    many: str | None = None
    #: ``field__gte=t`` (and ``__gt``, exact at microsecond resolution).
    gte: str | None = None
    #: ``field__lt=t`` (and ``__lte``).
    lt: str | None = None

    def lookups(self) -> list[str]:
        """The Django lookups this filter supports, for messages and docs."""
        names = []
        if self.exact:
            names.append("exact")
        if self.many:
            names.append("in")
        if self.gte:
            names += ["gte", "gt"]
        if self.lt:
            names += ["lt", "lte"]
        if self.gte and self.lt:
            names.append("range")
        return names


_WRITE_HINT = (
    "The API allows run.save(update_fields=['description']), run.reschedule() and "
    "codebase.publish()."
)


def read_only(name: str) -> Callable[..., Any]:
    """A queryset method refused because API models are read-only (a write the API allows is
    a model method)."""

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(
            f"{self.model.__name__}.objects.{name}() is not supported: API models are read-only. "
            + _WRITE_HINT
        )

    refuse.__name__ = name
    return refuse


def exact(param: str, many: str | None = None) -> FieldFilter:
    return FieldFilter(exact=param, many=many)


@dataclasses.dataclass(frozen=True)
class Resource:
    """One model's v1 endpoints and capabilities."""

    #: The operation listing the resource, e.g. ``operations.list_runs``.
    list_operation: Callable[..., Operation[Page[Any]]]
    #: The operation fetching one by primary key, e.g. ``operations.get_run`` (None: list with
    #: the pk filter).
    detail_operation: Callable[..., Operation[Any]] | None
    filters: Mapping[str, FieldFilter]
    #: Model fields the endpoint's ``q`` searches (all of them, as one OR).
    searched: tuple[str, ...]
    #: Model field → v1 sort field.
    sortable: Mapping[str, str]
    #: The list endpoint's parameters (their encoders tell which values can match at all).
    spec: specs.ListSpec
    #: Model fields that must be given exactly and go into the path, in order (``campaign`` of
    #: a ready list).
    path_fields: tuple[str, ...] = ()
    #: Boolean fields whose only expressible value is the endpoint's default (``inactive=False``).
    defaults: Mapping[str, object] = dataclasses.field(default_factory=dict)
    #: The raw parameter that widens a default (``include_inactive`` for ``inactive``): a filter
    #: on the default value removes it again.
    widened_by: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Extra v1 parameters the detail operation accepts as keyword arguments.
    detail_params: tuple[str, ...] = ()

    def filtered_fields(self) -> list[str]:
        return sorted({*self.filters, *self.path_fields, *self.defaults})


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What an API model's querysets can ask the API (``Model.api``); anything else raises
    ``NotSupportedError`` (filters) or ``FieldError`` (ordering) before any request.

    ``Run.api.sortable_fields``, ``Run.api.lookups["result_code"]`` (``("exact", "in")``)…
    Immutable: tuples and read-only mappings.
    """

    #: Field → the Django lookups ``filter()`` sends with any value, in the resource's order
    #: (``exact`` on a primary key is always there). Search is not a lookup here: see
    #: :attr:`searchable_fields`.
    lookups: Mapping[str, tuple[str, ...]]
    #: Fields ``order_by()`` accepts, ascending or descending (``"-name"``).
    sortable_fields: tuple[str, ...]
    #: Fields the endpoint's one search term matches (case-insensitive substring, any of the
    #: fields): ``.search(term)``, or ``icontains`` of one term over all of them ORed.
    searchable_fields: tuple[str, ...]
    #: Fields every query must filter with ``exact`` (a ready list is per campaign).
    required_fields: tuple[str, ...] = ()
    #: Fields whose one expressible filter value is the endpoint's default (``inactive=False``).
    fixed_values: Mapping[str, object] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def filterable_fields(self) -> tuple[str, ...]:
        """Every field some ``filter()`` accepts: :attr:`lookups`, then :attr:`fixed_values`."""
        return (*self.lookups, *(name for name in self.fixed_values if name not in self.lookups))

    def can_filter(self, field: str, lookup: str = "exact") -> bool:
        return lookup in self.lookups.get(field, ())

    def can_sort(self, field: str) -> bool:
        """Whether ``order_by(field)`` (or ``"-field"``) is sent to the API."""
        return field.removeprefix("-") in self.sortable_fields


@functools.cache
def capabilities(model: type[Model]) -> Capabilities:
    """The :class:`Capabilities` of an API model, from its resource and its primary key."""
    resource: Resource = model.api_resource  # type: ignore[attr-defined]
    lookups = {name: tuple(spec.lookups()) for name, spec in resource.filters.items()}
    for name in resource.path_fields:
        lookups.setdefault(name, ("exact",))
    # filter(pk=…) is the detail endpoint, or matched on the list, where no parameter holds it
    lookups.setdefault(model._meta.pk.name, ("exact",))
    return Capabilities(
        lookups=MappingProxyType(lookups),
        sortable_fields=tuple(resource.sortable),
        searchable_fields=resource.searched,
        required_fields=resource.path_fields,
        fixed_values=MappingProxyType(dict(resource.defaults)),
    )


def api_of(model: type[Model]) -> Capabilities | None:
    """``model.api`` for an API model, None for any other model."""
    api = getattr(model, "api", None)
    return api if isinstance(api, Capabilities) else None


class CapabilitiesAttribute:
    """The ``api`` attribute of API models: their :class:`Capabilities`, computed once."""

    def __get__(self, instance: object, owner: type[Model]) -> Capabilities:
        return capabilities(owner)


VCS_TYPE = exact("vcs_type")


def sortable(spec: specs.ListSpec, **aliases: str) -> dict[str, str]:
    """Model field → v1 sort field: the endpoint's sortable fields, plus model-only aliases."""
    return {**{name: name for name in spec.sortable}, **aliases}


CODEBASE = Resource(
    list_operation=operations.list_codebases,
    detail_operation=operations.get_codebase,
    filters={"name": exact("name", "names"), "vcs_type": VCS_TYPE},
    searched=("name", "url"),
    sortable=sortable(specs.CODEBASES),
    spec=specs.CODEBASES,
    defaults={"inactive": False},
    widened_by={"inactive": "include_inactive"},
    detail_params=("include_inactive",),
)

_RUN_FILTERS = {
    "run_id": exact("run_id", "run_ids"),
    "codebase": exact("codebase", "codebases"),
    "campaign": exact("campaign", "campaigns"),
    "suite": exact("campaign", "campaigns"),
    "result_code": exact("result_code", "result_codes"),
    "publish_status": exact("publish_status"),
    "vcs_type": VCS_TYPE,
    "worker_name": exact("worker_name"),
    "change_set": exact("change_set"),
    "failure_transient": exact("failure_transient"),
    "start_time": FieldFilter(gte="start_time", lt="end_time"),
}
_RUN_SORTABLE = sortable(specs.RUNS, suite="campaign")

RUN = Resource(
    list_operation=operations.list_runs,
    detail_operation=operations.get_run,
    filters=_RUN_FILTERS,
    searched=("run_id", "codebase", "description"),
    sortable=_RUN_SORTABLE,
    spec=specs.RUNS,
)

MERGE_PROPOSAL = Resource(
    list_operation=operations.list_merge_proposals,
    detail_operation=None,
    filters={
        "url": exact("url"),
        "status": exact("status", "statuses"),
        "codebase": exact("codebase", "codebases"),
        "campaign": exact("campaign"),
        "can_be_merged": exact("can_be_merged"),
    },
    searched=("url", "codebase"),
    sortable=sortable(specs.MERGE_PROPOSALS),
    spec=specs.MERGE_PROPOSALS,
)

QUEUE_ITEM = Resource(
    list_operation=operations.list_queue_items,
    detail_operation=None,
    filters={
        "id": exact("id", "ids"),
        "codebase": exact("codebase", "codebases"),
        "campaign": exact("campaign", "campaigns"),
        "suite": exact("campaign", "campaigns"),
        "bucket": exact("bucket"),
        "change_set": exact("change_set"),
        "requester": exact("requester"),
    },
    searched=("codebase",),
    sortable=sortable(specs.QUEUE_ITEMS, suite="campaign"),
    spec=specs.QUEUE_ITEMS,
)

ACTIVE_RUN = Resource(
    list_operation=operations.list_active_runs,
    detail_operation=operations.get_active_run,
    filters={
        "codebase": exact("codebase"),
        "campaign": exact("campaign"),
        "suite": exact("campaign"),
        "worker_name": exact("worker_name"),
    },
    searched=("codebase",),
    sortable=sortable(specs.ACTIVE_RUNS, suite="campaign"),
    spec=specs.ACTIVE_RUNS,
)

READY_RUN = Resource(
    list_operation=operations.list_ready_runs,
    detail_operation=None,
    filters={
        "codebase": exact("codebase", "codebases"),
        "publish_status": exact("publish_status"),
    },
    searched=("codebase",),
    sortable=sortable(specs.READY_RUNS),
    spec=specs.READY_RUNS,
    path_fields=("campaign",),
)
