"""OIDC login in Chromium: the RP (live server) → the real IdP's login form → back, logged in,
and the API sees the user's own token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from janitor_site_django.testing.emulator import start_emulator
from tests.oidc_support import OIDCProvider, configure_relying_party, oidc_provider_factory

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["oidc_provider_factory"]


@pytest.fixture
def oidc_site(
    settings: Any,
    live_server: Any,
    transactional_db: None,
    oidc_provider_factory: Callable[..., OIDCProvider],
    tmp_path: Path,
) -> Iterator[tuple[str, OIDCProvider]]:
    idp = oidc_provider_factory(redirect_uris=[f"{live_server.url}/oidc/callback/"])
    extra = ["--oidc-issuer", idp.issuer, "--admin-group", "janitor-admins"]
    with start_emulator(f"sqlite:///{tmp_path / 'e.sqlite3'}", extra_args=extra) as api:
        configure_relying_party(settings, idp, api.url)
        yield live_server.url, idp


def test_oidc_login_in_a_browser(
    page: Page, oidc_site: tuple[str, OIDCProvider], snap: Callable[[Page, str], Path]
) -> None:
    site, idp = oidc_site
    page.goto(f"{site}/oidc/authenticate/")
    page.wait_for_selector("input[name=username]")
    snap(page, "oidc-idp-login-form")
    page.fill("input[name=username]", "user1")
    page.fill("input[name=password]", idp.users["user1"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/whoami/")
    assert '"user": "user1"' in page.content()
    snap(page, "oidc-logged-in-whoami")
