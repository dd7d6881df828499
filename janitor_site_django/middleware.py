"""Middleware: the shared sync/async shape, and one API scope per Django request.

The app's three middlewares (``OIDCTokenMiddleware``, ``ApiScopeMiddleware``,
``JanitorFragmentsMiddleware``) each run the rest of the request inside a context of their own.
:class:`RequestContextMiddleware` is that shape once, for WSGI and ASGI alike: the context is
entered in the caller's own context (so its context variables reach the view, sync or async),
and work that may block runs in a worker thread under ASGI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .client import api_scope


class RequestContextMiddleware:
    """Runs each request inside :meth:`enter`'s context, then passes the response to
    :meth:`leave` (sync and async)."""

    sync_capable = True
    async_capable = True
    #: ``enter`` / ``leave`` may block (session store, HTTP): off the event loop under ASGI.
    enter_blocks = False
    leave_blocks = False

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def enter(self, request: HttpRequest) -> AbstractContextManager[Any] | HttpResponseBase:
        """The context for the rest of the request, or a response that answers it now."""
        raise NotImplementedError

    def leave(self, request: HttpRequest, response: Any, state: Any) -> Any:
        """The response, once the context is left (``state``: what the context yielded)."""
        return response

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        context = self.enter(request)
        if isinstance(context, HttpResponseBase):
            return context
        with context as state:
            response = self.get_response(request)
        return self.leave(request, response, state)

    async def _acall(self, request: HttpRequest) -> Any:
        enter = sync_to_async(self.enter) if self.enter_blocks else _immediate(self.enter)
        context = await enter(request)
        if isinstance(context, HttpResponseBase):
            return context
        with context as state:
            awaited: Awaitable[Any] = self.get_response(request)
            response = await awaited
        leave = sync_to_async(self.leave) if self.leave_blocks else _immediate(self.leave)
        return await leave(request, response, state)


def _immediate(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any) -> Any:
        return function(*args)

    return call


class ApiScopeMiddleware(RequestContextMiddleware):
    """Wrap each request in :func:`~janitor_site_django.client.api_scope`: identical GETs of one
    request are sent once."""

    def enter(self, request: HttpRequest) -> AbstractContextManager[Any]:
        return api_scope()
