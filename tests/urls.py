"""URLconf of the test project: the stock admin, OIDC login, and views calling the API."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from janitor_site_django.client import get_async_client, get_client


def whoami(request: HttpRequest) -> JsonResponse:
    """The API's view of the caller (GET /api/user with whatever token the request carries)."""
    return JsonResponse({"user": get_client().get_user().preferred_username})


async def awhoami(request: HttpRequest) -> JsonResponse:
    user = await get_async_client().get_user()
    return JsonResponse({"user": user.preferred_username})


def reschedule(request: HttpRequest, run_id: str) -> JsonResponse:
    return JsonResponse({"bucket": get_client().reschedule_run(run_id).bucket})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("whoami/", whoami),
    path("awhoami/", awhoami),
    path("reschedule/<str:run_id>/", reschedule),
]
