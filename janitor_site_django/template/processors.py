"""Django's standard context processors on ``JanitorTemplates``: what each one sends.

DjangoTemplates hands its templates Python objects; the service gets JSON (:mod:`.context`).
Each standard processor still runs as Django wrote it, and its output is adapted where JSON
cannot carry it:

* ``auth``: the user goes under ``OPTIONS["user_variable"]`` (default ``"user"``; None leaves
  it out) as ``{username, is_authenticated, is_staff, is_superuser, groups}``. ``perms`` (a
  ``PermWrapper`` that queries when a template asks) is sent only under
  ``OPTIONS["perms_variable"]`` (default None: left out, no query), as the sorted list of the
  ``"app_label.codename"`` names ``user.get_all_permissions()`` gives;
* ``debug``: nothing, ever (``sql_queries`` is SQL text, ``debug`` tells DEBUG is on);
* ``csrf`` (also built in, as with DjangoTemplates), ``request``, ``messages``, ``static``,
  ``media``, ``tz``, ``i18n``: their variables, serialised as they are.

Any other processor's output is sent as it is, or refused by :func:`.context.serialise`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.context_processors import auth
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.template.context_processors import debug

Processor = Callable[[HttpRequest], Mapping[str, Any]]

#: Names the backend itself fills: ``user_variable`` and ``perms_variable`` may not take them.
BUILT_IN = ("request", "csrf_token")


def _variable(options: Mapping[str, Any], name: str, default: str | None) -> str | None:
    """A template variable name from ``OPTIONS``, or None (left out)."""
    value = options.get(name, default)
    if value is None or (isinstance(value, str) and value.isidentifier() and value not in BUILT_IN):
        return value
    raise ImproperlyConfigured(
        f"JanitorTemplates OPTIONS[{name!r}] must be a template variable name (an identifier, "
        f"not {' or '.join(map(repr, BUILT_IN))}) or None, not {value!r}."
    )


def auth_variables(options: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``OPTIONS["user_variable"]`` (default ``"user"``) and ``OPTIONS["perms_variable"]``
    (default None), validated."""
    user = _variable(options, "user_variable", "user")
    perms = _variable(options, "perms_variable", None)
    if perms is not None and perms == user:
        raise ImproperlyConfigured(
            "JanitorTemplates OPTIONS['user_variable'] and OPTIONS['perms_variable'] must "
            f"differ, not both {perms!r}."
        )
    return user, perms


def _auth(request: HttpRequest, *, user: str | None, perms: str | None) -> dict[str, Any]:
    found = auth(request)["user"]  # request.user, else AnonymousUser, as Django finds it
    output: dict[str, Any] = {}
    if user is not None:
        output[user] = found
    if perms is not None:
        names = getattr(found, "get_all_permissions", None)  # a user model without permissions
        output[perms] = sorted(names()) if names is not None else []
    return output


def _nothing(request: HttpRequest) -> dict[str, Any]:
    return {}


def adapt(processor: Processor, *, user: str | None, perms: str | None) -> Processor:
    """``processor`` as it runs for the service (Django's own ``auth`` and ``debug`` adapted)."""
    if processor is auth:
        return functools.partial(_auth, user=user, perms=perms)
    if processor is debug:
        return _nothing
    return processor
