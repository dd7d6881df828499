"""Tokens in the user's session: the access token as mozilla-django-oidc stores it, the
refresh token encrypted with a key derived from ``SECRET_KEY``, and the expiry time."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

ACCESS = "oidc_access_token"  # mozilla-django-oidc's key (OIDC_STORE_ACCESS_TOKEN = True)
REFRESH = "janitor_site_refresh_token"
EXPIRES_AT = "janitor_site_access_expires_at"


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"janitor-site-django refresh token\0" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def store(session: Any, token_info: dict[str, Any]) -> None:
    """Keep what a token response brings (the refresh token only when one is given)."""
    access, refresh = token_info.get("access_token"), token_info.get("refresh_token")
    if isinstance(access, str) and access:
        session[ACCESS] = access
    if isinstance(refresh, str) and refresh:
        session[REFRESH] = _fernet().encrypt(refresh.encode()).decode()
    expires_in = token_info.get("expires_in")
    if isinstance(expires_in, (int, float)):
        session[EXPIRES_AT] = time.time() + expires_in


def access_token(session: Any) -> str | None:
    token = session.get(ACCESS)
    return token if isinstance(token, str) and token else None


def refresh_token(session: Any) -> str | None:
    encrypted = session.get(REFRESH)
    if not encrypted:
        return None
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return None


def expires_at(session: Any) -> float | None:
    value = session.get(EXPIRES_AT)
    return float(value) if isinstance(value, (int, float)) else None


def clear(session: Any) -> None:
    for key in (ACCESS, REFRESH, EXPIRES_AT, "oidc_id_token"):
        session.pop(key, None)
