"""Authentication and authorisation (§3): bearer tokens, session cookies, groups and roles.

:class:`Authenticator` turns the ``Authorization`` header and the ``session_id`` cookie into a
:class:`Principal` (or ``None`` for an anonymous caller); :func:`require_role` enforces §3.4.

Bearer tokens are static development tokens, JWTs verified with the issuer's JWKS, or opaque
tokens checked at the issuer's userinfo endpoint. Validation results are cached by the SHA-256
of the token (never the token itself); tokens are never logged.
"""

from __future__ import annotations

import base64
import binascii
import collections
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio.to_thread
import httpx
import jwt
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .config import EmulatorConfig
from .errors import ApiError, forbidden, invalid_token, unauthorized, unavailable, upstream_error
from .schema import site_session

logger = logging.getLogger(__name__)

#: The v1 roles, in their canonical order.
ROLES = ("User", "QaReviewer", "Admin")

#: The claims whose union is the principal's groups (§3.4).
GROUP_CLAIMS = ("groups", "memberOf", "roles", "authorities")

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
#: Sessions older than this are expired (§3.3).
SESSION_LIFETIME = dt.timedelta(days=7)

#: Signature algorithms accepted for JWTs: asymmetric only (``none`` and ``HS*`` rejected).
JWT_ALGORITHMS = frozenset(
    ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
    + ("ES256K", "EdDSA")
) & frozenset(jwt.algorithms.get_default_algorithms())

_AUTHORIZATION = re.compile(r"bearer ([A-Za-z0-9\-._~+/]+=*)", re.ASCII | re.IGNORECASE)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_GROUP_SEPARATORS = re.compile(r"[ ,]+")
_OIDC = "oidc"

Clock = Callable[[], float]


def _string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated caller: its claims, groups, roles and how it authenticated."""

    claims: Mapping[str, Any]
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    auth_method: str

    @property
    def sub(self) -> str | None:
        return _string_claim(self.claims, "sub")

    @property
    def email(self) -> str | None:
        return _string_claim(self.claims, "email")

    @property
    def name(self) -> str | None:
        return _string_claim(self.claims, "name")

    @property
    def preferred_username(self) -> str | None:
        return _string_claim(self.claims, "preferred_username")

    @property
    def is_admin(self) -> bool:
        return "Admin" in self.roles

    @property
    def is_qa_reviewer(self) -> bool:
        return "QaReviewer" in self.roles

    @property
    def requester(self) -> str:
        """Who asked (§3.4): ``email``, else ``preferred_username``, else ``name``, else ``sub``.

        Empty strings are skipped; ``""`` only for a principal without ``sub``, which
        :class:`Authenticator` never produces.
        """
        for candidate in (self.email, self.preferred_username, self.name, self.sub):
            if candidate:
                return candidate
        return ""

    def user_json(self) -> dict[str, Any]:
        """The v1 ``User`` object (§4.7), keys in order."""
        return {
            "sub": self.sub,
            "email": self.email,
            "name": self.name,
            "preferred_username": self.preferred_username,
            "groups": list(self.groups),
            "roles": list(self.roles),
            "is_admin": self.is_admin,
            "is_qa_reviewer": self.is_qa_reviewer,
            "auth_method": self.auth_method,
        }


def groups_from_claims(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The sorted union of the group claims (§3.4)."""
    groups: set[str] = set()
    for claim in GROUP_CLAIMS:
        groups.update(_claim_groups(claims.get(claim)))
    return tuple(sorted(groups))


def _claim_groups(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [part for part in _GROUP_SEPARATORS.split(value) if part]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def roles_for(
    groups: Iterable[str], admin_group: str | None, qa_reviewer_group: str | None
) -> tuple[str, ...]:
    """The roles of an authenticated member of ``groups`` (§3.4), in :data:`ROLES` order."""
    members = set(groups)
    admin = admin_group is None or admin_group in members
    qa_reviewer = admin or qa_reviewer_group is None or qa_reviewer_group in members
    granted = {"User": True, "QaReviewer": qa_reviewer, "Admin": admin}
    return tuple(role for role in ROLES if granted[role])


def make_principal(
    claims: Mapping[str, Any], auth_method: str, config: EmulatorConfig
) -> Principal:
    """A principal for validated ``claims``, with groups and roles per ``config``."""
    groups = groups_from_claims(claims)
    return Principal(
        claims=types.MappingProxyType(dict(claims)),
        groups=groups,
        roles=roles_for(groups, config.admin_group, config.qa_reviewer_group),
        auth_method=auth_method,
    )


def require_role(principal: Principal | None, role: str) -> None:
    """Raise 401 ``unauthorized`` when anonymous, 403 ``forbidden`` when ``role`` is missing."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if principal is None:
        raise unauthorized()
    if role not in principal.roles:
        raise forbidden(role)


def parse_authorization(value: str) -> str:
    """The token of a ``Bearer`` header (§3.2 syntax); anything else is ``invalid_token``."""
    match = _AUTHORIZATION.fullmatch(value)
    if match is None:
        raise invalid_token("The Authorization header is not a bearer token")
    return match.group(1)


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

    def __init__(self, clock: Clock, size: int = TOKEN_CACHE_SIZE) -> None:
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


class Authenticator:
    """Validates credentials (§3.1–§3.3) against the configuration and the identity provider."""

    def __init__(
        self,
        config: EmulatorConfig,
        engine: Engine | None = None,
        *,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        audience: str | None = None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._clock = clock
        self._transport = transport
        self._audience = audience or getattr(config, "oidc_audience", None)
        self._issuer = config.oidc_issuer_url
        self._client: httpx.AsyncClient | None = None
        self._cache = _TokenCache(clock)
        self._discovery: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, list[dict[str, Any]]] | None = None
        self._jwks_fetched_at: float | None = None

    async def authenticate(
        self, authorization: str | None, session_cookie: str | None
    ) -> Principal | None:
        """The caller's principal, or ``None`` when anonymous (§3.1)."""
        if authorization is not None:
            claims = await self._bearer_claims(parse_authorization(authorization))
            return make_principal(claims, "bearer", self._config)
        if session_cookie and "\x00" not in session_cookie:  # no such session can exist
            return await self._session_principal(session_cookie)
        return None

    async def aclose(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # Bearer tokens ----------------------------------------------------------------------------

    async def _bearer_claims(self, token: str) -> Mapping[str, Any]:
        static = self._static_claims(token)
        if static is not None:
            return static
        if self._issuer is None:
            raise invalid_token()
        key = _token_key(token)
        cached = self._cache.get(key)
        if cached is not None:
            if cached.claims is None:
                raise invalid_token()
            return cached.claims
        return await self._validate_and_cache(token, key)

    def _static_claims(self, token: str) -> dict[str, Any] | None:
        presented = token.encode()
        found = None
        for static in self._config.static_tokens:
            if hmac.compare_digest(presented, static.token.encode()) and found is None:
                found = static
        if found is None:
            return None
        return {
            "sub": found.username,
            "preferred_username": found.username,
            "groups": list(found.groups),
        }

    async def _validate_and_cache(self, token: str, key: str) -> Mapping[str, Any]:
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
        response = await self._get(endpoint, Authorization=f"Bearer {token}")
        if 400 <= response.status_code < 500:
            raise invalid_token()
        claims = _json_body(response)
        if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            raise upstream_error(_OIDC, response.status_code)
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
        response = await self._get(await self._endpoint("jwks_uri"))
        jwks = _json_body(response)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list):
            raise upstream_error(_OIDC, response.status_code)
        self._jwks = (now, [key for key in keys if isinstance(key, dict)])

    # Issuer metadata and HTTP -----------------------------------------------------------------

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
        assert self._issuer is not None
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await self._get(url)
        document = _json_body(response)
        if not isinstance(document, dict):
            raise upstream_error(_OIDC, response.status_code)
        self._discovery = (now, document)
        return document

    async def _get(self, url: str, **headers: str) -> httpx.Response:
        """GET ``url``; unreachable/timeout → 503, a broken answer → 502 (§2.11)."""
        try:
            return await self._http().get(url, headers={"Accept": "application/json", **headers})
        except (httpx.TimeoutException, httpx.NetworkError, httpx.ProxyError) as exc:
            logger.warning("OIDC provider unreachable: %s", type(exc).__name__)
            raise unavailable(_OIDC) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            logger.warning("OIDC provider answered unusably: %s", type(exc).__name__)
            raise upstream_error(_OIDC, None) from None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._config.service_timeout),
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    # Session cookies --------------------------------------------------------------------------

    async def _session_principal(self, session_id: str) -> Principal | None:
        if self._engine is None:
            return None
        row = await anyio.to_thread.run_sync(self._load_session, session_id)
        if row is None:
            return None
        timestamp, userinfo = row
        if timestamp < self._utcnow() - SESSION_LIFETIME:
            return None
        claims = session_claims(userinfo)
        return None if claims is None else make_principal(claims, "session", self._config)

    def _load_session(self, session_id: str) -> tuple[dt.datetime, str | None] | None:
        assert self._engine is not None
        query = sa.select(site_session.c.timestamp, site_session.c.userinfo).where(
            site_session.c.id == session_id
        )
        try:
            with self._engine.connect() as connection:
                row = connection.execute(query).first()
        except sa.exc.DBAPIError as exc:
            logger.warning("session lookup failed: %s", type(exc).__name__)
            raise unavailable("database") from None
        if row is None:
            return None
        return _naive_utc(row.timestamp), row.userinfo

    def _utcnow(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc).replace(tzinfo=None)


def session_claims(userinfo: str | None) -> dict[str, Any] | None:
    """The claims in ``site_session.userinfo`` (bare, or under ``user``); None if unusable."""
    try:
        document = json.loads(userinfo) if userinfo else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    user = document.get("user")
    claims = user if isinstance(user, dict) else document
    return claims if isinstance(claims.get("sub"), str) else None


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _json_body(response: httpx.Response) -> Any:
    """The parsed JSON body of a 200 answer; otherwise 502 ``upstream_error``."""
    if response.status_code != 200:
        raise upstream_error(_OIDC, response.status_code)
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise upstream_error(_OIDC, response.status_code) from None


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
