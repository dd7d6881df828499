"""Identities and roles (§3.4): validated claims → :class:`Principal` → groups and roles."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import EmulatorConfig
from ..errors import forbidden, unauthorized

#: The v1 roles, in their canonical order.
ROLES = ("User", "QaReviewer", "Admin")

#: The claims whose union is the principal's groups (§3.4).
GROUP_CLAIMS = ("groups", "memberOf", "roles", "authorities")

_GROUP_SEPARATORS = re.compile(r"[ ,]+")


def _string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated caller: its claims, groups, roles and how it authenticated."""

    claims: Mapping[str, Any]
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    auth_method: str

    @property
    def sub(self) -> str | None:
        return _string_claim(self.claims, "sub")

    @property
    def email(self) -> str | None:
        return _string_claim(self.claims, "email")

    @property
    def name(self) -> str | None:
        return _string_claim(self.claims, "name")

    @property
    def preferred_username(self) -> str | None:
        return _string_claim(self.claims, "preferred_username")

    @property
    def is_admin(self) -> bool:
        return "Admin" in self.roles

    @property
    def is_qa_reviewer(self) -> bool:
        return "QaReviewer" in self.roles

    @property
    def requester(self) -> str:
        """Who asked (§3.4): ``email``, else ``preferred_username``, else ``name``, else ``sub``.

        Empty strings are skipped; ``""`` only for a principal without ``sub``, which
        :class:`~janitor_site_emulator.auth.Authenticator` never produces.
        """
        for candidate in (self.email, self.preferred_username, self.name, self.sub):
            if candidate:
                return candidate
        return ""

    def user_json(self) -> dict[str, Any]:
        """The v1 ``User`` object (§4.7), keys in order."""
        return {
            "sub": self.sub,
            "email": self.email,
            "name": self.name,
            "preferred_username": self.preferred_username,
            "groups": list(self.groups),
            "roles": list(self.roles),
            "is_admin": self.is_admin,
            "is_qa_reviewer": self.is_qa_reviewer,
            "auth_method": self.auth_method,
        }


def groups_from_claims(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The sorted union of the group claims (§3.4)."""
    groups: set[str] = set()
    for claim in GROUP_CLAIMS:
        groups.update(_claim_groups(claims.get(claim)))
    return tuple(sorted(groups))


def _claim_groups(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [part for part in _GROUP_SEPARATORS.split(value) if part]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def roles_for(
    groups: Iterable[str], admin_group: str | None, qa_reviewer_group: str | None
) -> tuple[str, ...]:
    """The roles of an authenticated member of ``groups`` (§3.4), in :data:`ROLES` order."""
    members = set(groups)
    admin = admin_group is None or admin_group in members
    qa_reviewer = admin or qa_reviewer_group is None or qa_reviewer_group in members
    granted = {"User": True, "QaReviewer": qa_reviewer, "Admin": admin}
    return tuple(role for role in ROLES if granted[role])


def make_principal(
    claims: Mapping[str, Any], auth_method: str, config: EmulatorConfig
) -> Principal:
    """A principal for validated ``claims``, with groups and roles per ``config``."""
    groups = groups_from_claims(claims)
    return Principal(
        claims=types.MappingProxyType(dict(claims)),
        groups=groups,
        roles=roles_for(groups, config.admin_group, config.qa_reviewer_group),
        auth_method=auth_method,
    )


def require_role(principal: Principal | None, role: str) -> None:
    """Raise 401 ``unauthorized`` when anonymous, 403 ``forbidden`` when ``role`` is missing."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if principal is None:
        raise unauthorized()
    if role not in principal.roles:
        raise forbidden(role)
