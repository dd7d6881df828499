"""A real local OpenID Connect provider for the tests: django-oauth-toolkit (``tests/idp/``).

:func:`start_oidc_provider` runs ``python -m tests.idp.serve`` as a subprocess on a free loopback
port (the socket is bound here and inherited, so there is no port race) over a fresh SQLite
file, and returns an :class:`OIDCProvider` once discovery answers (about 1 s). The
``oidc_provider`` fixture (session) and the ``oidc_provider_factory`` fixture (session; starts
more providers, e.g. with a 2-second access token lifetime) wrap it; ``tests/oidc/conftest.py``
registers both, other directories can do the same::

    from tests.oidc_support import oidc_provider, oidc_provider_factory  # noqa: F401

The provider has users ``user0``..``user9`` (password ``pass-<username>``, email
``<username>@example.test``; ``user0`` in groups ``janitor-admins`` and ``staff``, ``user1`` in
``janitor-qa``) and one confidential client (``rp-client`` / ``rp-secret-xyz``, authorization
code + PKCE, RS256 ID tokens, no consent page). ID token and userinfo carry ``sub``, ``email``,
``email_verified``, ``preferred_username``, ``name`` and ``groups`` (sorted group names);
``email`` needs the ``email`` scope, ``preferred_username`` and ``name`` the ``profile`` scope.
Access tokens are opaque and live ``access_token_lifetime`` seconds (default 30); refresh tokens
are rotated, the old one is rejected once used. Redirect URIs: ``http://127.0.0.1/oidc/callback/``
is always registered and, per RFC 8252, matches that path on *any* 127.0.0.1 port; register
others with :meth:`OIDCProvider.add_redirect_uri`. The IdP's cookies are ``idp_sessionid`` and
``idp_csrftoken``, so a relying party on 127.0.0.1 keeps its own session.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
CLIENT_ID = "rp-client"
CLIENT_SECRET = "rp-secret-xyz"
USERS = {f"user{i}": f"pass-user{i}" for i in range(10)}
#: Always registered; matches ``/oidc/callback/`` on any 127.0.0.1 port (RFC 8252 §7.3).
DEFAULT_REDIRECT_URI = "http://127.0.0.1/oidc/callback/"
DEFAULT_SCOPE = "openid email profile"
_CSRF_FIELD = 'name="csrfmiddlewaretoken"'


class OIDCProviderError(RuntimeError):
    """The identity provider did not start, or a flow against it failed."""


def _form_value(page: str, name: str) -> str:
    """The ``value`` of the ``<input name=...>`` in Django's rendering (HTML-unescaped)."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    if match is None:
        raise OIDCProviderError(f"no {name!r} field in the login page")
    return html.unescape(match.group(1))


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _is_redirect_to(location: str, redirect_uri: str) -> bool:
    """Whether ``location`` goes to ``redirect_uri`` (any port when it is a 127.0.0.1 URI)."""
    got, want = urlsplit(location), urlsplit(redirect_uri)
    same_port = want.hostname in ("127.0.0.1", "::1") or got.port == want.port
    return (got.scheme, got.hostname, got.path) == (
        want.scheme,
        want.hostname,
        want.path,
    ) and same_port


@dataclasses.dataclass
class OIDCProvider:
    """A running test identity provider (see the module docstring for its users and client)."""

    url: str
    issuer: str
    client_id: str
    client_secret: str
    users: dict[str, str]
    access_token_lifetime: int
    process: subprocess.Popen[bytes]
    log_path: Path
    control_token: str = dataclasses.field(repr=False)

    # HTTP, discovery and small helpers -------------------------------------------------------

    @functools.cached_property
    def _transport(self) -> httpx.HTTPTransport:
        # One connection pool for all calls: a new httpx.Client builds an SSL context (~40 ms).
        return httpx.HTTPTransport()

    def http_client(self) -> httpx.Client:
        """A new client (own cookies, no redirects followed, no proxies) on the shared pool.

        Don't close it (nor use it as a context manager): that closes the shared pool.
        """
        return httpx.Client(transport=self._transport, timeout=10, trust_env=False)

    @functools.cached_property
    def _http(self) -> httpx.Client:
        return self.http_client()

    @functools.cached_property
    def discovery(self) -> dict[str, Any]:
        """The ``/.well-known/openid-configuration`` document (fetched once)."""
        response = self._http.get(f"{self.issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def endpoint(self, name: str) -> str:
        """A URL of the discovery document, e.g. ``endpoint("token_endpoint")``."""
        value = self.discovery[name]
        assert isinstance(value, str)
        return value

    def log(self) -> str:
        """What the IdP process has written so far (request log and errors)."""
        return self.log_path.read_text(errors="replace")

    def token_requests(self) -> list[int]:
        """The status of every ``POST`` to the token endpoint so far (code and refresh grants
        alike), from the request log; a request is logged just after its answer is sent."""
        return [int(status) for status in re.findall(r'"POST /o/token/ \S+" (\d{3})', self.log())]

    def add_redirect_uri(self, uri: str) -> list[str]:
        """Register ``uri`` for the client (idempotent); returns all its redirect URIs."""
        response = self._http.post(
            f"{self.url}/testing/redirect-uris/",
            data={"uri": uri},
            headers={"Authorization": f"Bearer {self.control_token}"},
        )
        if response.status_code != 200:
            raise OIDCProviderError(
                f"registering {uri!r} failed: {response.status_code} {response.text[:300]}"
            )
        uris: list[str] = response.json()["redirect_uris"]
        return uris

    # The authorization code flow -------------------------------------------------------------

    def obtain_tokens(
        self,
        username: str,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        *,
        password: str | None = None,
        scope: str = DEFAULT_SCOPE,
    ) -> dict[str, Any]:
        """Log ``username`` in through the real authorization code + PKCE flow; the token answer.

        GET the authorize endpoint, fill the login form (with its CSRF token), follow the IdP's
        redirects up to ``redirect_uri?code=...``, check ``state``, then POST the code with the
        PKCE verifier and the client's credentials (HTTP Basic) to the token endpoint. Returns
        its JSON: ``access_token``, ``refresh_token``, ``id_token``, ``expires_in``,
        ``token_type``, ``scope``; plus ``nonce``, the one sent (for checking the ID token).
        ``redirect_uri`` is never requested.
        """
        if password is None:
            password = self.users[username]
        verifier, challenge = _pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        # A fresh cookie jar (the IdP session) per flow; not closed, as that would close the
        # shared connection pool.
        client = self.http_client()
        location = self._authorize(client, params, username, password, redirect_uri)
        query = parse_qs(urlsplit(location).query)
        if "error" in query:
            raise OIDCProviderError(f"the IdP refused the authorization: {query}")
        if query.get("state") != [state]:
            raise OIDCProviderError(f"state mismatch in the redirect: {query}")
        response = client.post(
            self.endpoint("token_endpoint"),
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(self.client_id, self.client_secret),
        )
        if response.status_code != 200:
            raise OIDCProviderError(
                f"token endpoint answered {response.status_code}: {response.text[:500]}"
            )
        tokens: dict[str, Any] = response.json()
        tokens["nonce"] = nonce
        return tokens

    def _authorize(
        self,
        client: httpx.Client,
        params: dict[str, str],
        username: str,
        password: str,
        redirect_uri: str,
    ) -> str:
        """Drive authorize → login → authorize; the redirect to ``redirect_uri``."""
        response = client.get(self.endpoint("authorization_endpoint"), params=params)
        logged_in = False
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if _is_redirect_to(location, redirect_uri):
                    return location
                response = client.get(location)
            elif response.status_code == 200 and _CSRF_FIELD in response.text and not logged_in:
                logged_in = True
                response = client.post(
                    str(response.url),
                    data={
                        "csrfmiddlewaretoken": _form_value(response.text, "csrfmiddlewaretoken"),
                        "username": username,
                        "password": password,
                        "next": _form_value(response.text, "next"),
                    },
                    headers={"Referer": str(response.url)},
                )
            elif logged_in and response.status_code == 200 and _CSRF_FIELD in response.text:
                raise OIDCProviderError(f"the IdP rejected the login of {username!r}")
            else:
                raise OIDCProviderError(
                    f"unexpected answer {response.status_code} from {response.url}: "
                    f"{response.text[:500]}"
                )
        raise OIDCProviderError("too many redirects in the authorization flow")

    def refresh(self, refresh_token: str) -> httpx.Response:
        """POST the refresh token grant (client authenticated); the raw answer."""
        return self._http.post(
            self.endpoint("token_endpoint"),
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self.client_id, self.client_secret),
        )

    def userinfo(self, access_token: str) -> httpx.Response:
        """GET the userinfo endpoint with ``access_token`` as bearer; the raw answer."""
        return self._http.get(
            self.endpoint("userinfo_endpoint"),
            headers={"Authorization": f"Bearer {access_token}"},
        )

    # Life cycle ------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if "_transport" in self.__dict__:
            self.__dict__.pop("_http", None)
            self.__dict__.pop("_transport").close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> OIDCProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_oidc_provider(
    directory: Path,
    *,
    access_token_lifetime: int = 30,
    redirect_uris: Sequence[str] = (),
    token_delay: float = 0.0,
    startup_timeout: float = 60.0,
) -> OIDCProvider:
    """Start the test IdP with its state (DB, key, log) in ``directory``; stop it when done.

    ``redirect_uris`` are registered besides :data:`DEFAULT_REDIRECT_URI`. ``token_delay``:
    seconds the token endpoint waits before answering, as a remote IdP takes (the local one
    answers in milliseconds, too fast for two requests to overlap reliably).
    """
    directory.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    control_token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.idp.settings",
        IDP_ISSUER=f"{url}/o",
        IDP_STATE_DIR=str(directory),
        IDP_DB=str(directory / "idp.sqlite3"),
        IDP_KEY_FILE=str(directory / "idp-key.pem"),
        IDP_FAST_HASH="1",
        IDP_CONTROL_TOKEN=control_token,
        IDP_REDIRECT_URIS=" ".join([DEFAULT_REDIRECT_URI, *redirect_uris]),
        ACCESS_TOKEN_EXPIRE_SECONDS=str(access_token_lifetime),
        IDP_TOKEN_DELAY=str(token_delay),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    log_path = directory / "idp.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.idp.serve", "--fd", str(listener.fileno())],
            cwd=REPOSITORY,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    listener.close()
    provider = OIDCProvider(
        url=url,
        issuer=f"{url}/o",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        users=dict(USERS),
        access_token_lifetime=access_token_lifetime,
        process=process,
        log_path=log_path,
        control_token=control_token,
    )
    try:
        _wait_until_ready(provider, startup_timeout)
    except BaseException:
        provider.stop()
        raise
    return provider


def _wait_until_ready(provider: OIDCProvider, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if provider.process.poll() is not None:
                raise OIDCProviderError(
                    f"the test IdP exited with status {provider.process.returncode}:\n"
                    + provider.log()[-3000:]
                )
            try:
                response = client.get(f"{provider.issuer}/.well-known/openid-configuration")
            except httpx.TransportError:
                pass
            else:
                if response.status_code == 200:
                    provider.discovery  # noqa: B018 - cache it
                    return
            time.sleep(0.05)
    raise OIDCProviderError(
        f"the test IdP did not answer within {timeout:g} s:\n" + provider.log()[-3000:]
    )


def _require_oauth_toolkit() -> None:
    pytest.importorskip(
        "oauth2_provider",
        reason="the OIDC tests need django-oauth-toolkit (pip install -e '.[dev]')",
    )


@pytest.fixture(scope="session")
def oidc_provider_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., OIDCProvider]]:
    """``factory(access_token_lifetime=30, redirect_uris=(), token_delay=0.0)``: start another
    test IdP (see :func:`start_oidc_provider`).

    Every provider started is stopped at the end of the session.
    """
    _require_oauth_toolkit()
    started: list[OIDCProvider] = []

    def factory(
        *,
        access_token_lifetime: int = 30,
        redirect_uris: Sequence[str] = (),
        token_delay: float = 0.0,
    ) -> OIDCProvider:
        provider = start_oidc_provider(
            tmp_path_factory.mktemp("oidc-idp"),
            access_token_lifetime=access_token_lifetime,
            redirect_uris=redirect_uris,
            token_delay=token_delay,
        )
        started.append(provider)
        return provider

    try:
        yield factory
    finally:
        for provider in started:
            provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(oidc_provider_factory: Callable[..., OIDCProvider]) -> OIDCProvider:
    """The session's test IdP; access tokens live 30 s (or ``$ACCESS_TOKEN_EXPIRE_SECONDS``)."""
    lifetime = int(os.environ.get("ACCESS_TOKEN_EXPIRE_SECONDS", "30"))
    return oidc_provider_factory(access_token_lifetime=lifetime)


def configure_relying_party(settings: Any, idp: OIDCProvider, api_url: str) -> None:
    """Django settings of a relying party (mozilla-django-oidc + janitor_site_django.auth) that
    logs users in at ``idp`` and calls the API at ``api_url`` with their tokens only."""
    settings.JANITOR_SITE_URL = api_url
    settings.JANITOR_SITE_API_TOKEN = None
    settings.AUTHENTICATION_BACKENDS = [
        "janitor_site_django.auth.backends.OIDCAuthenticationBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    settings.OIDC_RP_CLIENT_ID = idp.client_id
    settings.OIDC_RP_CLIENT_SECRET = idp.client_secret
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = idp.endpoint("authorization_endpoint")
    settings.OIDC_OP_TOKEN_ENDPOINT = idp.endpoint("token_endpoint")
    settings.OIDC_OP_USER_ENDPOINT = idp.endpoint("userinfo_endpoint")
    settings.OIDC_OP_JWKS_ENDPOINT = idp.endpoint("jwks_uri")
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_USE_PKCE = True
    settings.OIDC_STORE_ACCESS_TOKEN = True
    settings.OIDC_STORE_ID_TOKEN = True
    settings.LOGIN_REDIRECT_URL = "/whoami/"
    settings.LOGOUT_REDIRECT_URL = "/whoami/"
