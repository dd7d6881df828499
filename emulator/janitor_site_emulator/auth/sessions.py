"""Session cookies (§3.3): the claims of a live ``site_session`` row."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import unavailable
from ..schema import site_session

logger = logging.getLogger(__name__)

#: Sessions older than this are expired (§3.3).
SESSION_LIFETIME = dt.timedelta(days=7)


class SessionStore:
    """Looks session ids up in ``site_session`` (in the thread pool); expired ones are unknown."""

    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    async def claims(self, session_id: str) -> dict[str, Any] | None:
        """The claims of session ``session_id``; None if it is unknown, expired or unusable."""
        row = await anyio.to_thread.run_sync(self._load, session_id)
        if row is None:
            return None
        timestamp, userinfo = row
        if timestamp < self._utcnow() - SESSION_LIFETIME:
            return None
        return session_claims(userinfo)

    def _load(self, session_id: str) -> tuple[dt.datetime, str | None] | None:
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
