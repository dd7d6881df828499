"""``OIDCTokenMiddleware``: each request's API calls carry the logged-in user's access token.

The token lives in the session; for the duration of the request it is bound to the client's
context-local token (``janitor_site_django.client.user_token``), so it follows sync and async
views and threads started with a copied context, and never leaks into another request.

Shortly before it expires it is refreshed — once per session, even when concurrent requests in
several processes notice at the same time (a rotating identity provider accepts a refresh token
once: a second use gets ``invalid_grant``). Threads of one process queue on a lock of that
session, freed by the last of them; processes on a lock in the shared Django cache
(``JANITOR_SITE_OIDC_LOCK_CACHE``, taken with ``cache.add``, deleted by its owner only, expiring
by itself when its owner died). Whoever waits watches the session *as stored* and adopts the
token the winner saved there; after an ``invalid_grant`` the stored session is read again, in
case another process rotated the token meanwhile. A refresh that fails logs the user out; one
that could not be had within ``JANITOR_SITE_TIMEOUT`` leaves the session as it is.

Put it after ``AuthenticationMiddleware``. Settings: ``JANITOR_SITE_OIDC_REFRESH_MARGIN``
(seconds before expiry to refresh, default 30), ``JANITOR_SITE_OIDC_LOCK_CACHE`` (the cache
alias of the lock, default ``"default"``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from importlib import import_module
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from .. import exceptions
from ..client import user_token
from ..client._deadline import Deadline
from ..conf import setting
from ..middleware import RequestContextMiddleware
from . import session as tokens

logger = logging.getLogger("janitor_site_django.auth")

#: Longest token response read from the identity provider, in bytes.
MAX_TOKEN_RESPONSE = 64 * 1024
#: Seconds between two looks at the stored session while another process refreshes it.
POLL_INTERVAL = 0.05
#: After ``invalid_grant``: seconds the stored session is watched for another's rotation.
ROTATION_GRACE = 1.0
_TOKEN_KEYS = (tokens.ACCESS, tokens.REFRESH, tokens.EXPIRES_AT)


class RefreshFailed(Exception):
    """The identity provider would not refresh the access token."""

    def __init__(self, message: str, *, invalid_grant: bool = False) -> None:
        super().__init__(message)
        #: The identity provider answered ``invalid_grant`` (spent, expired or revoked).
        self.invalid_grant = invalid_grant


class _ProcessLocks:
    """A ``threading.Lock`` per session key while threads of this process use it: the last one
    out removes it, so memory follows the refreshes in progress, not the sessions seen."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[str, tuple[threading.Lock, int]] = {}  # key -> (lock, users)

    def __len__(self) -> int:
        with self._guard:
            return len(self._held)

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        """Wait up to ``timeout`` seconds for ``key``'s lock; yields whether it was acquired."""
        with self._guard:
            lock, users = self._held.get(key) or (threading.Lock(), 0)
            self._held[key] = (lock, users + 1)
        acquired = False
        try:
            acquired = lock.acquire(timeout=max(timeout, 0.0))
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                users = self._held[key][1]
                if users == 1:
                    del self._held[key]
                else:
                    self._held[key] = (lock, users - 1)


_locks = _ProcessLocks()


class _SharedLock:
    """One session's refresh lock in the cache ``JANITOR_SITE_OIDC_LOCK_CACHE``, across processes.

    Taken with ``cache.add`` (atomic on Redis, Memcached and the database cache), it expires by
    itself after :attr:`ttl` seconds, so an owner that died blocks nobody for longer. Only its
    owner deletes it, and only while it cannot have expired yet (past that, the key may be
    another process's lock). A cache that fails is logged and the refresh goes on, single-flight
    per process only.
    """

    def __init__(self, session_key: str, timeout: float) -> None:
        digest = hashlib.sha256(session_key.encode()).hexdigest()  # the session key is a secret
        self.key = f"janitor_site_django:oidc-refresh:{digest}"
        self.owner = secrets.token_hex(16)
        #: Longer than the owner holds it: the exchange (cut at ``timeout``), the watch after an
        #: ``invalid_grant``, and as long again as the exchange for reading and saving sessions.
        self.ttl = math.ceil(2 * timeout + ROTATION_GRACE) + 1
        self._cache = caches[setting("JANITOR_SITE_OIDC_LOCK_CACHE")]
        self._taken_at: float | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it (True also when the cache itself fails)."""
        taken_at = time.monotonic()
        try:
            taken = self._cache.add(self.key, self.owner, self.ttl)
        except Exception as error:  # any backend's own errors: the cache is down
            logger.warning(
                "The refresh lock's cache failed (%s): refreshing without it.", type(error).__name__
            )
            return True
        if taken:
            self._taken_at = taken_at
        return bool(taken)

    def release(self) -> None:
        """Delete the lock if this owner holds it and it cannot have expired meanwhile."""
        taken_at, self._taken_at = self._taken_at, None
        if taken_at is None or time.monotonic() - taken_at > self.ttl - 1:
            return  # not ours, or perhaps expired and taken by another: it expires by itself
        try:
            if self._cache.get(self.key) == self.owner:
                self._cache.delete(self.key)
        except Exception as error:  # it expires by itself
            logger.warning(
                "The refresh lock's cache failed (%s) releasing it.", type(error).__name__
            )


def _stored_session(session_key: str) -> Any:
    """The session as stored now, read from the session store (another request, in this process
    or another, may have refreshed it since this request read it)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store(session_key=session_key)


def _copy_tokens(source: Any, session: Any) -> None:
    for key in _TOKEN_KEYS:
        if key in source:
            session[key] = source[key]
        else:
            session.pop(key, None)


@sensitive_variables()  # the sessions hold the tokens
def _adopt(session: Any, stored: Any, known: tuple[str | None, float]) -> str | None:
    """The stored session's access token if it is newer than the one this request knows
    (copied into the request's session), else None."""
    token = tokens.access_token(stored)
    if token is None or token == known[0] or (tokens.expires_at(stored) or 0.0) <= known[1]:
        return None
    _copy_tokens(stored, session)
    return token


@sensitive_variables()  # every local: the refresh token, the sessions, the IdP's answer
def refresh(request: HttpRequest) -> str | None:
    """A fresh access token for this session: adopted if another request (of this process or
    another) just got one, else asked from the identity provider with the refresh token (which
    it may rotate). None when neither happened within ``JANITOR_SITE_TIMEOUT`` (another process
    still holds the lock): the session is left as it is. Raises :class:`RefreshFailed` when the
    identity provider refuses."""
    session: Any = request.session
    session_key: str | None = session.session_key
    if not session_key:  # never stored: no other request can share it
        return _exchange(session, session, None)
    timeout = setting("JANITOR_SITE_TIMEOUT")
    deadline = time.monotonic() + timeout
    known = (tokens.access_token(session), tokens.expires_at(session) or 0.0)
    with _locks.hold(session_key, timeout) as held:
        if not held:
            return None
        shared = _SharedLock(session_key, timeout)
        while True:
            if shared.acquire():
                try:
                    stored = _stored_session(session_key)  # after taking it: a winner has saved
                    adopted = _adopt(session, stored, known)
                    return adopted or _exchange(session, stored, session_key)
                finally:
                    shared.release()
            adopted = _adopt(session, _stored_session(session_key), known)
            if adopted is not None:
                return adopted
            if time.monotonic() + POLL_INTERVAL >= deadline:
                return None
            time.sleep(POLL_INTERVAL)


@sensitive_variables()  # every local: the refresh token, the sessions, the IdP's answer
def _exchange(session: Any, stored: Any, session_key: str | None) -> str:
    """Spend the stored refresh token at the identity provider; keep and save what it answers.

    On ``invalid_grant`` the stored session is watched for :data:`ROTATION_GRACE` seconds: a
    process that did not see the lock may have spent the token and be saving its successor."""
    refresh_token = tokens.refresh_token(stored)
    if refresh_token is None:
        raise RefreshFailed("no refresh token in the session")
    oidc: Any = settings  # mozilla-django-oidc's settings, unknown to django-stubs
    try:
        answer = _token_response(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": oidc.OIDC_RP_CLIENT_ID,
                "client_secret": oidc.OIDC_RP_CLIENT_SECRET,
            }
        )
    except RefreshFailed as failure:
        if failure.invalid_grant and session_key:
            rotated = _rotated_meanwhile(session, session_key, refresh_token)
            if rotated is not None:
                return rotated
        raise
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise RefreshFailed("the identity provider gave no access token")
    _copy_tokens(stored, session)  # the refresh token just spent, whatever the request read
    tokens.store(session, answer)
    session.save()
    return token


@sensitive_variables()  # the spent refresh token, the sessions
def _rotated_meanwhile(session: Any, session_key: str, spent: str) -> str | None:
    """The access token another request stored with a successor of ``spent``, if one appears
    within :data:`ROTATION_GRACE` seconds (copied into the request's session)."""
    until = time.monotonic() + ROTATION_GRACE
    while True:
        stored = _stored_session(session_key)
        token = tokens.access_token(stored)
        if token is not None and tokens.refresh_token(stored) not in (None, spent):
            _copy_tokens(stored, session)
            return token
        if time.monotonic() + POLL_INTERVAL >= until:
            return None
        time.sleep(POLL_INTERVAL)


@sensitive_variables()  # the form holds the refresh token and the client secret
def _token_response(form: dict[str, str]) -> Any:
    """The identity provider's JSON answer to a token request: within
    ``JANITOR_SITE_TIMEOUT`` (the whole exchange) and :data:`MAX_TOKEN_RESPONSE` bytes.

    A 400 is an OAuth error answer (RFC 6749 §5.2): its ``error`` code says whether the grant
    was refused (``invalid_grant``)."""
    oidc: Any = settings
    seconds = setting("JANITOR_SITE_TIMEOUT")
    verify = bool(getattr(oidc, "OIDC_VERIFY_SSL", True))
    body = bytearray()
    try:
        with (
            Deadline(seconds),
            httpx.Client(transport=Deadline.transport(verify), timeout=seconds) as http,
            http.stream(
                "POST",
                oidc.OIDC_OP_TOKEN_ENDPOINT,
                data=form,
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
            ) as response,
        ):
            status = response.status_code
            if status not in (200, 400):
                raise RefreshFailed(f"the identity provider answered {status}")
            if response.headers.get("content-encoding", "identity") != "identity":
                raise RefreshFailed("the identity provider answered in an encoding not asked for")
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > MAX_TOKEN_RESPONSE:
                    raise RefreshFailed("the identity provider's answer is too long")
    except httpx.HTTPError as error:
        raise RefreshFailed(
            f"the identity provider is unreachable: {type(error).__name__}"
        ) from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise RefreshFailed("the identity provider did not answer JSON") from None
    if status != 200:
        if isinstance(answer, dict) and answer.get("error") == "invalid_grant":
            raise RefreshFailed("the identity provider refused the grant", invalid_grant=True)
        raise RefreshFailed("the identity provider answered 400")
    return answer


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or (
        "application/json" in accept and "text/html" not in accept
    )


def login_response(request: HttpRequest) -> HttpResponse:
    """To the OIDC login with ``next`` for pages; a 401 JSON body for API/XHR requests."""
    if _wants_json(request):
        return JsonResponse({"error": "unauthorized", "reason": "Log in again."}, status=401)
    login = reverse("oidc_authentication_init")
    return HttpResponseRedirect(f"{login}?next={quote(request.get_full_path())}")


class OIDCTokenMiddleware(RequestContextMiddleware):
    """Bind the session's access token for the rest of the request (see the module)."""

    enter_blocks = True  # reads (and may refresh) the session

    def enter(self, request: HttpRequest) -> AbstractContextManager[None] | HttpResponse:
        token = self._token(request)
        if isinstance(token, HttpResponse):
            return token
        return user_token(token)

    def _token(self, request: HttpRequest) -> str | HttpResponse | None:
        """The session's access token (refreshed if it is about to expire), or None."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        session: Any = request.session
        token = tokens.access_token(session)
        expiry = tokens.expires_at(session)
        margin = setting("JANITOR_SITE_OIDC_REFRESH_MARGIN")
        if token is not None and expiry is not None and expiry - time.time() < margin:
            try:
                fresh = refresh(request)
            except RefreshFailed as failure:
                logger.info("The access token could not be refreshed (%s): logged out.", failure)
                logout(request)
                return login_response(request)
            if fresh is None:  # another process still refreshing: the session is kept
                logger.warning("No refreshed access token within JANITOR_SITE_TIMEOUT.")
                if expiry <= time.time():
                    return login_response(request)
            else:
                token = fresh
        return token

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The API's 401 → log in again; its 403 → ``PermissionDenied``."""
        if isinstance(exception, exceptions.Unauthorized):
            return login_response(request)
        if isinstance(exception, exceptions.Forbidden):
            raise PermissionDenied(exception.reason) from exception
        return None
