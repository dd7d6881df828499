"""What each v1 endpoint accepts as query parameters, and their encoding (I/O-free).

Keyword arguments are checked before any request: an unknown name is a ``TypeError``, a bad
value a ``ValueError`` naming the argument and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .. import schemas

Encoder = Callable[[str, Any], str]
MAX_LIST = 1000


def text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain a NUL character")
    return value


def _elements(name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list or tuple, not {type(value).__name__}")
    elements = list(value)
    if not 1 <= len(elements) <= MAX_LIST:
        raise ValueError(f"{name} must have 1 to {MAX_LIST} elements, not {len(elements)}")
    return elements


def _texts(name: str, value: Any) -> str:
    elements = [text(name, element) for element in _elements(name, value)]
    if any(not element or "," in element for element in elements):
        raise ValueError(f"{name} elements must be non-empty and contain no comma")
    return ",".join(elements)


def integer(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{name} must fit in 64 bits")
    return str(value)


def _non_negative(name: str, value: Any) -> str:
    text = integer(name, value)
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0, not {value}")
    return text


def _positive(name: str, value: Any) -> str:
    text = integer(name, value)
    if value < 1:
        raise ValueError(f"{name} must be ≥ 1, not {value}")
    return text


def _integers(name: str, value: Any) -> str:
    return ",".join(integer(name, element) for element in _elements(name, value))


def boolean(name: str, value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return "true" if value else "false"


def _chance(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
    return repr(float(value))


def format_timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC with ``Z`` (a naive datetime is taken as UTC, as v1 stores it)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{value.microsecond:06d}Z" if value.microsecond else "Z")


def _timestamp(name: str, value: Any) -> str:
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValueError(f"{name} must be a datetime or date, not {type(value).__name__}")


def choice(values: Sequence[str]) -> Encoder:
    def encode(name: str, value: Any) -> str:
        if value not in values:
            raise ValueError(f"{name} must be one of {', '.join(values)}; not {value!r}")
        return str(value)

    return encode


def _choices(values: Sequence[str]) -> Encoder:
    one = choice(values)

    def encode(name: str, value: Any) -> str:
        return ",".join(one(name, element) for element in _elements(name, value))

    return encode


PAGING: dict[str, Encoder] = {"limit": _non_negative, "offset": _non_negative, "page": _positive}
_SEARCH = {"q": text, "search": text}
_CAMPAIGN = {"campaign": text, "suite": text}

CODEBASE_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "name": text,
    "names": _texts,
    "vcs_type": choice(schemas.VCS_TYPES),
    "include_inactive": boolean,
    **_CAMPAIGN,
    "result_code": text,
    "result_codes": _texts,
    "success_only": boolean,
    "start_time": _timestamp,
    "end_time": _timestamp,
    "publishable_only": boolean,
    "min_success_chance": _chance,
    "max_success_chance": _chance,
}
RUN_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "run_id": text,
    "run_ids": _texts,
    "codebase": text,
    "codebases": _texts,
    **_CAMPAIGN,
    "campaigns": _texts,
    "result_code": text,
    "result_codes": _texts,
    "success_only": boolean,
    "publish_status": choice(schemas.PUBLISH_STATUSES),
    "vcs_type": choice(schemas.VCS_TYPES),
    "worker_name": text,
    "change_set": text,
    "failure_transient": boolean,
    "publishable_only": boolean,
    "start_time": _timestamp,
    "end_time": _timestamp,
}
MERGE_PROPOSAL_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "url": text,
    "status": choice(schemas.MERGE_PROPOSAL_STATUSES),
    "statuses": _choices(schemas.MERGE_PROPOSAL_STATUSES),
    "codebase": text,
    "codebases": _texts,
    **_CAMPAIGN,
    "can_be_merged": boolean,
}
QUEUE_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "id": integer,
    "ids": _integers,
    "codebase": text,
    "codebases": _texts,
    **_CAMPAIGN,
    "campaigns": _texts,
    "bucket": choice(schemas.QUEUE_BUCKETS),
    "change_set": text,
    "requester": text,
}
ACTIVE_RUN_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "codebase": text,
    **_CAMPAIGN,
    "worker_name": text,
}
READY_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    "codebase": text,
    "codebases": _texts,
    "publish_status": choice(schemas.PUBLISH_STATUSES),
}
SEARCH_FILTERS: dict[str, Encoder] = {
    **_SEARCH,
    **_CAMPAIGN,
    "result_code": text,
    "publishable_only": boolean,
}
PKGNAME_FILTERS: dict[str, Encoder] = {**_SEARCH, "include_inactive": boolean}


def without(filters: Mapping[str, Encoder], *names: str) -> dict[str, Encoder]:
    return {name: encoder for name, encoder in filters.items() if name not in names}


@dataclasses.dataclass(frozen=True)
class ListSpec:
    """The query parameters of one list endpoint: filters, sortable fields, paging."""

    filters: Mapping[str, Encoder]
    sortable: tuple[str, ...]
    paging: Mapping[str, Encoder] = dataclasses.field(default_factory=lambda: PAGING)

    def encode(self, endpoint: str, arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Validate keyword arguments and encode them as query parameters, in a stable order."""
        known = {**self.filters, **self.paging, "sort": None, "order": None}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise TypeError(
                f"{endpoint}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(known))}"
            )
        query: list[tuple[str, str]] = []
        for name in sorted(arguments):
            value = arguments[name]
            if value is None:
                continue
            if name == "sort":
                query.append(("sort", encode_sort(value, self.sortable)))
            elif name == "order":
                query.append(("order", choice(("asc", "desc"))("order", value)))
            else:
                encoder = known[name]
                assert encoder is not None
                query.append((name, encoder(name, value)))
        return query


def encode_sort(value: Any, sortable: Sequence[str]) -> str:
    """``sort`` from ``"-a,b"`` or ``["-a", "b"]``, each field checked against ``sortable``."""
    fields = value.split(",") if isinstance(value, str) else list(_elements("sort", value))
    seen: set[str] = set()
    for field in fields:
        name = field[1:] if isinstance(field, str) and field.startswith("-") else field
        if name not in sortable:
            raise ValueError(
                f"sort field {field!r} is not sortable here; sortable: {', '.join(sortable)}"
            )
        if name in seen:
            raise ValueError(f"sort names {name!r} twice")
        seen.add(name)
    return ",".join(fields)


CODEBASES = ListSpec(
    CODEBASE_FILTERS,
    (
        "name",
        "url",
        "branch",
        "subpath",
        "vcs_type",
        "value",
        "last_scanned",
        "web_url",
        "inactive",
    ),
)
RUNS = ListSpec(
    RUN_FILTERS,
    ("run_id", "codebase", "campaign", "start_time", "finish_time", "duration", "result_code",
     "publish_status", "value", "worker_name"),
)  # fmt: skip
CODEBASE_RUNS = ListSpec(without(RUN_FILTERS, "codebase", "codebases"), RUNS.sortable)
_MP_SORTABLE = (
    "url",
    "status",
    "codebase",
    "campaign",
    "merged_at",
    "last_scanned",
    "can_be_merged",
)
MERGE_PROPOSALS = ListSpec(MERGE_PROPOSAL_FILTERS, _MP_SORTABLE)
CAMPAIGN_MERGE_PROPOSALS = ListSpec(
    without(MERGE_PROPOSAL_FILTERS, "campaign", "suite"), _MP_SORTABLE
)
CODEBASE_MERGE_PROPOSALS = ListSpec(
    without(MERGE_PROPOSAL_FILTERS, "codebase", "codebases"), _MP_SORTABLE
)
QUEUE_ITEMS = ListSpec(
    QUEUE_FILTERS,
    ("position", "id", "codebase", "campaign", "bucket", "priority", "estimated_duration"),
)
ACTIVE_RUNS = ListSpec(
    ACTIVE_RUN_FILTERS,
    ("start_time", "run_id", "codebase", "campaign", "worker_name", "current_duration"),
)
READY_RUNS = ListSpec(READY_FILTERS, ("value", "start_time", "finish_time", "codebase", "run_id"))
SEARCH = ListSpec(SEARCH_FILTERS, ("codebase", "campaign", "finish_time", "result_code"))
PKGNAMES = ListSpec(PKGNAME_FILTERS, ("name",))
TEMPLATES = ListSpec(dict(_SEARCH), ("name",))
_EXPORT_PAGING = {"limit": _non_negative, "offset": _non_negative}
EXPORTS = {
    "codebases": ListSpec(CODEBASE_FILTERS, CODEBASES.sortable, _EXPORT_PAGING),
    "runs": ListSpec(RUN_FILTERS, RUNS.sortable, _EXPORT_PAGING),
}
EXPORT_FORMATS = ("csv", "json")
