"""One call's decisions, free of I/O: memo, HTTP cache, stale-if-error, parsing, recording.

The shells drive a :class:`CallPlan`: they fetch and store cache entries and send requests
(sync or async); the plan decides everything else, so both clients behave identically.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import time
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from .. import exceptions
from ..conf import SiteConfig
from ._instrument import ApiCall, record
from ._retry import Flow, exchange
from ._wire import Operation, RawResponse, headers_for
from .paging import Page
from .tokens import resolve_token

T = TypeVar("T")

_scope: contextvars.ContextVar[dict[tuple[str, ...], Any] | None] = contextvars.ContextVar(
    "janitor_site_api_scope", default=None
)


@contextlib.contextmanager
def api_scope() -> Iterator[None]:
    """Within the block, identical GETs (same URL, same token) are sent once."""
    reset = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(reset)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class CacheEntry:
    """A stored 200: what revalidation and stale-if-error need."""

    etag: str
    content: bytes
    content_type: str
    request_id: str | None
    stored_at: float

    def as_response(self) -> RawResponse:
        headers = {"content-type": self.content_type, "etag": self.etag}
        if self.request_id:
            headers["x-request-id"] = self.request_id
        return RawResponse(200, headers, self.content)


def _storable(raw: RawResponse) -> bool:
    cache_control = raw.headers.get("cache-control", "").lower()
    return (
        raw.status == 200
        and "etag" in raw.headers
        and "private" not in cache_control
        and "no-store" not in cache_control
    )


class CallPlan(Generic[T]):
    """Everything about one call except sending bytes and touching the cache backend."""

    def __init__(
        self,
        op: Operation[T],
        config: SiteConfig,
        explicit_token: str | None,
        sender: type[Any],
        *,
        caching: bool,
        clock: Any = time.monotonic,
        wall_clock: Any = time.time,
    ) -> None:
        self.op = op
        self.config = config
        self.sender = sender
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        self.token = resolve_token(explicit_token, config.api_token)
        identity = _digest(self.token) if self.token else ""
        self._memo_key = (config.url, op.target, identity)
        self._memo = _scope.get() if op.idempotent else None
        #: Where the shell finds and stores this call's cache entry; None: not cached.
        self.cache_key = (
            "janitor_site:" + _digest(f"{config.url}{op.target}")
            if caching and op.method == "GET"
            else None
        )
        self.cached: CacheEntry | None = None
        self.outcome = "none" if self.cache_key is None else "miss"
        self.attempts = 0
        self.status: int | None = None
        self.request_id: str | None = None

    # Memo ---------------------------------------------------------------------------------

    @property
    def memoized(self) -> bool:
        return self._memo is not None and self._memo_key in self._memo

    def memo_value(self) -> T:
        assert self._memo is not None
        self.outcome = "memo"
        self._record(None)
        value: T = self._memo[self._memo_key]
        return value

    # Cache --------------------------------------------------------------------------------

    def use_cached(self, stored: Any) -> None:
        """Take the entry the shell found under :attr:`cache_key` (anything else is ignored)."""
        if isinstance(stored, CacheEntry):
            self.cached = stored

    def _age(self) -> float:
        assert self.cached is not None
        age: float = self._wall_clock() - self.cached.stored_at
        return age

    @property
    def _revalidatable(self) -> bool:
        return self.cached is not None and self._age() <= self.config.cache_ttl

    @property
    def _stale_usable(self) -> bool:
        window = self.config.cache_ttl + self.config.stale_if_error
        return self.cached is not None and self.config.stale_if_error > 0 and self._age() <= window

    @property
    def store_seconds(self) -> int:
        return self.config.cache_ttl + self.config.stale_if_error

    def entry_to_store(self, raw: RawResponse) -> CacheEntry | None:
        """The entry to store: a fresh 200, or a revalidated entry with its age reset."""
        if self.outcome == "revalidated" and self.cached is not None:
            return dataclasses.replace(self.cached, stored_at=self._wall_clock())
        if self.cache_key is None or self.outcome != "miss" or not _storable(raw):
            return None
        return CacheEntry(
            raw.headers["etag"],
            raw.content,
            raw.headers.get("content-type", ""),
            raw.request_id,
            self._wall_clock(),
        )

    # Sending ------------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        etag = self.cached.etag if self.cached is not None and self._revalidatable else None
        return headers_for(self.token, self.config.user_agent, etag)

    def flow(self) -> Flow:
        """The retry flow; the shell counts attempts through :meth:`sent`."""
        return exchange(
            self.op, retries=self.config.retries, timeout=self.config.timeout, clock=self._clock
        )

    def sent(self) -> None:
        self.attempts += 1

    def answered(self, raw: RawResponse) -> RawResponse:
        """The response to parse: a 304 becomes the cached body; a 5xx may become stale data."""
        self.status = raw.status
        self.request_id = raw.request_id
        if raw.status == 304 and self.cached is not None:
            self.outcome = "revalidated"
            return self.cached.as_response()
        if raw.status >= 500 and self._stale_usable:
            return self._stale()
        return raw

    def failed(self, error: exceptions.JanitorSiteError) -> RawResponse:
        """No answer at all: serve stale data when allowed, else record and re-raise."""
        if self._stale_usable:
            return self._stale()
        self._record(error)
        raise error

    def _stale(self) -> RawResponse:
        assert self.cached is not None
        self.outcome = "stale"
        return self.cached.as_response()

    # Result -------------------------------------------------------------------------------

    def finish(self, raw: RawResponse) -> T:
        """Parse, flag stale pages, remember in the scope, record."""
        try:
            result = self.op.parse(self.op, raw)
        except exceptions.JanitorSiteError as error:
            self._record(error)
            raise
        except (ValueError, RecursionError) as error:  # undecodable text, JSON nested too deep
            failure = exceptions.ResponseValidationError(
                self.op.method, self.op.path, "", f"{type(error).__name__}: {error}"
            )
            self._record(failure)
            raise failure from error
        if self.outcome == "stale" and isinstance(result, Page):
            result = dataclasses.replace(result, stale=True)
        if self._memo is not None:
            self._memo[self._memo_key] = result
        self._record(None)
        return result

    def _record(self, error: Exception | None) -> None:
        record(
            self.sender,
            ApiCall(
                operation=self.op.name,
                method=self.op.method,
                path=self.op.path,
                params=self.op.params,
                status=self.status,
                duration=self._clock() - self._started,
                cache=self.outcome,
                request_id=self.request_id,
                attempts=self.attempts,
                error=f"{type(error).__name__}: {error}" if error else None,
            ),
        )
