"""Count and inspect API calls in tests: the ``assertNumQueries`` of this package."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .. import signals
from ..client import ApiCall


class CapturedCalls(list[ApiCall]):
    """The API calls made inside a :func:`capture_api_calls` block, in order."""

    @property
    def sent(self) -> list[ApiCall]:
        """Only the calls that went over the network (not answered from the scope memo)."""
        return [call for call in self if call.sent]

    def describe(self) -> str:
        return "\n".join(
            f"{index}. {call.method} {call.path} {dict(call.params)} -> {call.status} "
            f"(cache {call.cache})"
            for index, call in enumerate(self, 1)
        )


@contextlib.contextmanager
def capture_api_calls() -> Iterator[CapturedCalls]:
    """Collect every API call made (from any thread) while the block runs."""
    calls = CapturedCalls()
    lock = threading.Lock()

    def receive(sender: Any, call: ApiCall, **kwargs: Any) -> None:
        with lock:
            calls.append(call)

    signals.api_call.connect(receive, weak=False, dispatch_uid=id(calls))
    try:
        yield calls
    finally:
        signals.api_call.disconnect(dispatch_uid=id(calls))


@contextlib.contextmanager
def assert_num_api_calls(expected: int) -> Iterator[CapturedCalls]:
    """Fail unless exactly ``expected`` requests went over the network inside the block."""
    with capture_api_calls() as calls:
        yield calls
    sent = calls.sent
    if len(sent) != expected:
        raise AssertionError(
            f"{len(sent)} API calls were made, {expected} expected:\n{calls.describe()}"
        )
