"""Views the convention tests reach through Django's whole middleware stack (sessions, CSRF,
authentication, messages)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone, translation

from janitor_site_django.client import get_client

#: What the convention page shows; a query parameter names a time zone and a language.
PAGE = "conventions.html"


def conventions(request: HttpRequest) -> HttpResponse:
    """Adds a message, then renders the service page under the zone and language asked for."""
    if request.method == "POST":  # reached only with a valid CSRF token
        return HttpResponse("posted")
    messages.info(request, "Saved.")
    messages.warning(request, "Careful.", extra_tags="sticky")
    zone = request.GET.get("tz", "UTC")
    language = request.GET.get("lang", "en")
    with timezone.override(zone), translation.override(language):
        return render(request, PAGE, {"title": "Conventions"})


def service_user(request: HttpRequest) -> HttpResponse:
    """The documented recipe: the service's own ``user`` next to Django's, renamed."""
    return render(request, PAGE, {"title": "Mapped", "user": get_client().get_user()})


urlpatterns = [
    path("conventions/", conventions),
    path("service-user/", service_user),
]
