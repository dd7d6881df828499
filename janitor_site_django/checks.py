"""System checks of the ``JANITOR_SITE_*`` settings, the middleware order, the OIDC refresh
lock's cache and local admins' paths across ``ApiForeignKey`` (registered in :mod:`.apps`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP
from django.utils.module_loading import import_string

from .conf import SiteConfig, setting

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The settings validate; tokens are not sent in clear text; the cache alias exists."""
    try:
        config = SiteConfig.from_settings()
    except ImproperlyConfigured as exc:
        missing_url = not getattr(settings, "JANITOR_SITE_URL", None)
        return [
            Error(
                str(exc),
                hint="See the settings table in the README of janitor-site-django.",
                id="janitor_site_django.E001" if missing_url else "janitor_site_django.E002",
            )
        ]
    messages: list[CheckMessage] = []
    parts = urlsplit(config.url)
    if config.api_token and parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        messages.append(
            Warning(
                "JANITOR_SITE_URL is plain http:// to a remote host: tokens would travel in clear.",
                hint="Use https:// for any service that is not on this machine.",
                id="janitor_site_django.W001",
            )
        )
    janitor_engines = [
        engine for engine in settings.TEMPLATES
        if engine.get("BACKEND") == "janitor_site_django.template.backends.JanitorTemplates"
    ]  # fmt: skip
    if janitor_engines and not config.api_token:
        messages.append(
            Warning(
                "JanitorTemplates renders need a token, and JANITOR_SITE_API_TOKEN is not set.",
                hint="Set a service token, or renders work only for users logged in with OIDC.",
                id="janitor_site_django.W002",
            )
        )
    if config.cache is not None and config.cache not in settings.CACHES:
        messages.append(
            Error(
                f"JANITOR_SITE_CACHE names {config.cache!r}, which CACHES does not define.",
                hint=f"Define CACHES[{config.cache!r}] or set JANITOR_SITE_CACHE = None.",
                id="janitor_site_django.E003",
            )
        )
    return messages


_AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
_TOKEN = "janitor_site_django.auth.middleware.OIDCTokenMiddleware"
_FRAGMENTS = "janitor_site_django.template.fragments.JanitorFragmentsMiddleware"


def _position(middleware: list[type], dotted: str) -> int | None:
    """Where a class of ``dotted`` (or a subclass) stands in MIDDLEWARE, if it can be imported."""
    try:
        wanted = import_string(dotted)
    except ImportError:  # the optional part is not installed, so it cannot be in MIDDLEWARE
        return None
    return next((i for i, cls in enumerate(middleware) if issubclass(cls, wanted)), None)


def _middleware() -> list[type]:
    """The classes of MIDDLEWARE that can be imported (Django's own loading reports the rest)."""
    middleware: list[type] = []
    for dotted in settings.MIDDLEWARE:
        try:
            imported = import_string(dotted)
        except ImportError:
            continue
        if isinstance(imported, type):
            middleware.append(imported)
    return middleware


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The user's token is bound after authentication and while fragments are rendered."""
    middleware = _middleware()
    token = _position(middleware, _TOKEN)
    if token is None:
        return []
    messages: list[CheckMessage] = []
    authentication = _position(middleware, _AUTHENTICATION)
    if authentication is None or authentication > token:
        messages.append(
            Error(
                "OIDCTokenMiddleware needs request.user: it must come after "
                "AuthenticationMiddleware in MIDDLEWARE.",
                hint=f"Move {_TOKEN!r} below {_AUTHENTICATION!r}.",
                id="janitor_site_django.E004",
            )
        )
    fragments = _position(middleware, _FRAGMENTS)
    if fragments is not None and fragments < token:
        messages.append(
            Error(
                "JanitorFragmentsMiddleware comes before OIDCTokenMiddleware in MIDDLEWARE: its "
                "render-batch call would run after the user's token is unbound.",
                hint=f"Move {_FRAGMENTS!r} below {_TOKEN!r}.",
                id="janitor_site_django.E005",
            )
        )
    return messages


#: Cache backends whose ``add`` no other process sees: a lock there binds one process only.
_PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def check_oidc_refresh(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The refresh lock's cache exists and, when the middleware refreshes tokens, is shared by
    every process."""
    try:
        alias = setting("JANITOR_SITE_OIDC_LOCK_CACHE")
    except ImproperlyConfigured:
        return []  # check_settings reports it (E002)
    if alias not in settings.CACHES:
        return [
            Error(
                f"JANITOR_SITE_OIDC_LOCK_CACHE names {alias!r}, which CACHES does not define.",
                hint=f"Define CACHES[{alias!r}] or set JANITOR_SITE_OIDC_LOCK_CACHE = 'default'.",
                id="janitor_site_django.E006",
            )
        ]
    refreshes = (
        getattr(settings, "OIDC_OP_TOKEN_ENDPOINT", None)
        and _position(_middleware(), _TOKEN) is not None
    )
    if not refreshes:
        return []
    try:
        backend = import_string(settings.CACHES[alias].get("BACKEND", ""))
    except ImportError:
        return []  # Django's own cache checks report it
    local = [import_string(dotted) for dotted in _PROCESS_LOCAL_CACHES]
    if isinstance(backend, type) and issubclass(backend, tuple(local)):
        return [
            Warning(
                "OIDC refresh is single-flight per process only: the lock's cache is local.",
                hint=f"CACHES[{alias!r}] is {backend.__name__}, seen by one process. Point "
                "JANITOR_SITE_OIDC_LOCK_CACHE at a cache all processes share (Redis, Memcached), "
                "or two processes may spend one refresh token and log the user out.",
                id="janitor_site_django.W003",
            )
        ]
    return []


def _through_api_key(model: type[Model], path: str) -> str | None:
    """The ``ApiForeignKey`` that ``path`` crosses to reach another field of the API model
    (a JOIN the database cannot make), as ``Model.field``; None when it stays on the key."""
    from .fields import ApiForeignKey

    parts = path.split(LOOKUP_SEP)
    for index, part in enumerate(parts[:-1]):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # Django's own admin checks report it
        if isinstance(field, ApiForeignKey):
            beyond = parts[index + 1]
            key = field.api_model._meta.pk
            if beyond not in ("pk", key.name if key else "pk") and field.get_lookup(beyond) is None:
                return f"{model.__name__}.{part}"
            return None
        if not field.is_relation or field.related_model is None:
            return None
        model = field.related_model
    return None


def check_admin_paths(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A local model's admin does not search, filter, sort or list across an ``ApiForeignKey``
    to the API model's other fields: each page would raise instead of joining."""
    from django.contrib.admin.sites import all_sites

    messages: list[CheckMessage] = []
    for site in all_sites:
        for model, model_admin in site._registry.items():
            options = {
                "search_fields": [str(f).lstrip("^=@") for f in model_admin.search_fields],
                "list_filter": [f for f in model_admin.list_filter if isinstance(f, str)],
                "ordering": [str(f).lstrip("-") for f in model_admin.ordering or ()],
                "list_display": [f for f in model_admin.list_display if isinstance(f, str)],
            }
            messages += _unsortable_columns(model, model_admin)
            for option, paths in options.items():
                for path in paths:
                    crossed = _through_api_key(model, path)
                    if crossed is None:
                        continue
                    messages.append(
                        Error(
                            f"{type(model_admin).__name__}.{option} has {path!r}, which crosses "
                            f"the ApiForeignKey {crossed}: the database holds only the key, so "
                            "the admin's query would fail.",
                            hint="Use the key itself (the field name, or <field>__pk), or put the "
                            "API model's own fields on the API model's admin.",
                            obj=type(model_admin),
                            id="janitor_site_django.E007",
                        )
                    )
    return messages


def _unsortable_columns(model: type[Model], model_admin: Any) -> list[CheckMessage]:
    """Columns of ``ApiForeignKey`` fields the admin offers to sort, where Django would sort by
    the API model's ``Meta.ordering``: that needs its columns in SQL, so a click would fail."""
    from .fields import ApiForeignKey

    messages: list[CheckMessage] = []
    sortable = model_admin.sortable_by
    for name in model_admin.list_display:
        try:
            field = model._meta.get_field(name) if isinstance(name, str) else None
        except FieldDoesNotExist:
            continue
        if not isinstance(field, ApiForeignKey) or (sortable is not None and name not in sortable):
            continue
        (path,) = field.path_infos
        if path.to_opts.ordering:  # not hidden: the API model is not sorted by its key
            messages.append(
                Warning(
                    f"{type(model_admin).__name__}.list_display has {name!r}, an ApiForeignKey "
                    f"to {field.api_model.__name__}, which is not sorted by its key: sorting the "
                    "column would need the API model's columns in SQL and fails.",
                    hint=f"Leave {name!r} out of sortable_by, or show a column sorted by the key "
                    f"(@admin.display(ordering={field.attname!r})).",
                    obj=type(model_admin),
                    id="janitor_site_django.W004",
                )
            )
    return messages
