"""API failures in DRF views answer as what went wrong (never a 500), with
``exception_handler``: an outage, the user's missing role, an unknown object."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "rest_framework", reason="djangorestframework is not installed (the [drf] extra)"
)

from django.urls import path  # noqa: E402
from rest_framework import generics, views  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from janitor_site_django import models  # noqa: E402
from janitor_site_django.client import get_client  # noqa: E402
from janitor_site_django.contrib.rest_framework import (  # noqa: E402
    ApiModelSerializer,
    ApiPageNumberPagination,
    exception_handler,
)
from janitor_site_django.testing.emulator import EmulatorServer  # noqa: E402

pytestmark = pytest.mark.urls(__name__)


class Handled:
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_exception_handler(self) -> Any:
        return exception_handler


class CodebaseSerializer(ApiModelSerializer):
    class Meta:
        model = models.Codebase
        fields = "__all__"


class CodebaseList(Handled, generics.ListAPIView):  # type: ignore[type-arg]
    queryset = models.Codebase.objects.all()
    serializer_class = CodebaseSerializer
    pagination_class = ApiPageNumberPagination


class UnhandledCodebaseList(CodebaseList):
    def get_exception_handler(self) -> Any:
        return views.exception_handler  # DRF's own


class RunView(Handled, views.APIView):
    def get(self, request: Request, run_id: str) -> Response:
        return Response({"run_id": get_client().get_run(run_id).run_id})

    def post(self, request: Request, run_id: str) -> Response:
        models.Run.objects.get(pk=run_id).reschedule()
        return Response({"rescheduled": run_id})


urlpatterns = [
    path("codebases/", CodebaseList.as_view()),
    path("unhandled/codebases/", UnhandledCodebaseList.as_view()),
    path("runs/<path:run_id>/", RunView.as_view()),
]


def test_an_outage_is_a_503_not_a_500(settings: Any) -> None:
    settings.JANITOR_SITE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.JANITOR_SITE_RETRIES = 0
    response = APIClient().get("/codebases/")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The Janitor site service could not be reached.",
        "code": "unavailable",
    }
    with pytest.raises(Exception, match="127.0.0.1:9|onnect"):  # DRF's own handler: a 500
        APIClient().get("/unhandled/codebases/")


def test_the_services_404_and_403_are_passed_on_with_the_request_id(
    settings: Any, janitor_emulator: EmulatorServer
) -> None:
    missing = APIClient().get("/runs/no-such-run/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found" and missing.json()["request_id"]
    run_id = models.Run.objects.first().run_id  # type: ignore[union-attr]
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["user"]  # no role: no writes
    refused = APIClient().post(f"/runs/{run_id}/")
    assert refused.status_code == 403, refused.content
    body = refused.json()
    assert body["code"] == "forbidden" and body["request_id"] and "dev-user-token" not in str(body)
