"""Tests for the emulator's authentication (§3), against a real OIDC provider on loopback."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from janitor_site_emulator import auth
from janitor_site_emulator.auth import (
    ROLES,
    Authenticator,
    Principal,
    groups_from_claims,
    jwt_header,
    make_principal,
    require_role,
    roles_for,
    session_claims,
)
from janitor_site_emulator.config import EmulatorConfig, StaticToken
from janitor_site_emulator.errors import ApiError
from janitor_site_emulator.schema import create_engine, create_schema, site_session

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# A real OIDC provider ------------------------------------------------------------------------


@dataclasses.dataclass
class Provider:
    """State of the test identity provider; reset for every test."""

    issuer: str = ""
    opaque: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    jwks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    calls: dict[str, int] = dataclasses.field(default_factory=dict)
    seen_authorization: list[str] = dataclasses.field(default_factory=list)
    #: path -> (status, raw body) answered instead of the normal response
    override: dict[str, tuple[int, bytes]] = dataclasses.field(default_factory=dict)
    #: path -> seconds to wait before answering
    delay: dict[str, float] = dataclasses.field(default_factory=dict)
    discovery_omit: tuple[str, ...] = ()

    def reset(self, jwks: list[dict[str, Any]]) -> None:
        self.opaque = {}
        self.jwks = list(jwks)
        self.calls = {}
        self.seen_authorization = []
        self.override = {}
        self.delay = {}
        self.discovery_omit = ()


def provider_app(provider: Provider) -> Starlette:
    async def answer(request: Request, normal: Any) -> Response:
        path = request.url.path
        provider.calls[path] = provider.calls.get(path, 0) + 1
        if path in provider.delay:
            await asyncio.sleep(provider.delay[path])
        if path in provider.override:
            status, body = provider.override[path]
            return Response(body, status_code=status, media_type="application/json")
        return normal if isinstance(normal, Response) else JSONResponse(normal)

    async def discovery(request: Request) -> Response:
        document = {
            "issuer": provider.issuer,
            "userinfo_endpoint": provider.issuer + "/userinfo",
            "jwks_uri": provider.issuer + "/jwks",
        }
        for name in provider.discovery_omit:
            document.pop(name)
        return await answer(request, document)

    async def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        provider.seen_authorization.append(header)
        claims = provider.opaque.get(header.removeprefix("Bearer "))
        if claims is None:
            return await answer(request, JSONResponse({"error": "invalid_token"}, 401))
        return await answer(request, claims)

    async def jwks(request: Request) -> Response:
        return await answer(request, {"keys": provider.jwks})

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/userinfo", userinfo),
            Route("/jwks", jwks),
        ]
    )


@dataclasses.dataclass(frozen=True)
class Keys:
    main: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey

    def jwks(self) -> list[dict[str, Any]]:
        rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.main.public_key(), as_dict=True)
        ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        return [{**rsa_jwk, "kid": "k1", "use": "sig"}, {**ec_jwk, "kid": "ec1"}]

    def other_jwk(self, kid: str) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.other.public_key(), as_dict=True)
        return {**jwk, "kid": kid}


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        main=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        other=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_key=ec.generate_private_key(ec.SECP256R1()),
    )


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[Provider]:
    """Serve the provider with uvicorn on a free loopback port, in a background thread."""
    provider = Provider()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(provider_app(provider), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "provider did not start"
        time.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive()


@pytest.fixture
def provider(oidc_server: Provider, keys: Keys) -> Provider:
    oidc_server.reset(keys.jwks())
    return oidc_server


class FakeClock:
    """An injectable wall clock that only moves when told."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def authenticator(provider: Provider, clock: FakeClock) -> AsyncIterator[Authenticator]:
    config = EmulatorConfig(
        oidc_issuer_url=provider.issuer,
        static_tokens=(StaticToken("static-admin", "root", ("admins", "ops")),),
        admin_group="admins",
        qa_reviewer_group="qa",
        service_timeout=2.0,
    )
    authenticator = Authenticator(config, clock=clock)
    yield authenticator
    await authenticator.aclose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def expect_error(
    authenticator: Authenticator, header: str | None, cookie: str | None = None
) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await authenticator.authenticate(header, cookie)
    return caught.value


def assert_invalid_token(error: ApiError) -> None:
    assert (error.status, error.code) == (401, "invalid_token")
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert error.details is None


def sign(key: Any, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = "k1") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def jwt_claims(provider: Provider, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    claims = {
        "iss": provider.issuer,
        "sub": "u-1",
        "exp": int(clock.now) + 300,
        "iat": int(clock.now),
        "email": "alice@example.org",
        "groups": ["staff"],
    }
    claims.update(extra)
    return {key: value for key, value in claims.items() if value is not None}


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# Header syntax and static tokens ------------------------------------------------------------


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
    await authenticator.aclose()


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
    await authenticator.aclose()


async def test_padding_characters_allowed_at_the_end(authenticator: Authenticator) -> None:
    authenticator_config = EmulatorConfig(static_tokens=(StaticToken("a+b/c~d.e_f-g==", "x"),))
    local = Authenticator(authenticator_config)
    principal = await local.authenticate("Bearer a+b/c~d.e_f-g==", None)
    assert principal is not None and principal.sub == "x"
    await local.aclose()


# Opaque tokens ------------------------------------------------------------------------------


async def test_opaque_token_valid(authenticator: Authenticator, provider: Provider) -> None:
    provider.opaque["opaque-1"] = {
        "sub": "u-42",
        "email": "bob@example.org",
        "name": "Bob",
        "preferred_username": "bob",
        "groups": ["qa"],
        "locale": "en",
    }
    principal = await authenticator.authenticate("Bearer opaque-1", None)
    assert principal is not None
    assert principal.claims["locale"] == "en"
    assert principal.roles == ("User", "QaReviewer")
    assert principal.auth_method == "bearer"
    assert provider.seen_authorization == ["Bearer opaque-1"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429])
async def test_opaque_token_rejected_by_userinfo(
    authenticator: Authenticator, provider: Provider, status: int
) -> None:
    provider.override["/userinfo"] = (status, b'{"error":"nope"}')
    assert_invalid_token(await expect_error(authenticator, "Bearer opaque-1"))


async def test_opaque_token_unknown(authenticator: Authenticator, provider: Provider) -> None:
    assert_invalid_token(await expect_error(authenticator, "Bearer nobody-knows-me"))
    assert provider.calls["/userinfo"] == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"sub":"x"}'),
        (503, b""),
        (200, b"<html>not json</html>"),
        (200, b'["sub"]'),
        (200, b'{"email":"no-sub@example.org"}'),
        (200, b'{"sub":42}'),
        (204, b""),
        (302, b""),
    ],
)
async def test_opaque_token_bad_userinfo_answer_is_upstream_error(
    authenticator: Authenticator, provider: Provider, status: int, body: bytes
) -> None:
    provider.override["/userinfo"] = (status, body)
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.code) == (502, "upstream_error")
    assert error.details == {"service": "oidc", "status": status}


async def test_upstream_errors_are_not_cached(
    authenticator: Authenticator, provider: Provider
) -> None:
    provider.opaque["opaque-1"] = {"sub": "u-1"}
    provider.override["/userinfo"] = (500, b"")
    assert (await expect_error(authenticator, "Bearer opaque-1")).status == 502
    del provider.override["/userinfo"]
    assert await authenticator.authenticate("Bearer opaque-1", None) is not None


async def test_unreachable_issuer_is_unavailable() -> None:
    config = EmulatorConfig(oidc_issuer_url=f"http://127.0.0.1:{free_port()}", service_timeout=2)
    authenticator = Authenticator(config)
    for token in ("opaque-1", "a.b.c"):
        error = await expect_error(authenticator, f"Bearer {token}")
        assert (error.status, error.code) == (503, "unavailable")
        assert error.details == {"service": "oidc"}
        assert error.headers["Retry-After"]
    await authenticator.aclose()


async def test_timeout_is_unavailable(provider: Provider) -> None:
    provider.opaque["opaque-1"] = {"sub": "u-1"}
    provider.delay["/userinfo"] = 1.0
    config = EmulatorConfig(oidc_issuer_url=provider.issuer, service_timeout=0.2)
    authenticator = Authenticator(config)
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.code, error.details) == (503, "unavailable", {"service": "oidc"})
    await authenticator.aclose()


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"{}"), (404, b"{}"), (200, b"garbage"), (200, b"[]"), (200, b'"text"')],
)
async def test_bad_discovery_is_upstream_error(
    authenticator: Authenticator, provider: Provider, status: int, body: bytes
) -> None:
    provider.override["/.well-known/openid-configuration"] = (status, body)
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.details) == (502, {"service": "oidc", "status": status})


async def test_discovery_without_userinfo_endpoint(
    authenticator: Authenticator, provider: Provider
) -> None:
    provider.discovery_omit = ("userinfo_endpoint",)
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.details) == (502, {"service": "oidc", "status": 200})


async def test_discovery_is_cached(authenticator: Authenticator, provider: Provider) -> None:
    provider.opaque.update({"t1": {"sub": "a"}, "t2": {"sub": "b"}})
    await authenticator.authenticate("Bearer t1", None)
    await authenticator.authenticate("Bearer t2", None)
    assert provider.calls == {"/.well-known/openid-configuration": 1, "/userinfo": 2}


async def test_issuer_with_trailing_slash(provider: Provider) -> None:
    provider.opaque["t1"] = {"sub": "a"}
    authenticator = Authenticator(EmulatorConfig(oidc_issuer_url=provider.issuer + "/"))
    assert await authenticator.authenticate("Bearer t1", None) is not None
    assert provider.calls["/.well-known/openid-configuration"] == 1
    await authenticator.aclose()


async def test_protocol_error_is_upstream_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("malformed answer", request=request)

    config = EmulatorConfig(oidc_issuer_url="http://idp.invalid")
    authenticator = Authenticator(config, transport=httpx.MockTransport(handler))
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.details) == (502, {"service": "oidc", "status": None})
    await authenticator.aclose()


# Caching ------------------------------------------------------------------------------------


async def test_positive_result_cached_for_60_seconds(
    authenticator: Authenticator, provider: Provider, clock: FakeClock
) -> None:
    provider.opaque["opaque-1"] = {"sub": "u-1"}
    await authenticator.authenticate("Bearer opaque-1", None)
    clock.advance(59)
    await authenticator.authenticate("Bearer opaque-1", None)
    assert provider.calls["/userinfo"] == 1
    clock.advance(2)
    del provider.opaque["opaque-1"]
    assert_invalid_token(await expect_error(authenticator, "Bearer opaque-1"))
    assert provider.calls["/userinfo"] == 2


async def test_negative_result_cached_for_60_seconds(
    authenticator: Authenticator, provider: Provider, clock: FakeClock
) -> None:
    assert_invalid_token(await expect_error(authenticator, "Bearer opaque-1"))
    provider.opaque["opaque-1"] = {"sub": "u-1"}
    clock.advance(30)
    assert_invalid_token(await expect_error(authenticator, "Bearer opaque-1"))
    assert provider.calls["/userinfo"] == 1
    clock.advance(31)
    assert await authenticator.authenticate("Bearer opaque-1", None) is not None
    assert provider.calls["/userinfo"] == 2


async def test_cache_never_outlives_known_exp(
    authenticator: Authenticator, provider: Provider, clock: FakeClock
) -> None:
    provider.opaque["opaque-1"] = {"sub": "u-1", "exp": clock.now + 10}
    await authenticator.authenticate("Bearer opaque-1", None)
    clock.advance(9)
    await authenticator.authenticate("Bearer opaque-1", None)
    assert provider.calls["/userinfo"] == 1
    clock.advance(2)
    await authenticator.authenticate("Bearer opaque-1", None)
    assert provider.calls["/userinfo"] == 2


async def test_jwt_cache_entry_ends_at_exp(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    exp = int(clock.now) + 20
    token = sign(keys.main, jwt_claims(provider, clock, exp=exp))
    await authenticator.authenticate(f"Bearer {token}", None)
    entry = authenticator._cache.get(auth._token_key(token))
    assert entry is not None and entry.expires == exp


async def test_cache_is_keyed_by_hash_and_bounded(clock: FakeClock) -> None:
    cache = auth._TokenCache(clock, size=3)
    for index in range(5):
        cache.put(f"key-{index}", {"sub": str(index)}, None)
    assert len(cache) == 3
    assert cache.get("key-0") is None and cache.get("key-1") is None
    assert cache.get("key-4") is not None
    assert auth._token_key("secret") == (
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    )


async def test_tokens_are_never_logged_or_stored(
    authenticator: Authenticator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "very-secret-opaque-token"
    provider.override["/userinfo"] = (500, b"")
    await expect_error(authenticator, f"Bearer {secret}")
    del provider.override["/userinfo"]
    await expect_error(authenticator, f"Bearer {secret}")
    assert secret not in caplog.text
    assert all(secret not in key for key in authenticator._cache._entries)


# JWTs ---------------------------------------------------------------------------------------


async def test_jwt_valid(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock, groups=["admins"]))
    principal = await authenticator.authenticate(f"Bearer {token}", "ignored-cookie")
    assert principal is not None
    assert principal.sub == "u-1"
    assert principal.email == "alice@example.org"
    assert principal.roles == ROLES
    assert principal.auth_method == "bearer"
    assert "/userinfo" not in provider.calls
    assert provider.calls["/jwks"] == 1


@pytest.mark.parametrize("alg", ["RS256", "RS512", "PS256"])
async def test_jwt_rsa_algorithms(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys, alg: str
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock), alg=alg)
    assert await authenticator.authenticate(f"Bearer {token}", None) is not None


async def test_jwt_ec_key(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    token = sign(keys.ec_key, jwt_claims(provider, clock), alg="ES256", kid="ec1")
    assert await authenticator.authenticate(f"Bearer {token}", None) is not None


async def test_jwt_without_kid_tries_every_key(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    token = sign(keys.ec_key, jwt_claims(provider, clock), alg="ES256", kid=None)
    assert await authenticator.authenticate(f"Bearer {token}", None) is not None


@pytest.mark.parametrize(
    ("offset", "valid"), [(-61, False), (-59, True), (-3600, False), (1, True)]
)
async def test_jwt_exp_with_leeway(
    authenticator: Authenticator,
    provider: Provider,
    clock: FakeClock,
    keys: Keys,
    offset: int,
    valid: bool,
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock, exp=int(clock.now) + offset))
    if valid:
        assert await authenticator.authenticate(f"Bearer {token}", None) is not None
    else:
        assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


@pytest.mark.parametrize(("offset", "valid"), [(61, False), (59, True), (-10, True)])
async def test_jwt_nbf_with_leeway(
    authenticator: Authenticator,
    provider: Provider,
    clock: FakeClock,
    keys: Keys,
    offset: int,
    valid: bool,
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock, nbf=int(clock.now) + offset))
    if valid:
        assert await authenticator.authenticate(f"Bearer {token}", None) is not None
    else:
        assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


@pytest.mark.parametrize(
    "change",
    [
        {"exp": None},
        {"exp": "tomorrow"},
        {"exp": True},
        {"nbf": "now"},
        {"sub": None},
        {"sub": 7},
        {"iss": None},
        {"iss": "http://evil.example"},
        {"iss": "ISSUER+/"},
    ],
)
async def test_jwt_bad_claims(
    authenticator: Authenticator,
    provider: Provider,
    clock: FakeClock,
    keys: Keys,
    change: dict[str, Any],
) -> None:
    if change.get("iss") == "ISSUER+/":
        change = {"iss": provider.issuer + "/"}
    claims = jwt_claims(provider, clock)
    claims.update(change)
    claims = {key: value for key, value in claims.items() if value is not None}
    token = sign(keys.main, claims)
    assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


async def test_jwt_alg_none_rejected(
    authenticator: Authenticator, provider: Provider, clock: FakeClock
) -> None:
    for alg in ("none", "None", "NONE"):
        token = f"{b64url({'alg': alg, 'typ': 'JWT'})}.{b64url(jwt_claims(provider, clock))}."
        assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))
    assert "/userinfo" not in provider.calls  # recognised as a JWT, not sent to userinfo


async def test_jwt_hs256_rejected(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    public_pem = keys.main.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt_claims(provider, clock)
    # A classic confusion attack: the public key used as an HMAC secret.
    confused = jwt.api_jws.PyJWS()
    confused._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    tokens = [
        sign(b"a-shared-secret-of-at-least-32-bytes!", claims, alg="HS256"),
        confused.encode(json.dumps(claims).encode(), public_pem, "HS256", {"kid": "k1"}),
    ]
    provider.jwks.append({"kty": "oct", "k": "c2VjcmV0", "kid": "k1"})
    for token in tokens:
        assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


async def test_jwt_bad_signature(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    token = sign(keys.other, jwt_claims(provider, clock), kid="k1")
    assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))
    header, _payload, signature = sign(keys.main, jwt_claims(provider, clock)).split(".")
    tampered = b64url({**jwt_claims(provider, clock), "groups": ["admins"]})
    assert_invalid_token(
        await expect_error(authenticator, f"Bearer {header}.{tampered}.{signature}")
    )


async def test_jwt_key_alg_must_match(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    provider.jwks[0]["alg"] = "RS512"
    token = sign(keys.main, jwt_claims(provider, clock), alg="RS256")
    assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))


async def test_unknown_kid_refetches_at_most_once_per_minute(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    async def attempt(index: int) -> Principal | None:
        claims = jwt_claims(provider, clock, sub=f"u-{index}")
        token = sign(keys.other, claims, kid="k2")
        try:
            return await authenticator.authenticate(f"Bearer {token}", None)
        except ApiError as error:
            assert_invalid_token(error)
            return None

    known = sign(keys.main, jwt_claims(provider, clock))
    await authenticator.authenticate(f"Bearer {known}", None)
    assert provider.calls["/jwks"] == 1
    clock.advance(60)
    assert await attempt(1) is None
    assert provider.calls["/jwks"] == 2
    clock.advance(30)
    provider.jwks.append(keys.other_jwk("k2"))  # rotated in, but we may not refetch yet
    assert await attempt(2) is None
    assert provider.calls["/jwks"] == 2
    clock.advance(31)
    assert await attempt(3) is not None
    assert await attempt(4) is not None
    assert provider.calls["/jwks"] == 3


async def test_jwks_errors(
    authenticator: Authenticator, provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock))
    for status, body in ((500, b"{}"), (200, b"nope"), (200, b'{"keys": {}}')):
        provider.override["/jwks"] = (status, body)
        error = await expect_error(authenticator, f"Bearer {token}")
        assert (error.status, error.details) == (502, {"service": "oidc", "status": status})


async def test_jwt_without_oidc_is_invalid(
    provider: Provider, clock: FakeClock, keys: Keys
) -> None:
    authenticator = Authenticator(EmulatorConfig())
    token = sign(keys.main, jwt_claims(provider, clock))
    assert_invalid_token(await expect_error(authenticator, f"Bearer {token}"))
    await authenticator.aclose()


async def test_audience_when_configured(provider: Provider, clock: FakeClock, keys: Keys) -> None:
    config = EmulatorConfig(oidc_issuer_url=provider.issuer)
    authenticator = Authenticator(config, clock=clock, audience="janitor")
    good = sign(keys.main, jwt_claims(provider, clock, aud=["other", "janitor"]))
    bad = sign(keys.main, jwt_claims(provider, clock, aud="other"))
    assert await authenticator.authenticate(f"Bearer {good}", None) is not None
    assert_invalid_token(await expect_error(authenticator, f"Bearer {bad}"))
    await authenticator.aclose()


def test_jwt_detection() -> None:
    header = b64url({"alg": "RS256", "kid": "k"})
    assert jwt_header(f"{header}.e30.sig") == {"alg": "RS256", "kid": "k"}
    assert jwt_header(f"{header}.e30.") == {"alg": "RS256", "kid": "k"}
    assert jwt_header(f"{b64url({'typ': 'JWT'})}.e30.sig") is None  # no alg
    assert jwt_header(f"{b64url({'alg': 'x'})}.e30") is None  # two segments
    assert jwt_header(f"{header}.e30.sig.more") is None
    assert jwt_header(f"{header}.e3+0.sig") is None  # not base64url
    assert jwt_header(f"{header}=.e30.sig") is None
    assert jwt_header("abc.def.ghi") is None  # does not decode to JSON
    assert jwt_header(f"{base64.urlsafe_b64encode(b'[1]').decode()}.e30.x") is None
    assert jwt_header("a.b.c") is None  # invalid base64 length


async def test_opaque_token_with_dots(authenticator: Authenticator, provider: Provider) -> None:
    provider.opaque["abc.def.ghi"] = {"sub": "dotted"}
    principal = await authenticator.authenticate("Bearer abc.def.ghi", None)
    assert principal is not None and principal.sub == "dotted"


# Groups, roles, requester, User -------------------------------------------------------------


def test_groups_from_arrays_and_strings() -> None:
    claims = {
        "groups": ["b", "a", 3, None, {"x": 1}, ["nested"], "a"],
        "memberOf": "c d,e , ,f,,g",
        "roles": "Admin admin",
        "authorities": ["h i"],
        "other": ["ignored"],
    }
    assert groups_from_claims(claims) == (
        "Admin",
        "a",
        "admin",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h i",
    )


@pytest.mark.parametrize("value", [None, 7, True, {"a": 1}, "", " , ", []])
def test_groups_ignore_other_shapes(value: Any) -> None:
    assert groups_from_claims({"groups": value}) == ()


@pytest.mark.parametrize(
    ("groups", "admin", "qa", "expected"),
    [
        ((), None, None, ("User", "QaReviewer", "Admin")),
        (("x",), "admins", None, ("User", "QaReviewer")),
        (("x",), None, "qa", ("User", "QaReviewer", "Admin")),
        (("admins",), "admins", "qa", ("User", "QaReviewer", "Admin")),
        (("qa",), "admins", "qa", ("User", "QaReviewer")),
        (("x",), "admins", "qa", ("User",)),
        (("Admins",), "admins", "qa", ("User",)),
    ],
)
def test_roles(
    groups: tuple[str, ...], admin: str | None, qa: str | None, expected: tuple[str, ...]
) -> None:
    assert roles_for(groups, admin, qa) == expected
    config = EmulatorConfig(admin_group=admin, qa_reviewer_group=qa)
    principal = make_principal({"sub": "s", "groups": list(groups)}, "bearer", config)
    assert principal.roles == expected
    assert principal.is_admin == ("Admin" in expected)
    assert principal.is_qa_reviewer == ("QaReviewer" in expected)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "s", "email": "e@x", "preferred_username": "p", "name": "n"}, "e@x"),
        ({"sub": "s", "preferred_username": "p", "name": "n"}, "p"),
        ({"sub": "s", "email": 5, "name": "n"}, "n"),
        ({"sub": "s", "email": "", "preferred_username": None}, "s"),
        ({"sub": "s"}, "s"),
    ],
)
def test_requester(claims: dict[str, Any], expected: str) -> None:
    assert make_principal(claims, "bearer", EmulatorConfig()).requester == expected


def test_user_json() -> None:
    config = EmulatorConfig(admin_group="janitor-admins", qa_reviewer_group="qa")
    claims = {
        "sub": "2c1f",
        "email": "alice@example.org",
        "name": "Alice",
        "preferred_username": "alice",
        "groups": ["staff", "janitor-admins", "staff"],
        "extra": True,
    }
    user = make_principal(claims, "bearer", config).user_json()
    assert json.dumps(user, separators=(",", ":")) == (
        '{"sub":"2c1f","email":"alice@example.org","name":"Alice","preferred_username":"alice",'
        '"groups":["janitor-admins","staff"],"roles":["User","QaReviewer","Admin"],'
        '"is_admin":true,"is_qa_reviewer":true,"auth_method":"bearer"}'
    )
    minimal = make_principal({"sub": "s", "email": ["x"]}, "session", config).user_json()
    assert minimal == {
        "sub": "s",
        "email": None,
        "name": None,
        "preferred_username": None,
        "groups": [],
        "roles": ["User"],
        "is_admin": False,
        "is_qa_reviewer": False,
        "auth_method": "session",
    }


def test_require_role() -> None:
    config = EmulatorConfig(admin_group="admins", qa_reviewer_group="qa")
    user = make_principal({"sub": "s", "groups": "qa"}, "bearer", config)
    require_role(user, "User")
    require_role(user, "QaReviewer")
    with pytest.raises(ApiError) as caught:
        require_role(user, "Admin")
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert caught.value.details == {"required_role": "Admin"}
    with pytest.raises(ApiError) as caught:
        require_role(None, "User")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}
    with pytest.raises(ValueError):
        require_role(user, "Superuser")


# Session cookies ----------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'sessions.sqlite3'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def add_session(engine: Engine, session_id: str, age: dt.timedelta, userinfo: Any) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    text = userinfo if isinstance(userinfo, str) or userinfo is None else json.dumps(userinfo)
    with engine.begin() as connection:
        connection.execute(
            site_session.insert().values(id=session_id, timestamp=now - age, userinfo=text)
        )


@pytest.fixture
async def session_auth(engine: Engine) -> AsyncIterator[Authenticator]:
    config = EmulatorConfig(admin_group="admins", qa_reviewer_group="qa")
    authenticator = Authenticator(config, engine)
    yield authenticator
    await authenticator.aclose()


async def test_session_python_format(engine: Engine, session_auth: Authenticator) -> None:
    claims = {"sub": "u-9", "email": "py@example.org", "groups": ["qa"]}
    add_session(engine, "s-py", dt.timedelta(hours=1), claims)
    principal = await session_auth.authenticate(None, "s-py")
    assert principal is not None
    assert principal.auth_method == "session"
    assert principal.email == "py@example.org"
    assert principal.roles == ("User", "QaReviewer")


async def test_session_rust_format(engine: Engine, session_auth: Authenticator) -> None:
    userinfo = {
        "user": {"sub": "u-8", "preferred_username": "rusty", "groups": "admins staff"},
        "created_at": "2024-01-01T00:00:00Z",
        "last_activity": "2024-01-01T00:00:00Z",
    }
    add_session(engine, "s-rs", dt.timedelta(days=6, hours=23), userinfo)
    principal = await session_auth.authenticate(None, "s-rs")
    assert principal is not None
    assert principal.user_json()["preferred_username"] == "rusty"
    assert principal.groups == ("admins", "staff")
    assert principal.is_admin


async def test_session_expired_unknown_or_broken_is_anonymous(
    engine: Engine, session_auth: Authenticator
) -> None:
    add_session(engine, "old", dt.timedelta(days=7, minutes=1), {"sub": "u"})
    add_session(engine, "garbage", dt.timedelta(0), "{not json")
    add_session(engine, "null", dt.timedelta(0), None)
    add_session(engine, "no-sub", dt.timedelta(0), {"user": {"email": "x@y"}})
    add_session(engine, "list", dt.timedelta(0), [1, 2])
    for cookie in ("old", "garbage", "null", "no-sub", "list", "unknown", ""):
        assert await session_auth.authenticate(None, cookie) is None


async def test_session_clock_is_injectable(engine: Engine, clock: FakeClock) -> None:
    add_session(engine, "s", dt.timedelta(0), {"sub": "u"})
    authenticator = Authenticator(EmulatorConfig(), engine, clock=clock)
    assert await authenticator.authenticate(None, "s") is not None
    clock.advance(7 * 86400 + 60)
    assert await authenticator.authenticate(None, "s") is None


async def test_bearer_wins_over_cookie(
    engine: Engine, session_auth: Authenticator, provider: Provider
) -> None:
    add_session(engine, "s-ok", dt.timedelta(0), {"sub": "cookie-user"})
    config = EmulatorConfig(static_tokens=(StaticToken("tok", "token-user"),))
    authenticator = Authenticator(config, engine)
    principal = await authenticator.authenticate("Bearer tok", "s-ok")
    assert principal is not None and principal.auth_method == "bearer"
    assert principal.sub == "token-user"
    assert_invalid_token(await expect_error(authenticator, "Basic abc", "s-ok"))
    assert_invalid_token(await expect_error(authenticator, "", "s-ok"))
    await authenticator.aclose()


async def test_session_without_engine_is_anonymous() -> None:
    authenticator = Authenticator(EmulatorConfig())
    assert await authenticator.authenticate(None, "anything") is None


async def test_session_database_failure_is_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no schema
    authenticator = Authenticator(EmulatorConfig(), engine)
    error = await expect_error(authenticator, None, "s")
    assert (error.status, error.details) == (503, {"service": "database"})
    engine.dispose()


def test_session_claims() -> None:
    assert session_claims('{"sub":"a"}') == {"sub": "a"}
    assert session_claims('{"user":{"sub":"b"},"created_at":1}') == {"sub": "b"}
    assert session_claims('{"user":"x","sub":"c"}') == {"user": "x", "sub": "c"}
    assert session_claims("") is None
    assert session_claims("[]") is None


# Lifecycle ----------------------------------------------------------------------------------


async def test_aclose(authenticator: Authenticator, provider: Provider) -> None:
    provider.opaque["t"] = {"sub": "s"}
    await authenticator.authenticate("Bearer t", None)
    client = authenticator._client
    assert client is not None
    await authenticator.aclose()
    assert client.is_closed
    await authenticator.aclose()
    authenticator._cache._entries.clear()
    assert await authenticator.authenticate("Bearer t", None) is not None  # reopens lazily
