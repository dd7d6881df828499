"""Service-rendered templates: the backend, fragments batched per response, helper filters.

The emulator serves this directory's ``service_templates/`` (MiniJinja) besides its own.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.loader import get_template, render_to_string
from django.template.response import TemplateResponse
from django.test import RequestFactory

from janitor_site_django import SiteClient
from janitor_site_django.models import Run
from janitor_site_django.template.context import serialise
from janitor_site_django.template.fragments import JanitorFragmentsMiddleware
from janitor_site_django.testing import assert_num_api_calls, capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer

HERE = Path(__file__).resolve().parent
DJANGO_TEMPLATES = {
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [HERE.parent / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}
JANITOR_TEMPLATES = {
    "NAME": "janitor",
    "BACKEND": "janitor_site_django.template.backends.JanitorTemplates",
}


@pytest.fixture
def site(settings: Any, service: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = service.url
    settings.JANITOR_SITE_API_TOKEN = service.tokens["service"]
    settings.TEMPLATES = [JANITOR_TEMPLATES, DJANGO_TEMPLATES]
    return service


def runs(service: EmulatorServer, count: int) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = httpx.get(
        f"{service.url}/api/runs", params={"limit": count}
    ).json()["data"]
    return data


@pytest.mark.django_db
def test_a_whole_page_rendered_by_the_service(site: EmulatorServer) -> None:
    request = RequestFactory().get("/runs/", {"page": "2"})
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    context = {"title": "Recent runs", "runs": Run.objects.all()[:3]}
    with capture_api_calls() as calls:
        page = html.unescape(render_to_string("page.html", context, request=request))
    assert "<h1>Recent runs</h1>" in page and "path=/runs/" in page
    assert all(run["run_id"] in page for run in runs(site, 3))
    assert [c.path for c in calls if c.method == "POST"] == ["/api/templates/render"]


def test_unknown_names_fall_through_to_django_templates(site: EmulatorServer) -> None:
    template = get_template("orm/run_detail.html")
    assert template.backend.name == "django"
    with pytest.raises(TemplateDoesNotExist) as missing:
        engines["janitor"].get_template("nope.html")
    assert "Not offered by the Janitor site service" in str(missing.value.tried)


def test_service_errors_carry_template_debug(site: EmulatorServer) -> None:
    with pytest.raises(TemplateSyntaxError) as failure:
        get_template("broken.html").render({"run": {"run_id": "x"}})
    debug = failure.value.template_debug  # type: ignore[attr-defined]
    assert debug["name"] == "broken.html" and debug["line"] == 2
    assert "line 2" in str(failure.value)


def test_no_token_is_improperly_configured(settings: Any, site: EmulatorServer) -> None:
    settings.JANITOR_SITE_API_TOKEN = None
    with pytest.raises(ImproperlyConfigured, match="JANITOR_SITE_API_TOKEN"):
        get_template("page.html")
    assert get_template("orm/run_detail.html") is not None  # other engines still work


def test_unknown_options_are_refused() -> None:
    from janitor_site_django.template.backends import JanitorTemplates

    with pytest.raises(
        ImproperlyConfigured, match="Unknown OPTIONS for JanitorTemplates: autoescape"
    ):
        JanitorTemplates(
            {"NAME": "x", "DIRS": [], "APP_DIRS": False, "OPTIONS": {"autoescape": False}}
        )


@pytest.mark.django_db
def test_the_context_sent_holds_only_what_the_template_needs(
    site: EmulatorServer, sent: list[dict[str, Any]]
) -> None:
    from django.contrib.auth.models import User

    request = RequestFactory().get("/runs/", {"q": "py"}, HTTP_AUTHORIZATION="Bearer secret")
    request.user = User(username="alice", is_staff=True)
    request.session = {"oidc_access_token": "secret"}  # type: ignore[assignment]
    request.COOKIES["sessionid"] = "secret"
    get_template("page.html").render({"title": "T", "runs": []}, request)
    (context,) = sent
    assert sorted(context) == ["csrf_token", "request", "runs", "title"]
    assert context["request"] == {
        "path": "/runs/",
        "GET": {"q": ["py"]},
        "user": {
            "username": "alice",
            "is_authenticated": True,
            "is_staff": True,
            "is_superuser": False,
            "groups": [],
        },
    }
    assert "secret" not in json.dumps(context)


def test_unserialisable_values_name_their_key() -> None:
    with pytest.raises(TypeError, match="'settings'"):
        serialise({"title": "ok", "settings": object()})
    import datetime as dt
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy

    data = serialise(
        {
            "when": dt.datetime(2025, 6, 8, 10, 0, tzinfo=dt.timezone.utc),
            "day": dt.date(2025, 6, 8),
            "price": decimal.Decimal("1.10"),
            "id": uuid.UUID(int=1),
            "label": gettext_lazy("Runs"),
            "nested": {"values": (1, {2})},
        }
    )
    assert data == {
        "when": "2025-06-08T10:00:00Z",
        "day": "2025-06-08",
        "price": "1.10",
        "id": "00000000-0000-0000-0000-000000000001",
        "label": "Runs",
        "nested": {"values": [1, [2]]},
    }


def fragments_view(request: HttpRequest) -> HttpResponse:
    everything = list(Run.objects.all()[:20])
    return render(
        request, "fragments/page.html", {"runs": everything[:15], "more": everything[15:]}
    )


def fragments_template_view(request: HttpRequest) -> TemplateResponse:
    everything = list(Run.objects.all()[:20])
    return TemplateResponse(
        request, "fragments/page.html", {"runs": everything[:15], "more": everything[15:]}
    )


@pytest.mark.parametrize("view", [fragments_view, fragments_template_view])
def test_twenty_fragments_cost_one_render_call(site: EmulatorServer, view: Any) -> None:
    middleware = JanitorFragmentsMiddleware(lambda request: _rendered(view(request)))
    with capture_api_calls() as calls:
        response = middleware(RequestFactory().get("/"))
    page = response.content.decode()
    renders = [c for c in calls if c.method == "POST"]
    assert [c.path for c in renders] == ["/api/templates/render-batch"]
    assert page.count('<span class="fragment">') == 20 and "janitor-fragment:" not in page
    assert all(run["run_id"] in page for run in runs(site, 20))


def _rendered(response: HttpResponse) -> HttpResponse:
    render_method = getattr(response, "render", None)
    return render_method() if render_method is not None else response


@pytest.mark.parametrize(("debug", "shown"), [(True, True), (False, False)])
def test_a_failed_fragment_is_an_inline_box_in_debug_else_empty(
    settings: Any, site: EmulatorServer, debug: bool, shown: bool
) -> None:
    settings.DEBUG = debug
    run = runs(site, 1)[0]
    middleware = JanitorFragmentsMiddleware(
        lambda request: render(request, "fragments/broken.html", {"run": run})
    )
    page = middleware(RequestFactory().get("/")).content.decode()
    assert f"{run['run_id']}/" in page
    assert ("janitor-fragment-error" in page) is shown
    assert ("nope.html" in page) is shown


def test_without_the_middleware_each_fragment_renders_at_once(site: EmulatorServer) -> None:
    run = runs(site, 1)[0]
    with assert_num_api_calls(2):  # the v1 probe before the first POST, then the render
        page = render_to_string("fragments/part.html", {"more": [run]})
    assert f'<span class="fragment">{run["run_id"]}/' in page


def test_helper_filters_match_the_service_side_by_side(site: EmulatorServer) -> None:
    data = {
        "durations": [0, 59, 59.9, -90, 60, 90, 3599, 3600, 7500, 86399, 86400, 93600, 1e6],
        "timestamps": [
            "2025-06-08T10:50:50Z",
            "2025-06-08T10:50:50.5+02:00",
            "2025-06-08t23:59:59z",
            "nope",
            "2025-13-01T00:00:00Z",
        ],
        "codes": [
            {"code": code, "transient": transient}
            for code in ("success", "worker-failure", "cancelled", "build-failed", "worker-killed")
            for transient in (None, True, False, 0, "")
        ],
        "texts": [
            {"text": text, "length": length}
            for text in ("short", "ünïcode text that is long enough", "x" * 120)
            for length in (5, 100, -1, 0)
        ],
        "past": ["2000-01-01T00:00:00Z", "1999-12-31T12:00:00+01:00", "not a time"],
        "urls": [
            "https://salsa.debian.org/x",
            " HTTP://example.org/a?b=1&c=2 ",
            "javascript:alert(1)",
            "javascript://example.org/%0aalert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<b>x</b>",
            "//example.org/",
            "/relative",
            "http://",
            "http://[::1",
            "",
            None,
            7,
        ],
    }
    service = SiteClient(base_url=site.url, token=site.tokens["service"]).render_template(
        "helpers.html", data
    )
    django = render_to_string("fragments/filters.html", data)

    def lines(text: str) -> list[str]:
        return [
            html.unescape(line)
            for line in text.splitlines()
            if line[:2] in ("D|", "T|", "C|", "S|", "A|", "U|")
        ]

    assert lines(django) == lines(service)
    assert len(lines(service)) == 13 + 5 + 25 + 12 + 3 + 13
    assert lines(django)[-13:-10] == [
        "U|https://salsa.debian.org/x",
        "U| HTTP://example.org/a?b=1&c=2 ",
        "U|#",
    ]
