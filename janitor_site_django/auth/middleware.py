"""``OIDCTokenMiddleware``: each request's API calls carry the logged-in user's access token.

The token lives in the session; for the duration of the request it is bound to the client's
context-local token (``janitor_site_django.client.user_token``), so it follows sync and async
views and threads started with a copied context, and never leaks into another request.
Shortly before it expires it is refreshed — once per session, even when concurrent requests
notice at the same time. A refresh that fails logs the user out.

Put it after ``AuthenticationMiddleware``. Settings: ``JANITOR_SITE_OIDC_REFRESH_MARGIN``
(seconds before expiry to refresh, default 30).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AbstractContextManager
from importlib import import_module
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.contrib.auth import logout
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

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


#: Longest token response read from the identity provider, in bytes.
MAX_TOKEN_RESPONSE = 64 * 1024


class RefreshFailed(Exception):
    """The identity provider would not refresh the access token."""


def _lock_for(session_key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(session_key, threading.Lock())


def _stored_session(session_key: str) -> Any:
    """The session as stored now (another request may have refreshed it meanwhile)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store(session_key=session_key)


@sensitive_variables()  # every local: the refresh token, the sessions, the IdP's answer
def refresh(request: HttpRequest) -> str:
    """A fresh access token for this session: adopted if a concurrent request just got one,
    else asked from the identity provider with the refresh token (which it may rotate)."""
    session: Any = request.session
    known_expiry = tokens.expires_at(session) or 0.0
    with _lock_for(session.session_key or ""):
        stored = _stored_session(session.session_key) if session.session_key else session
        if (tokens.expires_at(stored) or 0.0) > known_expiry and tokens.access_token(stored):
            for key in (tokens.ACCESS, tokens.REFRESH, tokens.EXPIRES_AT):
                session[key] = stored[key]
            return tokens.access_token(session) or ""
        refresh_token = tokens.refresh_token(stored)
        if refresh_token is None:
            raise RefreshFailed("no refresh token in the session")
        oidc: Any = settings  # mozilla-django-oidc's settings, unknown to django-stubs
        answer = _token_response(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": oidc.OIDC_RP_CLIENT_ID,
                "client_secret": oidc.OIDC_RP_CLIENT_SECRET,
            }
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise RefreshFailed("the identity provider gave no access token")
        tokens.store(session, answer)
        session.save()
        return token


@sensitive_variables()  # the form holds the refresh token and the client secret
def _token_response(form: dict[str, str]) -> Any:
    """The identity provider's JSON answer to a token request: within
    ``JANITOR_SITE_TIMEOUT`` (the whole exchange) and :data:`MAX_TOKEN_RESPONSE` bytes."""
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
            if response.status_code != 200:
                raise RefreshFailed(f"the identity provider answered {response.status_code}")
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
        return json.loads(body)
    except ValueError:
        raise RefreshFailed("the identity provider did not answer JSON") from None


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
                token = refresh(request)
            except RefreshFailed:
                logout(request)
                return login_response(request)
        return token

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The API's 401 → log in again; its 403 → ``PermissionDenied``."""
        if isinstance(exception, exceptions.Unauthorized):
            return login_response(request)
        if isinstance(exception, exceptions.Forbidden):
            raise PermissionDenied(exception.reason) from exception
        return None
