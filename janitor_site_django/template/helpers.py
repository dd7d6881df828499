"""The service's template helpers (contract §6.3–6.5), for Django templates.

Written from the contract, independently of the emulator's engine; tests render both side by
side on the same inputs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from ..results import BUG_CODES, SUCCESSFUL, TRANSIENT_CODES

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An RFC 3339 string (or an aware datetime) as an aware datetime; None if it is neither."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    if offset in ("Z", "z"):
        zone = dt.timezone.utc
    else:
        delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        zone = dt.timezone(-delta if offset[0] == "-" else delta)
    try:
        return dt.datetime(
            year, month, day, hour, minute, min(second, 59),
            int((fraction or "0")[:6].ljust(6, "0")), zone,
        )  # fmt: skip
    except ValueError:
        return None


def format_duration(seconds: float) -> str:
    """§6.5: ``45s``, ``1m30s``, ``2h5m``, ``3d4h`` (seconds truncated toward zero)."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        minutes, rest = divmod(s, 60)
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if s < 86400:
        hours, minutes = s // 3600, (s % 3600) // 60
        return f"{hours}h" if minutes == 0 else f"{hours}h{minutes}m"
    days, hours = s // 86400, (s % 86400) // 3600
    return f"{days}d" if hours == 0 else f"{days}d{hours}h"


def timeago(value: Any, now: dt.datetime | None = None) -> Any:
    """How long ago a timestamp was; anything that is not one is returned unchanged."""
    moment = parse_timestamp(value)
    if moment is None:
        return value
    now = now or dt.datetime.now(dt.timezone.utc)
    return format_duration((now - moment).total_seconds())


def format_timestamp(value: Any) -> Any:
    """``YYYY-MM-DD HH:MM`` in the value's own offset; anything else unchanged."""
    moment = parse_timestamp(value)
    return value if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _truthy(value: Any) -> bool:
    """§6.2 truthiness: false, null, 0, "", [] and {} are false."""
    return bool(value)


def classify_result_code(result_code: Any, transient: Any = None) -> str:
    """``success``-like codes unchanged, ``bug``, ``transient-failure`` or ``failure``."""
    if not isinstance(result_code, str):
        raise TypeError(f"classify_result_code needs a string result code, not {result_code!r}")
    if result_code in SUCCESSFUL:
        return result_code
    if result_code in BUG_CODES:
        return "bug"
    if transient is None:
        transient = result_code in TRANSIENT_CODES
    return "transient-failure" if _truthy(transient) else "failure"


def summarize(text: Any, length: Any = 100) -> str:
    """At most ``length`` code points, then ``...`` (``length`` not a non-negative int: 100)."""
    if not isinstance(text, str):
        raise TypeError(f"summarize needs a string, not {type(text).__name__}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        length = 100
    return text if len(text) <= length else text[:length] + "..."


#: What §6.3 trims before parsing a URL (ASCII whitespace: tab, LF, FF, CR, space).
_ASCII_WHITESPACE = "\t\n\x0c\r "


def safe_url(value: Any) -> str:
    """§6.3 (Revision 1.1): an absolute ``http``/``https`` URL with a host unchanged, else ``#``.

    For every value that goes into a URL-bearing attribute: autoescaping never makes a
    ``javascript:`` or ``data:`` URL safe."""
    if not isinstance(value, str):
        return "#"
    try:
        parts = urlsplit(value.strip(_ASCII_WHITESPACE))
        host = parts.hostname
    except ValueError:
        return "#"
    return value if parts.scheme.lower() in ("http", "https") and host else "#"
