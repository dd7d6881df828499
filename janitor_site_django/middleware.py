"""Middleware: one API scope per Django request (identical GETs are sent once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from .client import api_scope


class ApiScopeMiddleware:
    """Wrap each request in :func:`~janitor_site_django.client.api_scope` (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        with api_scope():
            return self.get_response(request)

    async def _acall(self, request: Any) -> Any:
        with api_scope():
            response: Awaitable[Any] = self.get_response(request)
            return await response
