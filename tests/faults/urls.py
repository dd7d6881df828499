"""Views that call the API and let its error through (Django's 500 handling takes over)."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.urls import path

from janitor_site_django.client import get_async_client, get_client, user_token

#: The token the views send as the logged-in user's (made here: the source shown on the debug
#: page does not hold it).
USER_TOKEN = f"user-{secrets.token_hex(12)}"


def sync_view(request: HttpRequest, who: str) -> HttpResponse:
    with user_token(USER_TOKEN if who == "user" else None):
        return HttpResponse(get_client().get_codebase("some-codebase").name)


async def async_view(request: HttpRequest, who: str) -> HttpResponse:
    with user_token(USER_TOKEN if who == "user" else None):
        return HttpResponse((await get_async_client().get_codebase("some-codebase")).name)


urlpatterns = [path("sync/<str:who>/", sync_view), path("async/<str:who>/", async_view)]
