"""The test identity provider works, and the emulator accepts the access tokens it issues."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from tests.oidc_support import OIDCProvider, OIDCProviderError

pytest.importorskip(
    "oauth2_provider", reason="the OIDC tests need django-oauth-toolkit (pip install -e '.[dev]')"
)

SHORT_LIFETIME = 2


def _emulator_for(provider: OIDCProvider, directory: Path) -> EmulatorServer:
    return start_emulator(
        f"sqlite:///{directory / 'emulator.sqlite3'}",
        seed="none",
        extra_args=[
            "--oidc-issuer", provider.issuer,
            "--admin-group", "janitor-admins",
            "--qa-reviewer-group", "janitor-qa",
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def short_lived_provider(oidc_provider_factory: Callable[..., OIDCProvider]) -> OIDCProvider:
    """A second IdP whose access tokens live 2 seconds."""
    return oidc_provider_factory(access_token_lifetime=SHORT_LIFETIME)


@pytest.fixture(scope="module")
def expired_tokens(short_lived_provider: OIDCProvider) -> dict[str, Any]:
    """Tokens of ``user6`` from the short-lived IdP: the access token worked, then expired."""
    provider = short_lived_provider
    tokens = provider.obtain_tokens("user6")
    expires = time.monotonic() + provider.access_token_lifetime
    assert tokens["expires_in"] <= provider.access_token_lifetime
    assert provider.userinfo(tokens["access_token"]).status_code == 200
    time.sleep(max(0.0, expires - time.monotonic()))
    deadline = time.monotonic() + 5
    while provider.userinfo(tokens["access_token"]).status_code == 200:
        assert time.monotonic() < deadline, "the access token outlived its lifetime by 5 s"
        time.sleep(0.05)
    return tokens


@pytest.fixture(scope="module")
def short_lived_emulator(
    short_lived_provider: OIDCProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    """An emulator validating bearer tokens at ``short_lived_provider``'s userinfo endpoint."""
    with _emulator_for(short_lived_provider, tmp_path_factory.mktemp("emulator")) as server:
        yield server


@pytest.fixture(scope="module")
def emulator(
    oidc_provider: OIDCProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    """An emulator validating bearer tokens at ``oidc_provider``'s userinfo endpoint."""
    with _emulator_for(oidc_provider, tmp_path_factory.mktemp("emulator")) as server:
        yield server


def _api_user(emulator: EmulatorServer, token: str) -> httpx.Response:
    return httpx.get(
        f"{emulator.url}/api/user", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


# The identity provider -----------------------------------------------------------------------


def test_discovery_document(oidc_provider: OIDCProvider) -> None:
    response = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration")

    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == oidc_provider.issuer
    assert document["issuer"].startswith("http://127.0.0.1:")
    assert document["authorization_endpoint"] == f"{oidc_provider.issuer}/authorize/"
    assert document["token_endpoint"] == f"{oidc_provider.issuer}/token/"
    assert document["userinfo_endpoint"] == f"{oidc_provider.issuer}/userinfo/"
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert "S256" in document["code_challenge_methods_supported"]
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert [key["kty"] for key in keys] == ["RSA"]


def test_obtain_tokens_runs_the_code_flow(oidc_provider: OIDCProvider) -> None:
    jwt = pytest.importorskip("jwt")

    tokens = oidc_provider.obtain_tokens("user0")

    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"] and tokens["refresh_token"]
    assert 0 < tokens["expires_in"] <= oidc_provider.access_token_lifetime
    key = jwt.PyJWKClient(oidc_provider.endpoint("jwks_uri")).get_signing_key_from_jwt(
        tokens["id_token"]
    )
    claims = jwt.decode(
        tokens["id_token"],
        key,
        algorithms=["RS256"],
        audience=oidc_provider.client_id,
        issuer=oidc_provider.issuer,
    )
    assert claims["nonce"] == tokens["nonce"]
    assert claims["email"] == "user0@example.test"
    assert claims["preferred_username"] == "user0"
    assert claims["groups"] == ["janitor-admins", "staff"]


@pytest.mark.parametrize(
    ("username", "groups"),
    [("user0", ["janitor-admins", "staff"]), ("user1", ["janitor-qa"]), ("user2", [])],
)
def test_userinfo_has_the_claims(
    oidc_provider: OIDCProvider, username: str, groups: list[str]
) -> None:
    tokens = oidc_provider.obtain_tokens(username)

    response = oidc_provider.userinfo(tokens["access_token"])

    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"]
    assert claims["email"] == f"{username}@example.test"
    assert claims["email_verified"] is True
    assert claims["preferred_username"] == username
    assert claims["name"] == f"User {username.removeprefix('user')}"
    assert claims["groups"] == groups


def test_groups_come_with_openid_alone(oidc_provider: OIDCProvider) -> None:
    tokens = oidc_provider.obtain_tokens("user1", scope="openid")

    claims = oidc_provider.userinfo(tokens["access_token"]).json()

    assert claims["groups"] == ["janitor-qa"]
    assert "email" not in claims and "preferred_username" not in claims


def test_wrong_password_is_refused(oidc_provider: OIDCProvider) -> None:
    with pytest.raises(OIDCProviderError, match="rejected the login"):
        oidc_provider.obtain_tokens("user3", password="wrong")


def test_redirect_uris(oidc_provider: OIDCProvider) -> None:
    # Any port of the default 127.0.0.1 callback (RFC 8252); other URIs once registered.
    oidc_provider.obtain_tokens("user4", "http://127.0.0.1:45678/oidc/callback/")
    other = "http://localhost:45678/elsewhere/callback/"
    with pytest.raises(OIDCProviderError, match="400"):
        oidc_provider.obtain_tokens("user4", other)

    assert other in oidc_provider.add_redirect_uri(other)
    assert oidc_provider.add_redirect_uri(other).count(other) == 1

    assert oidc_provider.obtain_tokens("user4", other)["access_token"]


def test_refresh_rotates_the_refresh_token(oidc_provider: OIDCProvider) -> None:
    tokens = oidc_provider.obtain_tokens("user5")

    response = oidc_provider.refresh(tokens["refresh_token"])

    assert response.status_code == 200
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    assert oidc_provider.userinfo(renewed["access_token"]).json()["preferred_username"] == "user5"
    reused = oidc_provider.refresh(tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert oidc_provider.refresh(renewed["refresh_token"]).status_code == 200


def test_access_token_expires(
    short_lived_provider: OIDCProvider, expired_tokens: dict[str, Any]
) -> None:
    response = short_lived_provider.userinfo(expired_tokens["access_token"])

    assert response.status_code == 401
    assert "invalid_token" in response.headers.get("WWW-Authenticate", "")
    # The refresh token still gets a fresh access token.
    renewed = short_lived_provider.refresh(expired_tokens["refresh_token"]).json()
    assert short_lived_provider.userinfo(renewed["access_token"]).status_code == 200


# The emulator accepts the IdP's access tokens --------------------------------------------------


@pytest.mark.parametrize(
    ("username", "roles"),
    [
        ("user0", ["User", "QaReviewer", "Admin"]),
        ("user1", ["User", "QaReviewer"]),
        ("user2", ["User"]),
    ],
)
def test_emulator_accepts_the_access_token(
    oidc_provider: OIDCProvider, emulator: EmulatorServer, username: str, roles: list[str]
) -> None:
    tokens = oidc_provider.obtain_tokens(username)

    response = _api_user(emulator, tokens["access_token"])

    assert response.status_code == 200, response.text
    user = response.json()["data"]
    assert user["preferred_username"] == username
    assert user["email"] == f"{username}@example.test"
    assert user["roles"] == roles
    assert user["auth_method"] == "bearer"


def test_emulator_refuses_a_garbage_token(emulator: EmulatorServer) -> None:
    response = _api_user(emulator, "not-a-token-the-idp-issued")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_emulator_refuses_an_expired_token(
    short_lived_emulator: EmulatorServer, expired_tokens: dict[str, Any]
) -> None:
    response = _api_user(short_lived_emulator, expired_tokens["access_token"])

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_emulator_accepts_a_short_lived_token_while_valid(
    short_lived_provider: OIDCProvider, short_lived_emulator: EmulatorServer
) -> None:
    tokens = short_lived_provider.obtain_tokens("user1")

    response = _api_user(short_lived_emulator, tokens["access_token"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["roles"] == ["User", "QaReviewer"]
