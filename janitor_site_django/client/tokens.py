"""Which bearer token a call carries: explicit, then the current user's, then the service's.

The user's token lives in a :mod:`contextvars` variable bound per request (by the OIDC
middleware, or :func:`user_token` in your own code), never in class or module state, so one
user's token cannot leak into another user's request, in threads or in async views.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_user_token: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "janitor_site_user_token", default=None
)


def current_user_token() -> str | None:
    """The token bound to the current context, if any."""
    return _user_token.get()


@contextlib.contextmanager
def user_token(token: str | None) -> Iterator[None]:
    """Bind ``token`` as the current user's token inside the ``with`` block."""
    reset = _user_token.set(token)
    try:
        yield
    finally:
        _user_token.reset(reset)


def resolve_token(explicit: str | None, service: str | None) -> str | None:
    """The token chain: an explicit token, else the user's, else the service token."""
    return explicit or current_user_token() or service
