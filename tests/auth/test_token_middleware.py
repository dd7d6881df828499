"""The session's access token reaches the API for that request only; API 401/403 mapping.

The emulator's static development tokens stand in for OIDC access tokens here; the real
identity provider is exercised in tests/oidc/.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from janitor_site_django.auth import session as tokens
from janitor_site_django.auth.backends import OIDCAuthenticationBackend
from janitor_site_django.auth.claims import groups_from_claims, username_from_claims
from janitor_site_django.testing.emulator import EmulatorServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings: Any, janitor_emulator: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["service"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:9/o/authorize/"
    settings.OIDC_RP_CLIENT_ID = "rp-client"
    return janitor_emulator


def logged_in(token: str | None, username: str = "someone") -> Client:
    client = Client()
    client.force_login(User.objects.get_or_create(username=username)[0])
    if token is not None:
        session = client.session
        tokens.store(session, {"access_token": token, "refresh_token": "r", "expires_in": 3600})
        session.save()
    return client


@pytest.mark.parametrize("path", ["/whoami/", "/awhoami/"])
def test_the_users_token_is_used_else_the_service_token(site: EmulatorServer, path: str) -> None:
    assert logged_in(site.tokens["qa"]).get(path).json() == {"user": "bob"}
    assert logged_in(site.tokens["admin"], "other").get(path).json() == {"user": "alice"}
    assert Client().get(path).json() == {"user": "janitor-site-django"}  # anonymous: service


def test_an_api_401_sends_pages_to_login_and_xhr_gets_json(site: EmulatorServer) -> None:
    client = logged_in("expired-or-revoked")
    response = client.get("/whoami/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/oidc/authenticate/?next=/whoami/%3Fx%3D1"
    response = client.get("/whoami/", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_an_api_403_is_permission_denied(site: EmulatorServer) -> None:
    run_id = "any-run"
    response = logged_in(site.tokens["user"]).get(f"/reschedule/{run_id}/")
    assert response.status_code == 403


def test_the_refresh_token_is_encrypted_in_the_session(settings: Any) -> None:
    session: dict[str, Any] = {}
    tokens.store(session, {"access_token": "a", "refresh_token": "very-secret", "expires_in": 60})
    assert "very-secret" not in repr(session)
    assert tokens.refresh_token(session) == "very-secret"
    settings.SECRET_KEY = "another-key"
    assert tokens.refresh_token(session) is None  # a key change makes it unusable, not wrong


def test_claims_make_users_groups_and_roles(settings: Any) -> None:
    settings.JANITOR_SITE_ADMIN_GROUP = "janitor-admins"
    settings.JANITOR_SITE_SUPERUSER_GROUP = "root"
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/o/token/"
    settings.OIDC_OP_USER_ENDPOINT = "http://127.0.0.1:9/o/userinfo/"
    settings.OIDC_RP_CLIENT_ID = "rp-client"
    settings.OIDC_RP_CLIENT_SECRET = "rp-secret"
    claims = {
        "sub": "42",
        "preferred_username": "dana",
        "email": "dana@example.org",
        "name": "Dana Scully",
        "groups": ["janitor-admins", 7],
        "roles": "staff, ops",
    }
    assert groups_from_claims(claims) == ["janitor-admins", "ops", "staff"]
    assert username_from_claims({"sub": "42"}) == "42"
    backend = OIDCAuthenticationBackend()
    user = backend.create_user(claims)
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "dana", "dana@example.org", "Dana", "Scully",
    )  # fmt: skip
    assert user.is_staff and not user.is_superuser
    assert sorted(user.groups.values_list("name", flat=True)) == ["janitor-admins", "ops", "staff"]
    claims["groups"] = ["root"]
    claims.pop("roles")
    user = backend.update_user(user, claims)
    assert user.is_superuser and not user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["root"]
    assert list(backend.filter_users_by_claims(claims)) == [user]
