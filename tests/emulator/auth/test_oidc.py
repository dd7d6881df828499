"""Bearer tokens checked with a real OIDC provider on loopback: opaque tokens, JWTs, caching."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from janitor_site_emulator.auth import ROLES, Authenticator, Principal, oidc
from janitor_site_emulator.auth.fetch import Answer, Unreachable, Unusable
from janitor_site_emulator.auth.oidc import jwt_header
from janitor_site_emulator.config import EmulatorConfig
from janitor_site_emulator.errors import ApiError

from .support import (
    FakeClock,
    Keys,
    Provider,
    assert_invalid_token,
    b64url,
    expect_error,
    free_port,
    jwt_claims,
    raw_server,
    sign,
)

pytestmark = pytest.mark.anyio


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


async def test_timeout_is_unavailable(provider: Provider) -> None:
    provider.opaque["opaque-1"] = {"sub": "u-1"}
    provider.delay["/userinfo"] = 1.0
    config = EmulatorConfig(oidc_issuer_url=provider.issuer, service_timeout=0.2)
    authenticator = Authenticator(config)
    error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.code, error.details) == (503, "unavailable", {"service": "oidc"})


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


async def test_protocol_error_is_upstream_error() -> None:
    with raw_server(b"SPDY/9 what is this\r\n\r\n") as url:
        authenticator = Authenticator(EmulatorConfig(oidc_issuer_url=url, service_timeout=2))
        error = await expect_error(authenticator, "Bearer opaque-1")
    assert (error.status, error.details) == (502, {"service": "oidc", "status": None})


async def test_fetch_is_injectable_and_gets_the_service_timeout() -> None:
    seen: list[tuple[str, dict[str, str], float]] = []

    def fetch(url: str, headers: Mapping[str, str], timeout: float) -> Answer:
        seen.append((url, dict(headers), timeout))
        if url.endswith("/.well-known/openid-configuration"):
            return Answer(200, b'{"userinfo_endpoint": "https://idp.example/userinfo"}')
        return Answer(200, b'{"sub": "u-7"}')

    config = EmulatorConfig(oidc_issuer_url="https://idp.example", service_timeout=3.5)
    principal = await Authenticator(config, fetch=fetch).authenticate("Bearer opaque-1", None)
    assert principal is not None and principal.sub == "u-7"
    accept = {"Accept": "application/json"}
    assert seen == [
        ("https://idp.example/.well-known/openid-configuration", accept, 3.5),
        ("https://idp.example/userinfo", {**accept, "Authorization": "Bearer opaque-1"}, 3.5),
    ]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Unreachable("TimeoutError"), (503, "unavailable", {"service": "oidc"})),
        (Unusable("BadStatusLine"), (502, "upstream_error", {"service": "oidc", "status": None})),
    ],
)
async def test_fetch_failures(failure: Exception, expected: tuple[int, str, Any]) -> None:
    def fetch(url: str, headers: Mapping[str, str], timeout: float) -> Answer:
        raise failure

    config = EmulatorConfig(oidc_issuer_url="https://idp.example")
    error = await expect_error(Authenticator(config, fetch=fetch), "Bearer opaque-1")
    assert (error.status, error.code, error.details) == expected


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
    entry = authenticator._oidc._cache.get(oidc._token_key(token))
    assert entry is not None and entry.expires == exp


async def test_cache_is_keyed_by_hash_and_bounded(clock: FakeClock) -> None:
    cache = oidc._TokenCache(clock, size=3)
    for index in range(5):
        cache.put(f"key-{index}", {"sub": str(index)}, None)
    assert len(cache) == 3
    assert cache.get("key-0") is None and cache.get("key-1") is None
    assert cache.get("key-4") is not None
    assert oidc._token_key("secret") == (
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
    assert all(secret not in key for key in authenticator._oidc._cache._entries)


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
    ("claim", "offset", "valid"),
    [
        ("exp", -61, False),
        ("exp", -59, True),
        ("exp", -3600, False),
        ("exp", 1, True),
        ("nbf", 61, False),
        ("nbf", 59, True),
        ("nbf", -10, True),
    ],
)
async def test_jwt_exp_and_nbf_with_leeway(
    authenticator: Authenticator,
    provider: Provider,
    clock: FakeClock,
    keys: Keys,
    claim: str,
    offset: int,
    valid: bool,
) -> None:
    token = sign(keys.main, jwt_claims(provider, clock, **{claim: int(clock.now) + offset}))
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


async def test_audience_when_configured(provider: Provider, clock: FakeClock, keys: Keys) -> None:
    config = EmulatorConfig(oidc_issuer_url=provider.issuer)
    authenticator = Authenticator(config, clock=clock, audience="janitor")
    good = sign(keys.main, jwt_claims(provider, clock, aud=["other", "janitor"]))
    bad = sign(keys.main, jwt_claims(provider, clock, aud="other"))
    assert await authenticator.authenticate(f"Bearer {good}", None) is not None
    assert_invalid_token(await expect_error(authenticator, f"Bearer {bad}"))


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
