"""The ORM layer: API-backed querysets compiled from Django's own ``Query``."""

from __future__ import annotations

from .compiler import ApiQuery, compile_query
from .manager import ApiManager
from .queryset import ApiQuerySet
from .resources import Capabilities, FieldFilter, Resource

__all__ = [
    "ApiManager",
    "ApiQuery",
    "ApiQuerySet",
    "Capabilities",
    "FieldFilter",
    "Resource",
    "compile_query",
]
