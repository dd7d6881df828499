"""Authentication and authorisation (§3): credential → claims → :class:`Principal` → roles.

:class:`Authenticator` turns the ``Authorization`` header and the ``session_id`` cookie into a
:class:`Principal` (or ``None`` for an anonymous caller); :func:`require_role` enforces §3.4.
Bearer tokens are static development tokens (:mod:`.static`) or tokens checked with the OIDC
issuer (:mod:`.oidc`); session cookies name ``site_session`` rows (:mod:`.sessions`); groups
and roles come from the claims (:mod:`.roles`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from ..config import EmulatorConfig
from ..errors import invalid_token
from .fetch import Fetch, urllib_fetch
from .oidc import OidcValidator
from .roles import ROLES, Principal, make_principal, require_role
from .sessions import SessionStore
from .static import static_claims

__all__ = ["ROLES", "Authenticator", "Principal", "parse_authorization", "require_role"]

_AUTHORIZATION = re.compile(r"bearer ([A-Za-z0-9\-._~+/]+=*)", re.ASCII | re.IGNORECASE)


def parse_authorization(value: str) -> str:
    """The token of a ``Bearer`` header (§3.2 syntax); anything else is ``invalid_token``."""
    match = _AUTHORIZATION.fullmatch(value)
    if match is None:
        raise invalid_token("The Authorization header is not a bearer token")
    return match.group(1)


class Authenticator:
    """Validates credentials (§3.1–§3.3) against the configuration and the identity provider.

    ``clock`` (seconds since the epoch) and ``fetch`` (the GET of the identity provider) are
    injectable; ``audience``, when given, must be in a JWT's ``aud``.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        engine: Engine | None = None,
        *,
        clock: Callable[[], float] = time.time,
        fetch: Fetch = urllib_fetch,
        audience: str | None = None,
    ) -> None:
        self._config = config
        self._oidc: OidcValidator | None = None
        if config.oidc_issuer_url is not None:
            self._oidc = OidcValidator(
                config.oidc_issuer_url,
                audience=audience,
                timeout=config.service_timeout,
                clock=clock,
                fetch=fetch,
            )
        self._sessions = None if engine is None else SessionStore(engine, clock)

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

    async def _bearer_claims(self, token: str) -> Mapping[str, Any]:
        static = static_claims(self._config.static_tokens, token)
        if static is not None:
            return static
        if self._oidc is None:
            raise invalid_token()
        return await self._oidc.claims(token)

    async def _session_principal(self, session_id: str) -> Principal | None:
        if self._sessions is None:
            return None
        claims = await self._sessions.claims(session_id)
        return None if claims is None else make_principal(claims, "session", self._config)
