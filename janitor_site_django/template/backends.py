"""``JanitorTemplates``: a Django template backend whose templates the service renders.

::

    TEMPLATES = [
        {"BACKEND": "janitor_site_django.template.backends.JanitorTemplates",
         "OPTIONS": {
             "context_processors": [  # Django's startproject defaults work as they are
                 "django.template.context_processors.request",
                 "django.contrib.auth.context_processors.auth",
                 "django.contrib.messages.context_processors.messages",
             ],
             "user_variable": "django_user",  # the service's templates have their own "user"
         }},
        {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True},
    ]

``get_template()`` knows the names the service offers (``GET /api/templates``, reused for
``list_seconds``); any other name raises ``TemplateDoesNotExist`` so Django tries the next
engine. The listing has its own short deadline (``list_timeout``, no retries); when it fails,
the last names listed are served for ``backoff_seconds`` before the service is asked again, and
no lock is held while it is asked: during an outage, concurrent pages wait for at most one
listing, never one each. ``render()`` builds the context from ``request`` (always, as the
Jinja2 backend does), Django's built-in ``csrf``, the context processors as :mod:`.processors`
adapts them, then the view's values, which win as with DjangoTemplates; it serialises it
(:mod:`.context`) and POSTs it with the request user's token, else the service token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.template import Origin, TemplateDoesNotExist, TemplateSyntaxError
from django.template.backends.base import BaseEngine
from django.template.context_processors import csrf
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe

from .. import exceptions
from ..client import SiteClient, current_user_token, get_client
from ..conf import SiteConfig
from . import processors
from .context import serialise

OPTIONS = (
    "context_processors",
    "user_variable",
    "perms_variable",
    "list_seconds",
    "list_timeout",
    "backoff_seconds",
)
#: Seconds the service's template names are reused before they are asked for again.
LIST_SECONDS = 60.0
#: Deadline of one listing, seconds (capped by ``JANITOR_SITE_TIMEOUT``).
LIST_TIMEOUT = 2.0
#: Seconds a failed listing is remembered before the service is asked again.
BACKOFF_SECONDS = 10.0

logger = logging.getLogger(__name__)


def require_credentials() -> None:
    """Renders need an authenticated caller: the user's token or the service token."""
    if current_user_token() is None and SiteConfig.from_settings().api_token is None:
        raise ImproperlyConfigured(
            "Rendering with the Janitor site service needs a token: set JANITOR_SITE_API_TOKEN "
            "(a service token) or log users in with OIDC."
        )


def _seconds(options: Mapping[str, Any], name: str, default: float, zero: bool = True) -> float:
    """A number of seconds from ``OPTIONS``: ≥ 0, or > 0 when ``zero`` is False."""
    value = options.get(name, default)
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not value >= 0 or (value == 0 and not zero):  # NaN too
        least = "≥ 0" if zero else "> 0"
        raise ImproperlyConfigured(
            f"JanitorTemplates OPTIONS[{name!r}] must be a number of seconds {least}, not "
            f"{value!r}."
        )
    return float(value)


class JanitorTemplates(BaseEngine):
    app_dirname = "janitor_templates"

    def __init__(self, params: dict[str, Any]) -> None:
        params = params.copy()
        options = dict(params.pop("OPTIONS", {}))
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown OPTIONS for {type(self).__name__}: {', '.join(unknown)}; "
                f"allowed: {', '.join(OPTIONS)}."
            )
        super().__init__(params)
        self.context_processors: list[str] = list(options.get("context_processors", ()))
        self.user_variable, self.perms_variable = processors.auth_variables(options)
        self.list_seconds = _seconds(options, "list_seconds", LIST_SECONDS)
        self.list_timeout = _seconds(options, "list_timeout", LIST_TIMEOUT, zero=False)
        self.backoff_seconds = _seconds(options, "backoff_seconds", BACKOFF_SECONDS)
        self._names: frozenset[str] | None = None  # None: never listed
        self._failure: str | None = None  # why the last listing failed
        self._due = -float("inf")  # when the service is next asked
        self._listing: threading.Event | None = None  # set when the listing under way ends
        self._lock = threading.Lock()  # guards the fields above; never held across I/O

    @cached_property
    def template_context_processors(self) -> list[processors.Processor]:
        """Django's built-in ``csrf``, then ``OPTIONS["context_processors"]``, as adapted by
        :mod:`.processors`."""
        found = [csrf, *(import_string(path) for path in self.context_processors)]
        user, perms = self.user_variable, self.perms_variable
        return [processors.adapt(processor, user=user, perms=perms) for processor in found]

    def names(self) -> frozenset[str]:
        """The template names the service offers (cached for ``list_seconds``; after a failure,
        the last ones listed, for ``backoff_seconds``)."""
        return self._offered()[0]

    def _offered(self) -> tuple[frozenset[str], str | None]:
        """The names to serve now, and why the last listing failed (None: it did not)."""
        with self._lock:
            listing = self._listing
            mine = listing is None and time.monotonic() >= self._due
            if mine:
                listing = self._listing = threading.Event()
            elif listing is None or self._names is not None:  # fresh, backing off or stale
                return self._names or frozenset(), self._failure
        assert listing is not None
        if not mine:  # never listed: wait for the listing under way, whatever it brings
            listing.wait(self._deadline() + 1)
            with self._lock:
                return self._names or frozenset(), self._failure
        names: frozenset[str] | None = None
        failure: str | None = "the listing did not finish"
        try:
            names, failure = self._list(), None
        except exceptions.JanitorSiteError as error:
            failure = str(error)
            logger.warning(
                "Listing the Janitor site service's templates failed (%s); the last names "
                "listed are used for %s s.", error, self.backoff_seconds,
            )  # fmt: skip
        finally:
            with self._lock:
                self._names = self._names if names is None else names
                self._failure = failure
                wait = self.list_seconds if failure is None else self.backoff_seconds
                self._due = time.monotonic() + wait
                self._listing = None
                served = self._names or frozenset()
            listing.set()
        return served, failure

    def _deadline(self) -> float:
        return min(self.list_timeout, SiteConfig.from_settings().timeout)

    def _list(self) -> frozenset[str]:
        with SiteClient(timeout=self._deadline(), retries=0) as client:
            return frozenset(client.list_templates(limit=1000).items)

    def get_template(self, template_name: str) -> JanitorTemplate:
        names, failure = self._offered()
        if template_name not in names:  # let the next engine try
            reason = "Not offered by the Janitor site service"
            if failure is not None:
                reason = f"The Janitor site service failed: {failure}"
            origin = Origin(template_name, template_name, loader=None)
            raise TemplateDoesNotExist(template_name, tried=[(origin, reason)], backend=self)
        require_credentials()
        return JanitorTemplate(template_name, self)

    def from_string(self, template_code: str) -> Any:
        raise TemplateSyntaxError(
            "The Janitor site service renders only its own templates; from_string() is not "
            "supported."
        )


class JanitorTemplate:
    """One service template, rendered remotely."""

    def __init__(self, name: str, backend: JanitorTemplates) -> None:
        self.name = name
        self.template_name = name
        self.backend = backend
        self.origin = Origin(name, name, loader=None)

    def render(
        self, context: Mapping[str, Any] | None = None, request: HttpRequest | None = None
    ) -> SafeString:
        data: dict[str, Any] = {}
        if request is not None:
            data["request"] = request
            for processor in self.backend.template_context_processors:
                data.update(processor(request))
        data.update(context or {})  # the view's values win over the processors', as in Django
        payload = serialise(data)
        try:
            html = get_client().render_template(self.name, payload)
        except exceptions.ValidationFailed as error:
            raise self._syntax_error(error) from error
        except exceptions.NotFound as error:
            raise TemplateDoesNotExist(self.name, backend=self.backend) from error
        return mark_safe(html)  # noqa: S308 - the service escapes what it renders

    def _syntax_error(self, error: exceptions.ValidationFailed) -> TemplateSyntaxError:
        """A Django error carrying ``template_debug``, so the debug 500 page shows the spot."""
        details = error.details
        name = details.get("template") or self.name
        line = details.get("line") or 1
        message = details.get("message") or error.reason
        failure = TemplateSyntaxError(f"{name}, line {line}: {message}")
        where = f"line {line}" + (f", column {details['column']}" if details.get("column") else "")
        excerpt = f"{{# {name}, {where}: rendered by the Janitor site service #}}"
        failure.template_debug = {  # type: ignore[attr-defined]
            "name": name,
            "message": message,
            "source_lines": [(line, excerpt)],
            "line": line,
            "before": "",
            "during": excerpt,
            "after": "",
            "total": line,
            "top": line,
            "bottom": line,
            "start": 0,
            "end": len(excerpt),
        }
        return failure
