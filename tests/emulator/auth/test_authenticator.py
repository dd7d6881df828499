"""The authenticator's bearer header syntax (§3.2) and static development tokens."""

from __future__ import annotations

import pytest

from janitor_site_emulator.auth import ROLES, Authenticator
from janitor_site_emulator.config import EmulatorConfig, StaticToken

from .support import Provider, assert_invalid_token, expect_error

pytestmark = pytest.mark.anyio


async def test_static_token_without_oidc() -> None:
    config = EmulatorConfig(static_tokens=(StaticToken("tok-1", "alice", ("staff", "qa")),))
    authenticator = Authenticator(config)
    principal = await authenticator.authenticate("Bearer tok-1", None)
    assert principal is not None
    assert dict(principal.claims) == {
        "sub": "alice",
        "preferred_username": "alice",
        "groups": ["staff", "qa"],
    }
    assert principal.groups == ("qa", "staff")
    assert principal.auth_method == "bearer"
    assert principal.roles == ROLES  # no groups configured: every role
    assert principal.requester == "alice"


async def test_static_token_roles_follow_groups(authenticator: Authenticator) -> None:
    principal = await authenticator.authenticate("Bearer static-admin", None)
    assert principal is not None
    assert principal.roles == ("User", "QaReviewer", "Admin")
    assert principal.groups == ("admins", "ops")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_scheme_is_case_insensitive(authenticator: Authenticator, scheme: str) -> None:
    principal = await authenticator.authenticate(f"{scheme} static-admin", None)
    assert principal is not None and principal.sub == "root"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic x",
        "Basic c3RhdGljLWFkbWluOg==",
        "Bearer",
        "Bearer ",
        "Bearer  static-admin",
        "Bearer static-admin ",
        " Bearer static-admin",
        "Bearer\tstatic-admin",
        "Bearer static-admin\n",
        "Bearer a b",
        "Bearer tok!en",
        "Bearer tok=en",
        "Bearer =abc",
        "Bearer tök",
        "Bearerstatic-admin",
        "Token static-admin",
    ],
)
async def test_malformed_authorization_is_invalid_token(
    authenticator: Authenticator, provider: Provider, header: str
) -> None:
    assert_invalid_token(await expect_error(authenticator, header))
    assert provider.calls == {}


async def test_no_credentials_is_anonymous(authenticator: Authenticator) -> None:
    assert await authenticator.authenticate(None, None) is None
    assert await authenticator.authenticate(None, "") is None


async def test_unknown_token_without_oidc_is_invalid() -> None:
    config = EmulatorConfig(static_tokens=(StaticToken("tok-1", "alice"),))
    authenticator = Authenticator(config)
    for token in ("tok-2", "tok-1x", "tok", "TOK-1", "a.b.c"):
        assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


async def test_padding_characters_allowed_at_the_end(authenticator: Authenticator) -> None:
    authenticator_config = EmulatorConfig(static_tokens=(StaticToken("a+b/c~d.e_f-g==", "x"),))
    local = Authenticator(authenticator_config)
    principal = await local.authenticate("Bearer a+b/c~d.e_f-g==", None)
    assert principal is not None and principal.sub == "x"
