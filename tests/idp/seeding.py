"""The test identity provider's users, groups and relying-party client (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction
from oauth2_provider.models import Application

CLIENT_ID = "rp-client"
CLIENT_SECRET = "rp-secret-xyz"
USERS = {f"user{i}": f"pass-user{i}" for i in range(10)}
GROUPS = {"user0": ["janitor-admins", "staff"], "user1": ["janitor-qa"]}


@transaction.atomic
def seed(redirect_uris: Iterable[str] = ()) -> Application:
    """Create or reset the users and the client; add ``redirect_uris`` to the client's."""
    seed_users()
    return register_client(redirect_uris)


def seed_users() -> None:
    """Create or reset ``user0``..``user9``: password, email, name and groups."""
    for username, password in USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.email = f"{username}@example.test"
        user.first_name, user.last_name = "User", username.removeprefix("user")
        user.set_password(password)
        user.save()
        user.groups.set(
            Group.objects.get_or_create(name=name)[0] for name in GROUPS.get(username, [])
        )


@transaction.atomic
def register_client(redirect_uris: Iterable[str] = ()) -> Application:
    """Create or reset the ``rp-client`` client; add ``redirect_uris`` to its redirect URIs."""
    application = Application.objects.filter(client_id=CLIENT_ID).first()
    if application is None:
        application = Application(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    application.name = "Relying party under test"
    application.client_type = Application.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    application.algorithm = Application.RS256_ALGORITHM  # "" (the default) breaks id_tokens
    application.skip_authorization = True
    known = application.redirect_uris.split()
    application.redirect_uris = " ".join(known + [u for u in redirect_uris if u not in known])
    application.save()
    return application
