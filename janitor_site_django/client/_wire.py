"""An API call before any I/O (:class:`Operation`) and its raw answer (:class:`RawResponse`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RawResponse:
    """What the shells hand back: status, lower-cased headers and the body bytes."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds (None: absent or not a number of seconds)."""
        try:
            return max(0.0, float(self.headers["retry-after"]))
        except (KeyError, ValueError):
            return None


Parser = Callable[["Operation[Any]", RawResponse], T]


@dataclasses.dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call, fully described before any I/O."""

    name: str
    method: str
    path: str
    parse: Parser[T]
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD")

    @property
    def target(self) -> str:
        """Path and query string, relative to the configured origin."""
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


def path(*segments: str) -> str:
    """``/api/…`` from literal and user segments; user segments are fully percent-encoded."""
    return "/api/" + "/".join(segments)


def key(value: Any, name: str) -> str:
    """A key addressing one resource (path or exact-match parameter): a non-empty string
    without NUL, else a ``ValueError`` (an empty exact-match value would mean "no filter")."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain a NUL character")
    return value


def in_path(value: Any, name: str) -> bool:
    """Whether the key ``value`` can be the path parameter ``name``.

    A decoded path parameter containing ``/`` never matches on a v1 server (§2.1, Revision
    1.1): such a key goes through a list endpoint's exact-match parameter, or is refused.
    """
    return "/" not in key(value, name)


def segment(value: str, name: str) -> str:
    """One path parameter, percent-encoded so that any value round-trips (``..``, ``?``, ``%``).

    Callers check :func:`in_path` first: a value with ``/`` would be sent as ``%2F``, which no
    v1 server routes.
    """
    encoded = quote(key(value, name), safe="")
    return encoded.replace(".", "%2E") if value in (".", "..") else encoded


def json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def headers_for(token: str | None, user_agent: str, etag: str | None = None) -> dict[str, str]:
    """Request headers: always ``Accept: application/json`` (§8 #12)."""
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    return headers
