"""One deadline for a whole exchange: connect, headers and body (httpx's timeouts are per read,
so a server trickling its answer would otherwise hold a call without end).

The async shell cancels the exchange at the deadline (``asyncio.timeout``). The sync shell
cannot cancel a blocking read, so its transport's network streams cut every wait (connect,
each read, each write) at the deadline of the call in progress (:class:`Deadline` sets it for
the thread's context). Both guards say afterwards whether the deadline ended the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Any

import httpcore
import httpx

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "janitor_site_deadline", default=None
)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout``, cut to the time left before the current call's deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class Deadline:
    """``with Deadline(seconds) as guard:`` around one sync exchange sent through
    :meth:`transport`."""

    @staticmethod
    def transport(verify: bool) -> httpx.HTTPTransport:
        """httpx's transport (default limits), over network streams that keep the deadline."""
        context = httpx.create_ssl_context(verify=verify)  # loaded once: it costs megabytes
        made = httpx.HTTPTransport(verify=context)
        limits = httpx.Limits()
        made._pool = httpcore.ConnectionPool(  # httpx has no network_backend option
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )
        return made

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self._token: contextvars.Token[float | None] | None = None

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def __enter__(self) -> Deadline:
        self._token = _deadline.set(self.deadline)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._token is not None
        _deadline.reset(self._token)


class AsyncDeadline:
    """``async with AsyncDeadline(seconds) as guard:`` around one async exchange: cancelled at
    the deadline (``TimeoutError``)."""

    @staticmethod
    def transport(verify: bool) -> None:
        """httpx's own: the exchange is cancelled at the deadline."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self._scope = asyncio.timeout_at(asyncio.get_running_loop().time() + seconds)

    @property
    def expired(self) -> bool:
        return self._scope.expired() or time.monotonic() >= self.deadline

    async def __aenter__(self) -> AsyncDeadline:
        await self._scope.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._scope.__aexit__(kind, error, traceback)


class _Budget:
    """Seconds a streamed answer may spend waiting on the service, over all its reads (the
    consumer's time between them is not counted): ``waiting()`` around each read."""

    def __init__(self, seconds: float) -> None:
        self.seconds = self.left = seconds

    @property
    def expired(self) -> bool:
        return self.left <= 0

    def _spent(self, started: float, guard: Deadline | AsyncDeadline) -> None:
        self.left = 0 if guard.expired else self.left - (time.monotonic() - started)


class WaitBudget(_Budget):
    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        started, guard = time.monotonic(), Deadline(max(self.left, 0))
        try:
            with guard:
                yield
        finally:
            self._spent(started, guard)


class AsyncWaitBudget(_Budget):
    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        started, guard = time.monotonic(), AsyncDeadline(max(self.left, 0))
        try:
            async with guard:
                yield
        finally:
            self._spent(started, guard)
