"""Pages of the example project."""

from __future__ import annotations

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    """The configured Janitor site service and what it reports about itself."""
    status: dict[str, object] | None = None
    error = ""
    try:
        response = httpx.get(f"{settings.JANITOR_SITE_URL}/api/status", timeout=5.0)
        status = response.json().get("data")
    except (httpx.HTTPError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return render(
        request,
        "index.html",
        {"api_url": settings.JANITOR_SITE_URL, "status": status, "error": error},
    )
