"""Pages of the example project."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from janitor_site_django import exceptions
from janitor_site_django.client import get_client


def index(request: HttpRequest) -> HttpResponse:
    """The service, what it says about itself, and who it thinks the visitor is."""
    client = get_client()
    context: dict[str, object] = {
        "api_url": settings.JANITOR_SITE_URL,
        "login": settings.LOGIN_ENABLED,
    }
    try:
        context["status"] = client.status()
        if request.user.is_authenticated:
            context["api_user"] = client.get_user()  # with the user's own access token
    except exceptions.JanitorSiteError as error:
        context["error"] = str(error)
    return render(request, "index.html", context)
