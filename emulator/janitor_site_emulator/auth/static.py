"""Static development tokens (``--token``, ``--demo-tokens``): a bearer token → its claims."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from ..config import StaticToken


def static_claims(tokens: Iterable[StaticToken], token: str) -> dict[str, Any] | None:
    """The claims of the static token equal to ``token``, else None.

    Every configured token is compared, in constant time, whichever matches.
    """
    presented = token.encode()
    found = None
    for static in tokens:
        if hmac.compare_digest(presented, static.token.encode()) and found is None:
            found = static
    if found is None:
        return None
    return {
        "sub": found.username,
        "preferred_username": found.username,
        "groups": list(found.groups),
    }
