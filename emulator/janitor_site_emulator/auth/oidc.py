"""Bearer tokens checked with the OIDC issuer (§3.2): JWTs against its JWKS, opaque tokens at
its userinfo endpoint.

Results, positive or negative, are cached for 60 s by the SHA-256 of the token (never the
token itself); tokens are never logged. The issuer is reached through a :data:`.fetch.Fetch`
run in a worker thread; no answer is 503 ``unavailable``, a broken one 502 ``upstream_error``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio.to_thread
import jwt

from ..errors import ApiError, invalid_token, unavailable, upstream_error
from .fetch import Answer, Fetch, Unreachable, Unusable

logger = logging.getLogger(__name__)

#: Seconds a token validation result (positive or negative) is kept at most.
TOKEN_CACHE_SECONDS = 60.0
#: Most token validation results kept; the oldest are evicted first.
TOKEN_CACHE_SIZE = 10_000
#: Leeway for ``exp`` and ``nbf``, in seconds.
CLOCK_LEEWAY_SECONDS = 60.0
#: An unknown ``kid`` refetches the JWKS at most once per this many seconds.
JWKS_REFETCH_SECONDS = 60.0
#: Seconds the discovery document and the JWKS are reused before being fetched again.
METADATA_MAX_AGE_SECONDS = 3600.0

#: Signature algorithms accepted for JWTs: asymmetric only (``none`` and ``HS*`` rejected).
JWT_ALGORITHMS = frozenset(
    ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
    + ("ES256K", "EdDSA")
) & frozenset(jwt.algorithms.get_default_algorithms())

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_OIDC = "oidc"


def jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header when ``token`` is a JWT by §3.2's rule, else ``None`` (opaque)."""
    segments = token.split(".")
    if len(segments) != 3 or not all(_BASE64URL.fullmatch(s) for s in segments):
        return None
    try:
        raw = base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return header if isinstance(header, dict) and "alg" in header else None


def _number(value: Any) -> float | None:
    """A JSON number claim as a float; None for anything else (booleans included)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclasses.dataclass
class _Cached:
    expires: float
    claims: Mapping[str, Any] | None


class _TokenCache:
    """Validation results by token hash: bounded, time-limited, oldest evicted first."""

    def __init__(self, clock: Callable[[], float], size: int = TOKEN_CACHE_SIZE) -> None:
        self._clock = clock
        self._size = size
        self._entries: collections.OrderedDict[str, _Cached] = collections.OrderedDict()

    def get(self, key: str) -> _Cached | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires <= self._clock():
            del self._entries[key]
            return None
        return entry

    def put(self, key: str, claims: Mapping[str, Any] | None, not_after: float | None) -> None:
        expires = self._clock() + TOKEN_CACHE_SECONDS
        if not_after is not None:
            expires = min(expires, not_after)
        if expires <= self._clock():
            return
        self._entries.pop(key, None)
        self._entries[key] = _Cached(expires, claims)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class OidcValidator:
    """Validates bearer tokens with one issuer; ``timeout`` bounds each network operation."""

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | None,
        timeout: float,
        clock: Callable[[], float],
        fetch: Fetch,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._timeout = timeout
        self._clock = clock
        self._fetch = fetch
        self._cache = _TokenCache(clock)
        self._discovery: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, list[dict[str, Any]]] | None = None
        self._jwks_fetched_at: float | None = None

    async def claims(self, token: str) -> Mapping[str, Any]:
        """The validated claims of ``token``; 401 ``invalid_token``, 502 or 503 otherwise."""
        key = _token_key(token)
        cached = self._cache.get(key)
        if cached is not None:
            if cached.claims is None:
                raise invalid_token()
            return cached.claims
        header = jwt_header(token)
        try:
            if header is not None:
                claims = await self._jwt_claims(token, header)
            else:
                claims = await self._userinfo_claims(token)
        except ApiError as error:
            if error.code == "invalid_token":
                self._cache.put(key, None, None)
            raise
        self._cache.put(key, claims, _number(claims.get("exp")))
        return claims

    async def _userinfo_claims(self, token: str) -> dict[str, Any]:
        endpoint = await self._endpoint("userinfo_endpoint")
        answer = await self._get(endpoint, Authorization=f"Bearer {token}")
        if 400 <= answer.status < 500:
            raise invalid_token()
        claims = _json_body(answer)
        if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            raise upstream_error(_OIDC, answer.status)
        return claims

    async def _jwt_claims(self, token: str, header: Mapping[str, Any]) -> dict[str, Any]:
        alg = header["alg"]
        if not isinstance(alg, str) or alg not in JWT_ALGORITHMS:
            raise invalid_token("The bearer token's signature algorithm is not accepted")
        kid = header.get("kid")
        keys = await self._signing_keys(kid)
        payload = _verified_payload(token, alg, kid, keys)
        if payload is None:
            raise invalid_token()
        self._check_claims(payload)
        return payload

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        exp, nbf = _number(claims.get("exp")), _number(claims.get("nbf"))
        if claims.get("iss") != self._issuer or not isinstance(claims.get("sub"), str):
            raise invalid_token()
        if exp is None or exp <= now - CLOCK_LEEWAY_SECONDS:
            raise invalid_token()
        if "nbf" in claims and (nbf is None or nbf > now + CLOCK_LEEWAY_SECONDS):
            raise invalid_token()
        if self._audience is not None and not _audience_matches(claims.get("aud"), self._audience):
            raise invalid_token()

    async def _signing_keys(self, kid: Any) -> list[dict[str, Any]]:
        """The JWKS keys, refetched (at most once per 60 s) when ``kid`` is unknown."""
        now = self._clock()
        if self._jwks_outdated(now, kid):
            await self._fetch_jwks(now)
        assert self._jwks is not None
        return self._jwks[1]

    def _jwks_outdated(self, now: float, kid: Any) -> bool:
        if self._jwks is None or now - self._jwks[0] >= METADATA_MAX_AGE_SECONDS:
            return True
        last = self._jwks_fetched_at
        may_refetch = last is None or now - last >= JWKS_REFETCH_SECONDS
        return may_refetch and not _has_kid(self._jwks[1], kid)

    async def _fetch_jwks(self, now: float) -> None:
        self._jwks_fetched_at = now
        answer = await self._get(await self._endpoint("jwks_uri"))
        jwks = _json_body(answer)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list):
            raise upstream_error(_OIDC, answer.status)
        self._jwks = (now, [key for key in keys if isinstance(key, dict)])

    async def _endpoint(self, name: str) -> str:
        """A URL from the issuer's discovery document (cached)."""
        document = await self._discovery_document()
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise upstream_error(_OIDC, 200, f"The OIDC discovery document has no {name}")
        return value

    async def _discovery_document(self) -> dict[str, Any]:
        now = self._clock()
        if self._discovery is not None and now - self._discovery[0] < METADATA_MAX_AGE_SECONDS:
            return self._discovery[1]
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        answer = await self._get(url)
        document = _json_body(answer)
        if not isinstance(document, dict):
            raise upstream_error(_OIDC, answer.status)
        self._discovery = (now, document)
        return document

    async def _get(self, url: str, **headers: str) -> Answer:
        """GET ``url`` in a worker thread; no answer → 503, a broken answer → 502 (§2.11)."""
        request_headers = {"Accept": "application/json", **headers}
        try:
            return await anyio.to_thread.run_sync(self._fetch, url, request_headers, self._timeout)
        except Unreachable as exc:
            logger.warning("OIDC provider unreachable: %s", exc)
            raise unavailable(_OIDC) from None
        except Unusable as exc:
            logger.warning("OIDC provider answered unusably: %s", exc)
            raise upstream_error(_OIDC, None) from None


def _json_body(answer: Answer) -> Any:
    """The parsed JSON body of a 200 answer; otherwise 502 ``upstream_error``."""
    if answer.status != 200:
        raise upstream_error(_OIDC, answer.status)
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        raise upstream_error(_OIDC, answer.status) from None


def _has_kid(keys: Iterable[Mapping[str, Any]], kid: Any) -> bool:
    return kid is None or any(key.get("kid") == kid for key in keys)


def _candidate_keys(keys: Iterable[Mapping[str, Any]], alg: str, kid: Any) -> list[jwt.PyJWK]:
    """The JWKS keys that may verify a token with header ``alg``/``kid``."""
    candidates = []
    for key in keys:
        if kid is not None and key.get("kid") != kid:
            continue
        if key.get("kty") == "oct" or key.get("use", "sig") != "sig":
            continue
        if key.get("alg", alg) != alg:
            continue
        try:
            candidates.append(jwt.PyJWK(dict(key), algorithm=alg))
        except (jwt.PyJWTError, TypeError, ValueError):
            continue
    return candidates


def _verified_payload(
    token: str, alg: str, kid: Any, keys: Iterable[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The payload of ``token`` if one of ``keys`` verifies its signature, else None."""
    for key in _candidate_keys(keys, alg, kid):
        try:
            decoded = jwt.PyJWS().decode_complete(token, key=key, algorithms=[alg])
            payload = json.loads(decoded["payload"])
        except (jwt.PyJWTError, TypeError, ValueError, RecursionError):
            continue
        return payload if isinstance(payload, dict) else None
    return None


def _audience_matches(aud: Any, audience: str) -> bool:
    if isinstance(aud, str):
        return aud == audience
    return isinstance(aud, list) and audience in aud
