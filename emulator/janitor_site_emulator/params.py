"""v1 query parameters (contract §2.4–2.6): strict parsing and validation, free of I/O.

Every failure is an :class:`~.errors.ApiError` 400 ``invalid_parameter`` naming the parameter,
its raw value and what is expected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote_to_bytes

from .errors import invalid_parameter
from .schema import ENUMS

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_LIST_ELEMENTS = 1000

_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)
_TIMESTAMP_EXPECTED = "an RFC 3339 date-time with offset or a full-date (YYYY-MM-DD)"


class _Undecodable(str):
    """A raw value whose percent-encoding or UTF-8 is invalid (reported only if it is read)."""


@dataclasses.dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclasses.dataclass(frozen=True)
class Page:
    offset: int
    limit: int | None


def _decode(raw: str) -> str:
    if _PERCENT.search(raw):
        return _Undecodable(raw)
    try:
        return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(raw)


class QueryParams:
    """The parsed query string of one request, read through typed accessors."""

    def __init__(self, query_string: bytes | str) -> None:
        text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
        self._values: dict[str, list[str]] = {}
        for piece in text.split("&"):
            if not piece:
                continue
            raw_name, _, raw_value = piece.partition("=")
            name = _decode(raw_name)
            if isinstance(name, _Undecodable):
                continue  # an unreadable name cannot be a known parameter
            self._values.setdefault(name, []).append(_decode(raw_value))

    def has(self, name: str) -> bool:
        return any(value for value in self._values.get(name, ()))

    def string(self, name: str, alias: str | None = None) -> str | None:
        """The single value of ``name`` (or of its alias when ``name`` is absent)."""
        value = self._single(name)
        if value is None and alias is not None:
            return self._single(alias)
        return value

    def name_used(self, name: str, alias: str | None = None) -> str:
        """Which of ``name`` / ``alias`` supplied the value (for error details)."""
        if alias is not None and not self.has(name) and self.has(alias):
            return alias
        return name

    def _single(self, name: str) -> str | None:
        present = [value for value in self._values.get(name, ()) if value]
        if not present:
            return None
        if len(present) > 1:
            raise invalid_parameter(name, list(present), "a single value (parameter repeated)")
        value = present[0]
        if isinstance(value, _Undecodable):
            raise invalid_parameter(name, str(value), "valid percent-encoded UTF-8")
        if "\x00" in value:
            raise invalid_parameter(name, value, "no NUL character")
        return value

    def strings(self, name: str) -> list[str] | None:
        """A comma-separated list of 1–1000 non-empty elements."""
        value = self._single(name)
        if value is None:
            return None
        elements = value.split(",")
        if any(not element for element in elements):
            raise invalid_parameter(name, value, "a comma-separated list without empty elements")
        if len(elements) > MAX_LIST_ELEMENTS:
            raise invalid_parameter(name, value, f"at most {MAX_LIST_ELEMENTS} elements")
        return elements

    def integer(self, name: str) -> int | None:
        value = self._single(name)
        return None if value is None else _parse_integer(name, value, value)

    def integers(self, name: str) -> list[int] | None:
        elements = self.strings(name)
        if elements is None:
            return None
        raw = self._single(name) or ""
        return [_parse_integer(name, element, raw) for element in elements]

    def number(self, name: str, minimum: float, maximum: float) -> float | None:
        value = self._single(name)
        if value is None:
            return None
        expected = f"a number from {minimum:g} to {maximum:g}"
        if not _NUMBER.fullmatch(value):
            raise invalid_parameter(name, value, expected)
        number = float(value)
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise invalid_parameter(name, value, expected)
        return number

    def boolean(self, name: str) -> bool | None:
        value = self._single(name)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise invalid_parameter(name, value, "true or false")
        return value == "true"

    def flag(self, name: str) -> bool:
        """A ``*_only`` / ``include_inactive`` flag: ``false`` is the same as absent."""
        return self.boolean(name) is True

    def timestamp(self, name: str) -> dt.datetime | None:
        """A naive UTC datetime (database ``timestamp`` columns hold UTC)."""
        value = self._single(name)
        return None if value is None else parse_timestamp(name, value)

    def enum(self, name: str, enum: str) -> str | None:
        value = self._single(name)
        if value is not None and value not in ENUMS[enum]:
            raise invalid_parameter(name, value, "one of " + ", ".join(ENUMS[enum]))
        return value

    def enums(self, name: str, enum: str) -> list[str] | None:
        elements = self.strings(name)
        if elements is None:
            return None
        allowed = ENUMS[enum]
        if any(element not in allowed for element in elements):
            raise invalid_parameter(
                name, self._single(name), "a comma-separated list of " + ", ".join(allowed)
            )
        return elements

    def choice(self, name: str, allowed: Sequence[str], default: str) -> str:
        value = self._single(name)
        if value is None:
            return default
        if value not in allowed:
            raise invalid_parameter(name, value, "one of " + ", ".join(allowed))
        return value

    def page(self) -> Page:
        """``limit`` / ``offset`` / ``page`` of a list endpoint (§2.5)."""
        limit = self.integer("limit")
        if limit is None:
            limit = DEFAULT_LIMIT
        elif limit < 0:
            raise invalid_parameter("limit", self._single("limit"), "a non-negative integer")
        limit = min(limit, MAX_LIMIT)
        page = self.integer("page")
        if page is not None:
            if page < 1:
                raise invalid_parameter("page", self._single("page"), "an integer ≥ 1")
            offset = (page - 1) * limit
            if offset > INT64_MAX:
                raise invalid_parameter(
                    "page", self._single("page"), "a page whose offset fits in 64 bits"
                )
            return Page(offset, limit)
        return Page(self._offset(), limit)

    def export_page(self) -> Page:
        """``limit`` / ``offset`` of an export: no default limit and no maximum (§5.9)."""
        limit = self.integer("limit")
        if limit is not None and limit < 0:
            raise invalid_parameter("limit", self._single("limit"), "a non-negative integer")
        return Page(self._offset(), limit)

    def _offset(self) -> int:
        offset = self.integer("offset") or 0
        if offset < 0:
            raise invalid_parameter("offset", self._single("offset"), "a non-negative integer")
        return offset

    def sort(
        self, sortable: Iterable[str], default: Sequence[SortKey], key: Sequence[str]
    ) -> list[SortKey]:
        """The effective order (§2.6): ``sort``/``order`` or the default, then the key."""
        sortable = tuple(sortable)
        order = self.choice("order", ("asc", "desc"), "")
        raw = self._single("sort")
        if raw is None:
            keys = list(default)
        else:
            keys = _parse_sort(raw, sortable)
            if order:
                if len(keys) != 1 or keys[0].descending:
                    raise invalid_parameter(
                        "order", order, "no order with a multi-field or '-'-prefixed sort"
                    )
                keys = [SortKey(keys[0].field, order == "desc")]
        named = {sort_key.field for sort_key in keys}
        return keys + [SortKey(field) for field in key if field not in named]


def _parse_integer(name: str, element: str, raw: str) -> int:
    if not _INTEGER.fullmatch(element):
        raise invalid_parameter(name, raw, "an integer")
    sign, digits = ("-", element[1:]) if element.startswith("-") else ("", element)
    digits = digits.lstrip("0") or "0"  # leading zeros count for nothing, however many
    if len(digits) > 19:  # past int64 (and past int()'s digit limit)
        raise invalid_parameter(name, raw, "an integer within signed 64 bits")
    number = int(sign + digits)
    if not INT64_MIN <= number <= INT64_MAX:
        raise invalid_parameter(name, raw, "an integer within signed 64 bits")
    return number


def _parse_sort(raw: str, sortable: Sequence[str]) -> list[SortKey]:
    expected = "comma-separated fields among " + ", ".join(sortable) + ", each optionally '-'"
    keys: list[SortKey] = []
    for element in raw.split(","):
        descending = element.startswith("-")
        field = element[1:] if descending else element
        if field not in sortable:
            raise invalid_parameter("sort", raw, expected)
        if any(existing.field == field for existing in keys):
            raise invalid_parameter("sort", raw, "each field at most once")
        keys.append(SortKey(field, descending))
    return keys


def parse_timestamp(name: str, value: str) -> dt.datetime:
    """Parse an RFC 3339 date-time or full-date into a naive UTC datetime."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise invalid_parameter(name, value, _TIMESTAMP_EXPECTED)
    try:
        year, month, day = (int(part) for part in match["date"].split("-"))
        hour = minute = second = microsecond = 0
        if match["time"]:
            hour, minute, second = (int(part) for part in match["time"].split(":"))
            second = min(second, 59) if second == 60 else second
            microsecond = int((match["fraction"] or ".0")[1:7].ljust(6, "0"))
        offset = _parse_offset(match["offset"])
        if year < 1:
            raise ValueError("year 0")
        moment = dt.datetime(year, month, day, hour, minute, second, microsecond, offset)
    except ValueError as exc:
        raise invalid_parameter(name, value, _TIMESTAMP_EXPECTED) from exc
    return _naive_utc(moment)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in naive UTC; when the offset carries year 1 or 9999 out of range (still a
    valid input, §2.4), the nearest representable instant."""
    try:
        return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:
        return dt.datetime.min if moment.year == 1 else dt.datetime.max


def _parse_offset(text: str | None) -> dt.timezone:
    if text is None or text in ("Z", "z"):
        return dt.timezone.utc
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if text[0] == "-" else delta)
