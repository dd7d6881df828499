"""URLs of the relying party: OIDC login, a readiness probe, and a page calling the API."""

from __future__ import annotations

import hashlib
import os

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from janitor_site_django.client import current_user_token, get_client


def fingerprint(token: str | None) -> str | None:
    """What the pages show of a token: enough to tell tokens apart, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else None


def whoami(request: HttpRequest) -> JsonResponse:
    """The API's view of the caller (with the request's token), which token that was, and
    which process answered."""
    user = get_client().get_user().preferred_username
    token = fingerprint(current_user_token())
    return JsonResponse({"user": user, "token": token, "pid": os.getpid()})


def ready(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"pid": os.getpid()})


urlpatterns = [
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("whoami/", whoami),
    path("ready/", ready),
]
