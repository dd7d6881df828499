"""Users and groups from OIDC claims (the same group rule as the API, contract §3.4)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

GROUP_CLAIMS = ("groups", "memberOf", "roles", "authorities")
_SEPARATORS = re.compile(r"[ ,]+")


def _claim_groups(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [part for part in _SEPARATORS.split(value) if part]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def groups_from_claims(claims: Mapping[str, Any]) -> list[str]:
    """The union of the group claims, sorted."""
    return sorted({group for name in GROUP_CLAIMS for group in _claim_groups(claims.get(name))})


def username_from_claims(claims: Mapping[str, Any]) -> str:
    """``preferred_username``, else ``sub``."""
    name = claims.get("preferred_username")
    return name if isinstance(name, str) and name else str(claims["sub"])
