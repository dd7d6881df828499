"""``OIDCAuthenticationBackend``: mozilla-django-oidc, with users, groups and roles from claims."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import (  # type: ignore[import-untyped]
    OIDCAuthenticationBackend as MozillaBackend,
)

from ..conf import setting
from . import session as tokens
from .claims import groups_from_claims, username_from_claims


class OIDCAuthenticationBackend(MozillaBackend):  # type: ignore[misc]
    """Users are matched by username (``preferred_username``, else ``sub``), not by email.

    On every login: email and name are updated, Django groups mirror the claims' groups,
    ``is_staff`` follows ``JANITOR_SITE_ADMIN_GROUP`` and ``is_superuser``
    ``JANITOR_SITE_SUPERUSER_GROUP``; the refresh token is kept, encrypted, in the session.
    """

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return isinstance(claims.get("sub"), str)

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=username_from_claims(claims))

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(username_from_claims(claims))
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        user.email = claims.get("email") or ""
        name = claims.get("name") or ""
        user.first_name, _, user.last_name = name.partition(" ")
        groups = groups_from_claims(claims)
        admin = setting("JANITOR_SITE_ADMIN_GROUP")
        superuser = setting("JANITOR_SITE_SUPERUSER_GROUP")
        user.is_staff = admin is not None and admin in groups
        user.is_superuser = superuser is not None and superuser in groups
        user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
        return user

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_info: dict[str, Any] = super().get_token(payload)
        if getattr(self, "request", None) is not None:
            tokens.store(self.request.session, token_info)
        return token_info
