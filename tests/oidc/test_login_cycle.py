"""Login → API calls with the user's token → real refresh → logout, against the real local IdP
(django-oauth-toolkit) and an emulator that validates tokens at the IdP's userinfo endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from janitor_site_django.auth import session as tokens
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from tests.oidc_support import OIDCProvider, configure_relying_party

pytestmark = pytest.mark.django_db
LIFETIME = 4  # seconds an access token lives at this IdP
RP_CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="module")
def idp(oidc_provider_factory: Callable[..., OIDCProvider]) -> OIDCProvider:
    return oidc_provider_factory(access_token_lifetime=LIFETIME, redirect_uris=[RP_CALLBACK])


@pytest.fixture(scope="module")
def api(idp: OIDCProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    database = tmp_path_factory.mktemp("oidc-api") / "e.sqlite3"
    extra = ["--oidc-issuer", idp.issuer, "--admin-group", "janitor-admins",
             "--qa-reviewer-group", "janitor-qa"]  # fmt: skip
    with start_emulator(f"sqlite:///{database}", extra_args=extra) as server:
        yield server


@pytest.fixture
def relying_party(settings: Any, idp: OIDCProvider, api: EmulatorServer) -> Client:
    configure_relying_party(settings, idp, api.url)
    settings.JANITOR_SITE_ADMIN_GROUP = "janitor-admins"
    settings.JANITOR_SITE_OIDC_REFRESH_MARGIN = LIFETIME - 1.5
    return Client()


def log_in(rp: Client, idp: OIDCProvider, username: str) -> None:
    """The real authorization-code + PKCE flow: RP → IdP login form → RP callback."""
    start = rp.get("/oidc/authenticate/")
    assert start.status_code == 302
    params = dict(parse_qsl(urlsplit(start["Location"]).query))
    callback = idp._authorize(idp.http_client(), params, username, idp.users[username], RP_CALLBACK)
    finish = rp.get(urlsplit(callback).path + "?" + urlsplit(callback).query)
    assert finish.status_code == 302 and finish["Location"] == "/whoami/", finish.content[:300]


def test_login_api_refresh_logout(relying_party: Client, idp: OIDCProvider) -> None:
    rp = relying_party
    log_in(rp, idp, "user0")
    user = User.objects.get(username="user0")
    assert user.is_staff and sorted(user.groups.values_list("name", flat=True)) == [
        "janitor-admins",
        "staff",
    ]
    assert rp.get("/whoami/").json() == {"user": "user0"}  # the API saw user0's token
    first_access = tokens.access_token(rp.session)
    first_refresh = tokens.refresh_token(rp.session)
    assert (
        first_access
        and first_refresh
        and "refresh" not in repr(dict(rp.session)).lower().replace(tokens.REFRESH, "")
    )

    time.sleep(2)  # inside the refresh margin: the next request refreshes, for real
    assert rp.get("/whoami/").json() == {"user": "user0"}
    assert tokens.access_token(rp.session) != first_access
    assert tokens.refresh_token(rp.session) != first_refresh  # rotated and stored
    assert idp.refresh(first_refresh).status_code == 400  # the old one is spent

    rp.post("/oidc/logout/")
    assert tokens.access_token(rp.session) is None
    assert rp.get("/whoami/", HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 401


def test_a_failed_refresh_logs_out_and_sends_to_login(
    relying_party: Client, idp: OIDCProvider
) -> None:
    rp = relying_party
    log_in(rp, idp, "user2")
    session = rp.session
    idp.refresh(tokens.refresh_token(session) or "")  # someone else spends the refresh token
    session[tokens.EXPIRES_AT] = time.time()  # and the access token is about to expire
    session.save()
    response = rp.get("/whoami/")
    assert response.status_code == 302 and response["Location"].startswith("/oidc/authenticate/")
    assert "_auth_user_id" not in rp.session


def test_roles_come_from_the_users_own_token(relying_party: Client, idp: OIDCProvider) -> None:
    rp = relying_party
    log_in(rp, idp, "user2")  # no group: User only
    assert rp.get("/reschedule/any-run/").status_code == 403  # the API's 403 → PermissionDenied
