"""No token on Django's DEBUG error page or in the admins' HTML error mail, whatever the fault."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.log import AdminEmailHandler

from janitor_site_django.auth import session as tokens
from janitor_site_django.testing.emulator import EmulatorServer

from .hostile import MODES, HostileServer, hostile_server
from .urls import USER_TOKEN

SERVICE_TOKEN = f"service-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


@pytest.fixture
def error_mail(settings: Any) -> Iterator[None]:
    """DEBUG's error page, and the admins' error mail with the HTML report attached, as
    production sends it."""
    settings.DEBUG = True
    settings.ADMINS = [("Admin", "admin@example.org")]
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _faulty(hostile: HostileServer, fault: str) -> str:
    """The URL of a server with ``fault``: the hostile one in that mode (what it saw
    forgotten), or a closed port."""
    hostile.mode, hostile.requests[:] = (fault if fault != "refused" else "500"), []
    return f"http://127.0.0.1:{_closed_port()}" if fault == "refused" else hostile.url


def _timeout(fault: str) -> float:
    """Short where the fault is a wait; long enough otherwise that the server reads the
    request however loaded the machine."""
    return 1.0 if fault in ("hang", "trickle", "trickle-headers") else 10.0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.urls("tests.faults.urls")
@pytest.mark.parametrize("who", ["user", "service"])
@pytest.mark.parametrize("view", ["sync", "async"])
@pytest.mark.parametrize("fault", ["refused", *MODES])
def test_no_token_on_the_debug_page_or_in_the_error_mail(
    fault: str,
    view: str,
    who: str,
    hostile: HostileServer,
    settings: Any,
    mailoutbox: list[Any],
    error_mail: None,
) -> None:
    settings.JANITOR_SITE_URL = _faulty(hostile, fault)
    settings.JANITOR_SITE_API_TOKEN = SERVICE_TOKEN
    settings.JANITOR_SITE_TIMEOUT = _timeout(fault)
    settings.JANITOR_SITE_RETRIES = 0
    response = Client(raise_request_exception=False).get(f"/{view}/{who}/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "janitor_site_django" in page  # the technical page, with the library's frames
    [mail] = mailoutbox
    [(html, _)] = mail.alternatives
    secret = USER_TOKEN if who == "user" else SERVICE_TOKEN
    for where, text in (("page", page), ("mail", mail.body), ("HTML mail", html)):
        assert secret not in text, f"{fault}: the {who} token is in the {where}"
    if fault != "refused":
        assert any(secret.encode() in r for r in hostile.requests)  # sent, to the origin only


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["refused", *MODES])
def test_a_failed_refresh_logs_out_without_a_500_or_a_token_shown(
    fault: str,
    hostile: HostileServer,
    settings: Any,
    mailoutbox: list[Any],
    error_mail: None,
    janitor_emulator: EmulatorServer,
) -> None:
    idp = _faulty(hostile, fault)
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_TIMEOUT = _timeout(fault)
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{idp}/o/token/"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{idp}/o/authorize/"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "rp", "rp-secret"
    refresh_token, access_token = f"refresh-{secrets.token_hex(12)}", janitor_emulator.tokens["qa"]
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get_or_create(username="someone")[0])
    session = client.session
    tokens.store(
        session, {"access_token": access_token, "refresh_token": refresh_token, "expires_in": 5}
    )
    session.save()
    response = client.get("/whoami/")  # about to expire: refreshed first
    assert response.status_code == 302 and response["Location"].startswith("/oidc/authenticate/")
    assert not mailoutbox
    assert "_auth_user_id" not in client.session  # logged out
    page = response.content.decode()
    for secret in (refresh_token, access_token):
        assert secret not in page
    if fault != "refused":
        assert any(refresh_token.encode() in r for r in hostile.requests)  # to the IdP only
