"""What every API call leaves behind: a log line and an ``api_call`` signal."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from .. import signals

logger = logging.getLogger("janitor_site_django.api")


@dataclasses.dataclass(frozen=True)
class ApiCall:
    """One API call as observed by instrumentation (never holds the token)."""

    operation: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    status: int | None
    duration: float
    #: ``miss``, ``revalidated`` (304), ``stale`` (served after a failure), ``memo`` (same GET
    #: earlier in this scope: no request sent) or ``none`` (not cacheable / no cache).
    cache: str
    request_id: str | None
    attempts: int
    error: str | None = None

    @property
    def sent(self) -> bool:
        """Whether a request went over the network."""
        return self.cache != "memo"


def record(sender: type[Any], call: ApiCall) -> None:
    """Log the call and send the ``api_call`` signal."""
    failed = call.status is None or call.status >= 500
    level = logging.WARNING if (call.error and failed) or call.cache == "stale" else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "%s %s -> %s in %.1f ms (cache %s, request id %s, %d attempt(s))%s",
            call.method,
            call.path,
            call.status if call.status is not None else "no answer",
            call.duration * 1000,
            call.cache,
            call.request_id or "-",
            call.attempts,
            f": {call.error}" if call.error else "",
        )
    if call.params and logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s parameters: %s", call.method, call.path, dict(call.params))
    signals.api_call.send(sender=sender, call=call)
