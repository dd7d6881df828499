"""One refresh per session, whoever asks at the same moment, against the real IdP (which rotates
refresh tokens and rejects a spent one at once): threads of one process; two real relying-party
processes sharing the session store and a Redis cache; and a rotation by another process that
no lock stopped, found by reading the stored session again after ``invalid_grant``.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from janitor_site_django.auth import middleware
from janitor_site_django.auth import session as tokens
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from tests.oidc_support import DEFAULT_REDIRECT_URI, OIDCProvider, configure_relying_party
from tests.relying_party import RelyingParty, start_relying_party

LIFETIME = 5  # seconds an access token lives at this IdP
MARGIN = 3  # refreshed in its last 3 seconds: 2 s after it is issued
RP_CALLBACK = "http://testserver/oidc/callback/"
ROUNDS = 3  # races per two-process test, each on the token the previous one got


@pytest.fixture(scope="module")
def idp(oidc_provider_factory: Callable[..., OIDCProvider]) -> OIDCProvider:
    """Its token endpoint takes 0.3 s, as a remote one would: requests arriving together are
    all inside a refresh, not after it."""
    return oidc_provider_factory(
        access_token_lifetime=LIFETIME, redirect_uris=[RP_CALLBACK], token_delay=0.3
    )


@pytest.fixture(scope="module")
def api(idp: OIDCProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator that accepts a bearer token only if the IdP's userinfo endpoint does."""
    database = tmp_path_factory.mktemp("single-flight-api") / "e.sqlite3"
    with start_emulator(f"sqlite:///{database}", extra_args=["--oidc-issuer", idp.issuer]) as api:
        yield api


def token_requests_since(idp: OIDCProvider, before: int, expected: int) -> list[int]:
    """The token endpoint's answers after the first ``before``, once the log has settled (a
    request is logged just after its answer)."""
    deadline = time.monotonic() + 5
    while len(idp.token_requests()) < before + expected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # a request beyond those expected would be logged by now
    return idp.token_requests()[before:]


def wait_until_refresh_is_due(issued_before: float) -> None:
    """Sleep until a token issued before ``issued_before`` (epoch seconds) is in the margin."""
    time.sleep(max(0.0, issued_before + LIFETIME - MARGIN + 0.1 - time.time()))


# One process, many threads --------------------------------------------------------------------


@pytest.fixture
def relying_party(settings: Any, idp: OIDCProvider, api: EmulatorServer) -> Client:
    configure_relying_party(settings, idp, api.url)
    settings.JANITOR_SITE_OIDC_REFRESH_MARGIN = MARGIN
    return Client()


def log_in(rp: Client, idp: OIDCProvider, username: str) -> float:
    """The real authorization-code + PKCE flow; the time just after the tokens were issued."""
    start = rp.get("/oidc/authenticate/")
    params = dict(parse_qsl(urlsplit(start["Location"]).query))
    callback = idp._authorize(idp.http_client(), params, username, idp.users[username], RP_CALLBACK)
    finish = rp.get(urlsplit(callback).path + "?" + urlsplit(callback).query)
    assert finish.status_code == 302 and finish["Location"] == "/whoami/", finish.content[:300]
    return time.time()


@pytest.mark.django_db(transaction=True)
def test_threads_of_one_process_refresh_a_session_once(
    relying_party: Client, idp: OIDCProvider, settings: Any
) -> None:
    # Sessions in the (LocMem) cache: eight threads saving sessions at once into the test's
    # in-memory SQLite database would fail on its table locks ("database table is locked").
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    issued = log_in(relying_party, idp, "user3")
    cookie = relying_party.cookies["sessionid"].value
    old = tokens.access_token(relying_party.session)
    wait_until_refresh_is_due(issued)
    before = len(idp.token_requests())
    start = threading.Barrier(8)

    def call(_: int) -> tuple[int, Any]:
        client = Client()
        client.cookies["sessionid"] = cookie
        start.wait()
        response = client.get("/whoami/")
        return response.status_code, response.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(8)))
    assert answers == [(200, {"user": "user3"})] * 8
    assert token_requests_since(idp, before, 1) == [200]
    assert tokens.access_token(relying_party.session) not in (None, old)
    assert len(middleware._locks) == 0


# A rotation that no lock stopped --------------------------------------------------------------


class TokenEndpointProxy(http.server.ThreadingHTTPServer):
    """Passes requests on to the IdP's token endpoint, running ``before_refresh(refresh_token)``
    before it passes on a refresh grant."""

    def __init__(self, upstream: str, before_refresh: Callable[[str], None]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.before_refresh = before_refresh
        self.refresh_tokens: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/o/token/"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: TokenEndpointProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        form = dict(parse_qsl(body.decode()))
        if form.get("grant_type") == "refresh_token":
            self.server.refresh_tokens.append(form["refresh_token"])
            self.server.before_refresh(form["refresh_token"])
        passed = ("content-type", "authorization", "accept")
        headers = {k: v for k, v in self.headers.items() if k.lower() in passed}
        answer = httpx.post(self.server.upstream, content=body, headers=headers, timeout=10)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_after_invalid_grant_the_token_another_process_stored_is_adopted(
    relying_party: Client, idp: OIDCProvider, settings: Any
) -> None:
    issued = log_in(relying_party, idp, "user5")
    session_key = relying_party.cookies["sessionid"].value
    rotated: dict[str, Any] = {}

    def another_process_refreshes(refresh_token: str) -> None:
        """Spends the same refresh token first and stores what it gets, as a process that did
        not see the lock (a per-process cache, or a lock that expired) would."""
        answer = idp.refresh(refresh_token)
        assert answer.status_code == 200, answer.text
        rotated.update(answer.json())
        stored = SessionStore(session_key=session_key)
        tokens.store(stored, rotated)
        stored.save()

    proxy = TokenEndpointProxy(settings.OIDC_OP_TOKEN_ENDPOINT, another_process_refreshes)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        settings.OIDC_OP_TOKEN_ENDPOINT = proxy.url
        wait_until_refresh_is_due(issued)
        before = len(idp.token_requests())
        response = relying_party.get("/whoami/")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert response.status_code == 200 and response.json() == {"user": "user5"}
    assert len(proxy.refresh_tokens) == 1  # this request's one refresh...
    assert sorted(token_requests_since(idp, before, 2)) == [200, 400]  # second: invalid_grant
    assert "_auth_user_id" in relying_party.session  # not logged out
    assert tokens.access_token(relying_party.session) == rotated["access_token"]  # adopted
    assert tokens.refresh_token(relying_party.session) == rotated["refresh_token"]


# Two processes --------------------------------------------------------------------------------


def log_in_over_http(browser: httpx.Client, rp: RelyingParty, idp: OIDCProvider) -> float:
    """Log ``user4`` in at ``rp`` through the IdP; the time just after the tokens were issued."""
    start = browser.get(f"{rp.url}/oidc/authenticate/")
    assert start.status_code == 302, start.text[:300]
    params = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    client = idp.http_client()
    callback = urlsplit(
        idp._authorize(client, params, "user4", idp.users["user4"], DEFAULT_REDIRECT_URI)
    )
    finish = browser.get(f"{rp.url}{callback.path}?{callback.query}")
    assert finish.status_code == 302 and finish.headers["location"] == "/whoami/", finish.text
    return time.time()


def at_the_same_moment(urls: list[str], cookie: str) -> list[httpx.Response]:
    """GET each URL with the session cookie, all released at once, each on its own connection
    (opened beforehand, without the cookie: that request would refresh the token first)."""
    clients = [httpx.Client(trust_env=False, timeout=30) for _ in urls]
    for client, url in zip(clients, urls, strict=True):
        assert client.get(url.replace("/whoami/", "/ready/")).status_code == 200  # connected
    start = threading.Barrier(len(urls))

    def call(index: int) -> httpx.Response:
        start.wait()
        return clients[index].get(urls[index], headers={"Cookie": f"rp_sessionid={cookie}"})

    try:
        with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
            return list(pool.map(call, range(len(urls))))
    finally:
        for client in clients:
            client.close()


@pytest.mark.redis
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_two_processes_refresh_a_session_once(
    database: str,
    request: pytest.FixtureRequest,
    redis_url: str,
    idp: OIDCProvider,
    api: EmulatorServer,
    tmp_path: Path,
) -> None:
    if database == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'rp.sqlite3'}"
    else:
        database_url = request.getfixturevalue("own_postgresql_database")
    environment = {
        "RP_DATABASE": database_url,
        "RP_REDIS_URL": redis_url,
        "RP_CACHE_PREFIX": f"jsd-test-{uuid.uuid4().hex}",  # the Redis server may be shared
        "RP_API_URL": api.url,
        "RP_REFRESH_MARGIN": str(MARGIN),
        "RP_OIDC_CLIENT_ID": idp.client_id,
        "RP_OIDC_CLIENT_SECRET": idp.client_secret,
        "RP_OIDC_AUTHORIZATION_ENDPOINT": idp.endpoint("authorization_endpoint"),
        "RP_OIDC_TOKEN_ENDPOINT": idp.endpoint("token_endpoint"),
        "RP_OIDC_USER_ENDPOINT": idp.endpoint("userinfo_endpoint"),
        "RP_OIDC_JWKS_ENDPOINT": idp.endpoint("jwks_uri"),
    }
    first = start_relying_party(tmp_path / "rp-1.log", environment, create_tables=True)
    second: RelyingParty | None = None
    browser = httpx.Client(trust_env=False, timeout=30)
    try:
        second = start_relying_party(tmp_path / "rp-2.log", environment)
        issued = log_in_over_http(browser, first, idp)
        cookie = browser.cookies["rp_sessionid"]
        urls = [f"{first.url}/whoami/", f"{second.url}/whoami/"]
        seen = [browser.get(urls[0]).json()["token"]]
        for round in range(ROUNDS):
            wait_until_refresh_is_due(issued)
            before = len(idp.token_requests())
            responses = at_the_same_moment(urls, cookie)
            issued = time.time()
            refreshes = token_requests_since(idp, before, 1)
            logs = f"\n{first.log()[-2000:]}\n{second.log()[-2000:]}"
            assert [r.status_code for r in responses] == [200, 200], f"round {round}{logs}"
            assert refreshes == [200], f"round {round}{logs}"
            # The session survived, in both processes (no refresh is due for 2 s).
            later = [browser.get(url) for url in urls]
            answers = [r.json() for r in responses]
            assert len({answer["pid"] for answer in answers}) == 2  # two processes answered
            assert [answer["user"] for answer in answers] == ["user4", "user4"]
            [token] = {answer["token"] for answer in answers}  # the same token, both
            assert token not in seen  # and a new one
            seen.append(token)
            assert [(r.status_code, r.json()["token"]) for r in later] == [(200, token)] * 2
        assert len(seen) == ROUNDS + 1
    finally:
        browser.close()
        for party in (first, second):
            if party is not None:
                party.stop()
