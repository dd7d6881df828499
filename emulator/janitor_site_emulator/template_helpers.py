"""Pure implementations of the template filters and functions of API v1 §6.3–6.5.

No template engine here: :mod:`janitor_site_emulator.render` wires these into MiniJinja.
Every function raises :class:`HelperError` where the contract asks for a render error.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "BUG_RESULT_CODES",
    "SUCCESSFUL_RESULT_CODES",
    "TRANSIENT_RESULT_CODES",
    "HelperError",
    "basename",
    "classify_result_code",
    "enumerate_array",
    "format_duration",
    "format_timestamp",
    "format_utc",
    "get_flashed_messages",
    "is_number",
    "parse_timestamp",
    "require_str",
    "summarize",
    "timeago",
    "to_json",
    "url_for",
    "worker_link_is_global",
]

#: The codes :func:`classify_result_code` returns unchanged.
SUCCESSFUL_RESULT_CODES = frozenset({"success", "nothing-to-do", "nothing-new-to-do"})

#: The BUG list of §6.4: classified as ``bug``.
BUG_RESULT_CODES = frozenset(
    {
        "worker-failure",
        "worker-exception",
        "worker-clone-incomplete-read",
        "worker-clone-malformed-transform",
        "chroot-not-found",
        "worker-killed",
    }
)

#: The TRANSIENT list of §6.4: ``transient-failure`` unless told otherwise.
TRANSIENT_RESULT_CODES = frozenset(
    {
        "cancelled",
        "aborted",
        "install-deps-file-fetch-failure",
        "apt-get-update-file-fetch-failure",
        "build-failed-stage-apt-get-update",
        "build-failed-stage-apt-get-dist-upgrade",
        "build-failed-stage-explain-bd-uninstallable",
        "502-bad-gateway",
        "worker-502-bad-gateway",
        "build-failed-stage-create-session",
        "apt-get-update-missing-release-file",
        "no-space-on-device",
        "worker-killed",
        "too-many-requests",
        "check-space-insufficient-disk-space",
        "worker-resume-branch-unavailable",
        "worker-timeout",
        "worker-clone-bad-gateway",
        "worker-clone-temporary-transport-error",
        "push-failed",
        "push-bad-gateway",
        "testbed-chroot-disappeared",
        "apt-file-fetch-failure",
        "pull-rate-limited",
        "session-setup-failure",
        "run-disappeared",
        "branch-temporarily-unavailable",
    }
)

_ENDPOINT_PATHS = {
    "index": "/",
    "about": "/about",
    "pkg_list": "/pkg",
    "api_health": "/api/health",
}

_PRIVATE_HOST_PREFIXES = ("192.168.", "10.", "172.16.")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)

_JSON_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})

_DEFAULT_SUMMARY_LENGTH = 100


class HelperError(ValueError):
    """A filter or function was called with arguments the contract rejects."""


def is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number (booleans are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_negative_int(value: object) -> int | None:
    """``value`` when it is a non-negative integer, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def require_str(value: object, what: str) -> str:
    """``value`` if it is a string, else :class:`HelperError` naming ``what``."""
    if not isinstance(value, str):
        raise HelperError(f"{what} must be a string, not {_type_name(value)}")
    return value


def _type_name(value: object) -> str:
    """The JSON-ish name of a value's type, for error messages."""
    if value is None:
        return "null (or undefined)"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def format_duration(seconds: float) -> str:
    """Format a number of seconds as in §6.5 (``1m30s``, ``2h5m``, ``3d4h``, ``-90s``)."""
    if not is_number(seconds):
        raise HelperError(f"duration must be a number, not {_type_name(seconds)}")
    if not math.isfinite(seconds):
        raise HelperError("duration must be a finite number")
    s = math.trunc(seconds)
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


def parse_timestamp(text: str) -> datetime | None:
    """Parse an RFC 3339 date-time (any fraction digits, ``T``/``Z`` in either case).

    Returns an aware datetime in the value's own offset, or ``None`` if ``text`` is not valid.
    A leap second (``:60``) is read as ``:59``; fraction digits beyond microseconds are cut.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        offset = timedelta(0) if zulu else _offset(sign, int(offset_hours), int(offset_minutes))
        return datetime(
            year, month, day, hour, minute, min(second, 59), microsecond, timezone(offset)
        )
    except ValueError:
        return None


def _offset(sign: str, hours: int, minutes: int) -> timedelta:
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    magnitude = timedelta(hours=hours, minutes=minutes)
    return -magnitude if sign == "-" else magnitude


def format_timestamp(value: Any) -> Any:
    """``YYYY-MM-DD HH:MM`` in the value's own offset; anything unparsable is returned as is."""
    if not isinstance(value, str):
        return value
    parsed = parse_timestamp(value)
    if parsed is None:
        return value
    return (
        f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d} "
        f"{parsed.hour:02d}:{parsed.minute:02d}"
    )


def format_utc(moment: datetime) -> str:
    """A v1 timestamp (§2.8): UTC, ``Z``, six fraction digits only when non-zero."""
    utc = moment.astimezone(timezone.utc)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def timeago(value: Any, now: datetime) -> Any:
    """``format_duration(now - value)`` for an RFC 3339 string; anything else unchanged."""
    if not isinstance(value, str):
        return value
    parsed = parse_timestamp(value)
    if parsed is None:
        return value
    return format_duration((now - parsed).total_seconds())


def basename(value: Any) -> str:
    """The last ``/``-separated segment, ignoring empty and ``.`` segments (§6.3)."""
    text = require_str(value, "basename input")
    segments = [segment for segment in text.split("/") if segment not in ("", ".")]
    if not segments or segments[-1] == "..":
        return text
    return segments[-1]


def summarize(value: Any, length: Any = _DEFAULT_SUMMARY_LENGTH) -> str:
    """The first ``length`` code points followed by ``...`` when the string is longer."""
    text = require_str(value, "summarize input")
    limit = _non_negative_int(length)
    if limit is None:
        limit = _DEFAULT_SUMMARY_LENGTH
    if len(text) <= limit:
        return text
    return text[:limit] + "..."


def to_json(value: Any, indent: Any = 0) -> str:
    """JSON text with sorted keys, HTML-safe escapes of ``<>&'`` and optional indentation."""
    width = _non_negative_int(indent) or None
    try:
        text = json.dumps(
            value,
            sort_keys=True,
            ensure_ascii=False,
            allow_nan=False,
            indent=width,
            separators=(",", ": ") if width else (",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise HelperError(f"tojson: value cannot be serialised: {exc}") from exc
    return text.translate(_JSON_HTML_ESCAPES)


def classify_result_code(result_code: Any, transient: Any = None) -> str:
    """Classify a run's result code as in §6.4 (the Python site's original rules)."""
    code = require_str(result_code, "result_code")
    if code in SUCCESSFUL_RESULT_CODES:
        return code
    if code in BUG_RESULT_CODES:
        return "bug"
    if transient is None:
        transient = code in TRANSIENT_RESULT_CODES
    return "transient-failure" if transient else "failure"


def url_for(endpoint: Any) -> str:
    """The site path of a named endpoint; unknown names ``e`` map to ``/e``."""
    name = require_str(endpoint, "endpoint")
    return _ENDPOINT_PATHS.get(name, f"/{name}")


def enumerate_array(array: Any, start: Any = 0) -> list[dict[str, Any]]:
    """``[{"0": index, "1": element}, ...]`` with indices counting from ``start``."""
    if not isinstance(array, (list, tuple)):
        raise HelperError(f"array must be an array, not {_type_name(array)}")
    first = _non_negative_int(start) or 0
    return [{"0": index, "1": element} for index, element in enumerate(array, first)]


#: What §6.3's ``safe_url`` trims before parsing: ASCII whitespace.
_ASCII_WHITESPACE = "\t\n\x0c\r "


def _http_host(text: str) -> str | None:
    """The host of an absolute ``http``/``https`` URL (scheme case-insensitive), else None."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    return host if parts.scheme.lower() in ("http", "https") and host else None


def safe_url(value: Any) -> Any:
    """§6.3 (Revision 1.1): the value if it is an absolute http(s) URL with a host, else ``#``."""
    if isinstance(value, str) and _http_host(value.strip(_ASCII_WHITESPACE)) is not None:
        return value
    return "#"


def worker_link_is_global(url: Any) -> bool:
    """Whether a worker URL is http(s) and points at a public host (not private, not loopback)."""
    host = _http_host(require_str(url, "url"))
    if host is None:
        return False
    host = host.lower()
    return not (host.startswith(_PRIVATE_HOST_PREFIXES) or host in _LOCAL_HOSTS)


def get_flashed_messages() -> list[str]:
    """Always empty: the API has no flash message store."""
    return []
