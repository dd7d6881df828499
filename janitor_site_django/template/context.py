"""A template context as the JSON the service renders: explicit, safe, and nothing more.

API model instances and pydantic models become their v1 shapes, querysets lists, dates
RFC 3339, lazy values what they evaluate to; ``request`` becomes a small safe subset, users
``{username, is_authenticated, is_staff, is_superuser, groups}`` and messages
``{level, message, tags, level_tag, extra_tags}`` (sending them marks them used, as a Django
template's loop over them does). Anything else raises ``TypeError`` naming the context key.
Settings, sessions, cookies, headers and tokens have no serialisation here, so they can never
be sent.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

import pydantic
from django.contrib.messages.storage.base import BaseStorage, Message
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.http import HttpRequest
from django.utils.functional import Promise

from ..client.specs import format_timestamp


def _groups(user: Any) -> list[str]:
    """The names of the user's groups, sorted: one query a request (prefetched onto the user,
    as ``prefetch_related("groups")`` does), none for anonymous or unsaved users."""
    if getattr(user, "pk", None) is None or not hasattr(user, "groups"):
        return []
    prefetch_related_objects([user], "groups")
    return sorted(str(group.name) for group in user.groups.all())


def _user(user: Any) -> dict[str, Any]:
    return {
        "username": user.get_username() if user.is_authenticated else "",
        "is_authenticated": bool(user.is_authenticated),
        "is_staff": bool(getattr(user, "is_staff", False)),
        "is_superuser": bool(getattr(user, "is_superuser", False)),
        "groups": _groups(user),
    }


def _request(request: HttpRequest) -> dict[str, Any]:
    """What a template may know of the request: path, query parameters, user flags."""
    user = getattr(request, "user", None)
    return {
        "path": request.path,
        "GET": {key: request.GET.getlist(key) for key in request.GET},
        "user": _user(user) if user is not None else None,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "level": message.level,
        "message": str(message.message),
        "tags": message.tags,
        "level_tag": message.level_tag,
        "extra_tags": message.extra_tags,
    }


def _api_model(obj: Model) -> dict[str, Any]:
    """The v1 shape of an API model instance: its fields by name, relations by key."""
    return {
        field.name: to_json(getattr(obj, field.attname), field.name)
        for field in obj._meta.concrete_fields
    }


def to_json(value: Any, key: str) -> Any:
    """``value`` as JSON-ready data; ``key`` names it in the ``TypeError`` for anything else."""
    if value is None:
        return None
    for scalar in (bool, int, float, str):  # a lazy one (csrf_token) as what it evaluates to
        if isinstance(value, scalar):
            return value if type(value) is scalar else scalar(value)
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, uuid.UUID, Promise)):
        return str(value)
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Model) and hasattr(value, "api_resource"):
        return _api_model(value)
    if isinstance(value, QuerySet):
        return [to_json(item, key) for item in value]
    if isinstance(value, HttpRequest):
        return _request(value)
    if isinstance(value, BaseStorage):
        return [_message(message) for message in value]
    if hasattr(value, "is_authenticated") and hasattr(value, "get_username"):
        return _user(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(item, f"{key}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"Context value {key!r} ({type(value).__name__}) cannot be sent to the Janitor site "
        "service: pass JSON data, API models, querysets of them, pydantic models or dates."
    )


def serialise(context: Mapping[str, Any]) -> dict[str, Any]:
    """The whole context as JSON-ready data (``csrf_token`` as its string)."""
    return {str(key): to_json(value, str(key)) for key, value in context.items()}
