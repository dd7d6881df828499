"""An API call before any I/O (:class:`Operation`) and its raw answer (:class:`RawResponse`,
gathered by a :class:`BodyReader`)."""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from .. import exceptions

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


#: The content codings the client accepts (and inflates itself, see :class:`BodyReader`).
ENCODINGS = ("gzip", "deflate")


def headers_for(token: str | None, user_agent: str, etag: str | None = None) -> dict[str, str]:
    """Request headers: always ``Accept: application/json`` (§8 #12)."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": ", ".join(ENCODINGS),
        "User-Agent": user_agent,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    return headers


class BodyReader:
    """A response body gathered from its raw chunks, inflated here (gzip or deflate, the
    encodings :func:`headers_for` accepts) and refused as soon as it passes ``limit`` decoded
    bytes (:class:`~janitor_site_django.exceptions.ResponseTooLarge`): a compression bomb is
    never inflated beyond the limit."""

    def __init__(self, op: Operation[Any], limit: int, encoding: str | None) -> None:
        self._op = op
        self._limit = limit
        self._body = bytearray()
        coding = (encoding or "identity").strip().lower()
        if coding not in ("identity", *ENCODINGS):
            raise exceptions.ResponseValidationError(
                op.method, op.path, "Content-Encoding", f"{encoding!r} was not asked for"
            )
        # 32: a gzip or a zlib header, whichever the stream has
        self._inflater = None if coding == "identity" else zlib.decompressobj(zlib.MAX_WBITS | 32)

    def add(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._keep(chunk)
            return
        try:
            while chunk:  # a MiB at most a step: inflating costs little beyond the body
                room = min(self._limit - len(self._body) + 1, 1 << 20)
                self._keep(self._inflater.decompress(chunk, room))
                chunk = self._inflater.unconsumed_tail
        except zlib.error as error:
            raise exceptions.ResponseValidationError(
                self._op.method, self._op.path, "Content-Encoding", f"undecodable: {error}"
            ) from None

    def _keep(self, data: bytes) -> None:
        if len(self._body) + len(data) > self._limit:
            self._body.clear()
            raise exceptions.ResponseTooLarge(self._op.method, self._op.path, self._limit)
        self._body += data

    def content(self) -> bytes:
        return bytes(self._body)
