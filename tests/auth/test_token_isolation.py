"""Security: 10 logged-in users, 1,000 interleaved requests in threads, sync and async views.

Every request's view asks the API who is calling (``GET /api/user`` answers for the token the
call carried): a call carrying another user's token would name another user. Tokens are the
emulator's static tokens standing in for access tokens.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from janitor_site_django.auth import session as tokens
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

pytestmark = pytest.mark.django_db(transaction=True)
USERS = [f"user{i}" for i in range(10)]
TOKENS = {name: f"token-of-{name}-{'x' * 20}" for name in USERS}


@pytest.fixture(scope="module")
def ten_user_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    database = tmp_path_factory.mktemp("isolation") / "e.sqlite3"
    extra = [argument for name in USERS for argument in ("--token", f"{TOKENS[name]}:{name}")]
    with start_emulator(f"sqlite:///{database}", extra_args=extra) as server:
        yield server


@pytest.fixture
def site(settings: Any, ten_user_api: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = ten_user_api.url
    settings.JANITOR_SITE_API_TOKEN = None
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:9/o/authorize/"
    settings.OIDC_RP_CLIENT_ID = "rp-client"
    return ten_user_api


def session_cookie(username: str) -> str:
    client = Client()
    client.force_login(User.objects.get_or_create(username=username)[0])
    session = client.session
    tokens.store(session, {"access_token": TOKENS[username], "expires_in": 3600})
    session.save()
    return client.cookies["sessionid"].value


def test_no_request_ever_carries_another_users_token(
    site: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    cookies = {name: session_cookie(name) for name in USERS}
    plan = [
        (random.Random(i).choice(USERS), "/whoami/" if i % 2 else "/awhoami/") for i in range(1000)
    ]

    def call(request: tuple[str, str]) -> tuple[str, str]:
        username, path = request
        client = Client()
        client.cookies["sessionid"] = cookies[username]
        return username, client.get(path).json()["user"]

    with caplog.at_level(logging.DEBUG), concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, plan))
    crossings = [(asked, seen) for asked, seen in answers if asked != seen]
    assert len(answers) == 1000 and crossings == []
    assert {path for _, path in plan} == {"/whoami/", "/awhoami/"}
    assert not any(token in caplog.text for token in TOKENS.values())


def test_an_anonymous_request_after_a_logged_in_one_carries_no_token(site: EmulatorServer) -> None:
    user = Client()
    user.cookies["sessionid"] = session_cookie("user3")
    assert user.get("/whoami/").json() == {"user": "user3"}
    anonymous = Client().get("/whoami/", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert anonymous.status_code == 401  # no token at all: the API says unauthorized


def test_logout_clears_the_tokens(site: EmulatorServer) -> None:
    client = Client()
    client.cookies["sessionid"] = session_cookie("user4")
    assert client.get("/whoami/").json() == {"user": "user4"}
    client.logout()
    assert tokens.access_token(client.session) is None
    assert client.get("/whoami/", HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 401
