"""URLs of the test identity provider: login, DOT under ``/o/`` (its token endpoint delayed by
``IDP_TOKEN_DELAY``), a test-only control hook."""

from __future__ import annotations

import hmac
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.views import TokenView

from tests.idp.seeding import register_client


@csrf_exempt
@require_POST
def redirect_uris(request: HttpRequest) -> HttpResponse:
    """Add the ``uri`` form values to the client's redirect URIs (needs the control token)."""
    token = settings.IDP_CONTROL_TOKEN
    presented = request.headers.get("Authorization", "")
    if token is None or not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return JsonResponse({"error": "forbidden"}, status=403)
    application = register_client(request.POST.getlist("uri"))
    return JsonResponse({"redirect_uris": application.redirect_uris.split()})


_token = TokenView.as_view()


@csrf_exempt
def delayed_token(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """DOT's token endpoint, answering after ``IDP_TOKEN_DELAY`` seconds."""
    time.sleep(settings.IDP_TOKEN_DELAY)
    response: HttpResponse = _token(request, *args, **kwargs)
    return response


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("o/token/", delayed_token),  # before DOT's own, which discovery still names (same path)
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("testing/redirect-uris/", redirect_uris),
]
