"""``JanitorTemplates``: a Django template backend whose templates the service renders.

::

    TEMPLATES = [
        {"BACKEND": "janitor_site_django.template.backends.JanitorTemplates",
         "OPTIONS": {"context_processors": ["myproject.context_processors.site"]}},
        {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True},
    ]

``get_template()`` knows the names the service offers (``GET /api/templates``, reused for
``list_seconds``); any other name raises ``TemplateDoesNotExist`` so Django tries the next
engine. ``render()`` runs the context processors, serialises the context
(:mod:`.context`) and POSTs it with the request user's token, else the service token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import Origin, TemplateDoesNotExist, TemplateSyntaxError
from django.template.backends.base import BaseEngine
from django.utils.functional import lazy
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe

from .. import exceptions
from ..client import current_user_token, get_client
from ..conf import SiteConfig
from .context import serialise

OPTIONS = ("context_processors", "list_seconds")
#: Seconds the service's template names are reused before they are asked for again.
LIST_SECONDS = 60.0

_csrf_token = lazy(get_token, str)


def require_credentials() -> None:
    """Renders need an authenticated caller: the user's token or the service token."""
    if current_user_token() is None and SiteConfig.from_settings().api_token is None:
        raise ImproperlyConfigured(
            "Rendering with the Janitor site service needs a token: set JANITOR_SITE_API_TOKEN "
            "(a service token) or log users in with OIDC."
        )


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
        self._processor_paths: list[str] = list(options.get("context_processors", ()))
        self.list_seconds = float(options.get("list_seconds", LIST_SECONDS))
        self._names: frozenset[str] = frozenset()
        self._listed = -float("inf")
        self._lock = threading.Lock()

    @property
    def context_processors(self) -> list[Callable[[HttpRequest], Mapping[str, Any]]]:
        return [import_string(path) for path in self._processor_paths]

    def names(self) -> frozenset[str]:
        """The template names the service offers (cached for ``list_seconds``)."""
        with self._lock:
            if time.monotonic() - self._listed > self.list_seconds:
                client = get_client()
                page = client.list_templates(limit=1000)
                self._names = frozenset(page.items)
                self._listed = time.monotonic()
            return self._names

    def get_template(self, template_name: str) -> JanitorTemplate:
        try:
            offered = template_name in self.names()
            reason = "Not offered by the Janitor site service"
        except exceptions.JanitorSiteError as error:  # let the next engine try
            offered, reason = False, f"The Janitor site service failed: {error}"
        if not offered:
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
        data: dict[str, Any] = dict(context or {})
        if request is not None:
            data["request"] = request
            data["csrf_token"] = _csrf_token(request)
            for processor in self.backend.context_processors:
                data.update(processor(request))
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
