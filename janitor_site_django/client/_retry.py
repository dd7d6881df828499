"""The retry flow: when to send a request again, and how long to wait first (I/O-free)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Generator
from typing import Any

from .. import exceptions
from ._wire import Operation, RawResponse

#: Statuses worth another try for an idempotent request.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: Longest wait honoured from a ``Retry-After`` header, in seconds.
MAX_RETRY_AFTER = 30.0
#: First backoff step, in seconds (doubled per attempt, with jitter).
BACKOFF = 0.2


@dataclasses.dataclass(frozen=True)
class Send:
    """Step of :func:`exchange`: send the request, with at most ``timeout`` seconds for it."""

    timeout: float


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Step of :func:`exchange`: wait before the next attempt."""

    seconds: float


Outcome = RawResponse | exceptions.JanitorSiteError | None
Flow = Generator[Send | Sleep, Outcome, RawResponse]


def backoff(
    attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random
) -> float:
    """Seconds before attempt ``attempt + 1``: ``Retry-After`` (capped) or jittered doubling."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    jitter: float = 0.5 + rng() / 2
    return BACKOFF * float(2**attempt) * jitter


def exchange(
    op: Operation[Any], *, retries: int, timeout: float, clock: Callable[[], float]
) -> Flow:
    """Send ``op`` until it has an answer to keep, within one overall deadline.

    Only idempotent requests are retried, on connect errors and on 429/502/503/504; a POST is
    sent exactly once. The generator yields :class:`Send` / :class:`Sleep` steps and receives
    each attempt's outcome; it returns the answer or raises the final transport error.
    """
    deadline = clock() + timeout
    attempt = 0
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise exceptions.Timeout(f"{op.method} {op.path}: no answer within {timeout:g} s")
        outcome = yield Send(remaining)
        if isinstance(outcome, RawResponse):
            retryable = op.idempotent and outcome.status in RETRYABLE_STATUSES
            retry_after = outcome.retry_after
        else:
            assert outcome is not None
            retryable = op.idempotent and isinstance(outcome, exceptions.ConnectError)
            retry_after = None
        delay = backoff(attempt, retry_after) if retryable and attempt < retries else None
        if delay is None or delay >= deadline - clock():
            if isinstance(outcome, RawResponse):
                return outcome
            raise outcome
        yield Sleep(delay)
        attempt += 1
