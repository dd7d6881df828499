"""Django's template conventions on ``JanitorTemplates``: the standard context processors.

Pages go through Django's whole middleware stack (``tests/template/urls.py``) to the live
emulator, whose ``conventions.html`` prints every variable it received as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages.constants import DEFAULT_LEVELS
from django.contrib.sessions.backends.cache import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest
from django.template.context_processors import debug
from django.template.loader import get_template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from janitor_site_django.template.backends import JanitorTemplates
from janitor_site_django.testing.emulator import EmulatorServer

#: ``TEMPLATES[0]["OPTIONS"]["context_processors"]`` of Django's ``startproject``: 5.2 lists the
#: last three, Django up to 5.0 listed ``debug`` first as well.
STARTPROJECT = [
    "django.template.context_processors.debug",
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
]
#: Every other standard processor of Django.
STANDARD = [
    *STARTPROJECT,
    "django.template.context_processors.csrf",
    "django.template.context_processors.static",
    "django.template.context_processors.media",
    "django.template.context_processors.tz",
    "django.template.context_processors.i18n",
]
ALICE = {
    "username": "alice",
    "is_authenticated": True,
    "is_staff": True,
    "is_superuser": False,
    "groups": ["editors", "ops"],
}
ANONYMOUS = {
    "username": "",
    "is_authenticated": False,
    "is_staff": False,
    "is_superuser": False,
    "groups": [],
}


def janitor_templates(processors: list[str], **options: Any) -> dict[str, Any]:
    return {
        "NAME": "janitor",
        "BACKEND": "janitor_site_django.template.backends.JanitorTemplates",
        "OPTIONS": {"context_processors": processors, **options},
    }


@pytest.fixture
def stack(settings: Any, service: EmulatorServer) -> Any:
    """Settings as a project's: DEBUG on, this machine internal, Django's default processors."""
    settings.JANITOR_SITE_URL = service.url
    settings.JANITOR_SITE_API_TOKEN = service.tokens["service"]
    settings.ROOT_URLCONF = "tests.template.urls"
    settings.DEBUG = True
    settings.INTERNAL_IPS = ["127.0.0.1"]
    settings.MEDIA_URL = "/media/"
    settings.TEMPLATES = [janitor_templates(STARTPROJECT)]
    return settings


@pytest.fixture
def alice(db: None) -> User:
    """Staff, in two groups, with a permission of her own and one through a group."""
    user = User.objects.create_user("alice", password="x", is_staff=True)
    ops, editors = Group.objects.create(name="ops"), Group.objects.create(name="editors")
    user.groups.add(ops, editors)
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    ops.permissions.add(Permission.objects.get(codename="change_group"))
    return user


def received(page: str) -> dict[str, Any]:
    """The variables the service's page printed, by name (the ones it received)."""
    lines = [line[2:].partition("=") for line in page.splitlines() if line.startswith("V|")]
    return {name: json.loads(value) for name, _, value in lines}


def page(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return received(response.content.decode())


def shape(user: User) -> dict[str, Any]:
    """A user as the documented shape, read from the database."""
    user = User.objects.get(pk=user.pk)
    return {
        "username": user.username,
        "is_authenticated": True,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
    }


def perms_of(user: Any) -> list[str]:
    """Every permission Django's own ``perms`` says yes to (``"app.codename" in perms``)."""
    wrapper = PermWrapper(User.objects.get(pk=user.pk) if user.pk else user)
    every = Permission.objects.values_list("content_type__app_label", "codename")
    return sorted(name for name in (f"{app}.{code}" for app, code in every) if name in wrapper)


def test_startproject_processors_send_the_documented_shapes(
    stack: Any, alice: User, sent: list[dict[str, Any]]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    got = page(client, "/conventions/?q=py")
    assert got["user"] == shape(alice) == ALICE
    assert got["request"] == {"path": "/conventions/", "GET": {"q": ["py"]}, "user": got["user"]}
    assert got["messages"] == [
        {"level": 20, "message": "Saved.", "tags": "info", "level_tag": "info", "extra_tags": ""},
        {
            "level": 30,
            "message": "Careful.",
            "tags": "sticky warning",
            "level_tag": "warning",
            "extra_tags": "sticky",
        },
    ]
    assert got["DEFAULT_MESSAGE_LEVELS"] == DEFAULT_LEVELS
    # Django's own debug processor fills both here (DEBUG, an internal address): never sent.
    local = RequestFactory().get("/")
    assert sorted(debug(local)) == ["debug", "sql_queries"]
    (context,) = sent
    expected = ["DEFAULT_MESSAGE_LEVELS", "csrf_token", "messages", "request", "title", "user"]
    assert sorted(context) == sorted(got) == expected
    # The token the service printed is one Django's CSRF check accepts.
    posted = client.post("/conventions/", {"csrfmiddlewaretoken": got["csrf_token"]})
    assert posted.status_code == 200 and posted.content == b"posted"
    assert client.post("/conventions/", {"csrfmiddlewaretoken": "x" * 64}).status_code == 403
    text = json.dumps(context)
    for secret in (client.cookies["sessionid"].value, client.cookies["csrftoken"].value):
        assert secret not in text
    assert django_settings.SECRET_KEY not in text
    # Sent, the messages were used, as by a Django template's loop: the next page has new ones.
    assert [m["message"] for m in page(client, "/conventions/")["messages"]] == [
        "Saved.",
        "Careful.",
    ]


@pytest.mark.parametrize("who", ["alice", "superuser", "anonymous"])
def test_every_standard_processor_and_perms(
    stack: Any, alice: User, sent: list[dict[str, Any]], who: str
) -> None:
    stack.TEMPLATES = [janitor_templates(STANDARD, perms_variable="perms")]
    client = Client()
    user: Any = alice
    if who == "superuser":
        user = User.objects.create_superuser("root", password="x")
    if who != "anonymous":
        client.force_login(user)
    got = page(client, "/conventions/?tz=Europe/Paris&lang=he")
    assert got["user"] == (shape(user) if who != "anonymous" else ANONYMOUS)
    assert got["perms"] == (perms_of(user) if who != "anonymous" else [])
    if who == "alice":
        assert got["perms"] == ["auth.change_group", "auth.view_user"]
    if who == "superuser":
        assert len(got["perms"]) == Permission.objects.count()
    assert got["STATIC_URL"] == "/static/" and got["MEDIA_URL"] == "/media/"
    assert got["TIME_ZONE"] == "Europe/Paris"  # the current zone, not settings.TIME_ZONE
    assert got["LANGUAGE_CODE"] == "he" and got["LANGUAGE_BIDI"] is True
    languages = [[code, str(name)] for code, name in django_settings.LANGUAGES]
    assert got["LANGUAGES"] == languages and ["he", "Hebrew"] in languages
    assert "debug" not in sent[0] and "sql_queries" not in sent[0]
    assert sorted(sent[0]) == sorted(got)


def test_the_user_variable_maps_djangos_user_beside_the_services(
    stack: Any, alice: User, service: EmulatorServer, sent: list[dict[str, Any]]
) -> None:
    stack.TEMPLATES = [janitor_templates(STARTPROJECT, user_variable="site_user")]
    client = Client()
    client.force_login(alice)
    got = page(client, "/service-user/")
    headers = {"Authorization": f"Bearer {service.tokens['service']}"}
    own = httpx.get(f"{service.url}/api/user", headers=headers).json()["data"]
    assert got["user"] == own and "sub" in own  # the view's value: the service's own user
    assert got["site_user"] == shape(alice)
    assert got["request"]["user"] == shape(alice)


def test_user_variable_none_leaves_djangos_user_out(stack: Any, alice: User) -> None:
    stack.TEMPLATES = [janitor_templates(STARTPROJECT, user_variable=None)]
    client = Client()
    client.force_login(alice)
    got = page(client, "/conventions/")
    assert "user" not in got and "site_user" not in got
    assert got["request"]["user"]["username"] == "alice"


def title_processor(request: HttpRequest) -> dict[str, Any]:
    return {"title": "from the processor", "greeting": SimpleLazyObject(lambda: "hello")}


def secret_processor(request: HttpRequest) -> dict[str, Any]:
    return {"session": request.session}


def test_the_views_values_win_and_unsendable_ones_name_their_key(
    stack: Any, sent: list[dict[str, Any]]
) -> None:
    """As with DjangoTemplates: what the view passes overrides the processors' variables."""
    module = "tests.template.test_conventions"
    stack.TEMPLATES = [janitor_templates([f"{module}.title_processor"])]
    request = RequestFactory().get("/")
    got = received(get_template("conventions.html").render({"title": "from the view"}, request))
    assert got["title"] == "from the view"
    assert sent[0]["greeting"] == "hello"
    stack.TEMPLATES = [janitor_templates([f"{module}.secret_processor"])]
    request.session = SessionStore()
    request.session["oidc_access_token"] = "secret"
    with pytest.raises(TypeError, match="'session'"):
        get_template("conventions.html").render({}, request)
    assert len(sent) == 1  # refused before the render call


def lazy_user(user: User) -> SimpleLazyObject:
    """``request.user`` as ``AuthenticationMiddleware`` sets it."""
    return SimpleLazyObject(lambda: User.objects.get(pk=user.pk))


def test_perms_cost_no_query_unless_asked_and_a_second_render_none(stack: Any, alice: User) -> None:
    request = RequestFactory().get("/")
    request.user = lazy_user(alice)
    with CaptureQueriesContext(connection) as queries:
        get_template("conventions.html").render({}, request)
    sql = [query["sql"] for query in queries]
    assert len(sql) == 2  # the user, their groups
    assert not any("auth_permission" in statement for statement in sql)
    stack.TEMPLATES = [janitor_templates(STARTPROJECT, perms_variable="perms")]
    request.user = lazy_user(alice)
    with CaptureQueriesContext(connection) as first:
        get_template("conventions.html").render({}, request)
    with CaptureQueriesContext(connection) as second:
        get_template("conventions.html").render({}, request)
    assert len(first) == 4 and len(second) == 0  # + the user's and their groups' permissions


@pytest.mark.parametrize(
    ("options", "named", "shown"),
    [
        ({"user_variable": "my-user"}, "OPTIONS['user_variable']", "'my-user'"),
        ({"user_variable": ""}, "OPTIONS['user_variable']", "not ''"),
        ({"user_variable": 3}, "OPTIONS['user_variable']", "not 3"),
        ({"user_variable": "request"}, "OPTIONS['user_variable']", "not 'request'"),
        ({"perms_variable": "csrf_token"}, "OPTIONS['perms_variable']", "not 'csrf_token'"),
        ({"perms_variable": ["perms"]}, "OPTIONS['perms_variable']", "not ['perms']"),
        ({"perms_variable": "user"}, "OPTIONS['perms_variable']", "not both 'user'"),
        ({"user_variable": "me", "perms_variable": "me"}, "must differ", "not both 'me'"),
    ],
)
def test_bad_auth_variables_are_improperly_configured(
    options: dict[str, Any], named: str, shown: str
) -> None:
    params = {"NAME": "x", "DIRS": [], "APP_DIRS": False, "OPTIONS": options}
    with pytest.raises(ImproperlyConfigured) as refused:
        JanitorTemplates(params)
    assert named in str(refused.value) and shown in str(refused.value)
    assert str(refused.value).startswith("JanitorTemplates OPTIONS[")
