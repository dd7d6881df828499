"""The shared clients: one per thread for sync code, one per event loop for async code."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import MutableMapping
from typing import Any, TypeVar

from ..conf import SiteConfig
from ._async import AsyncSiteClient
from ._sync import SiteClient

C = TypeVar("C", SiteClient, AsyncSiteClient)

_thread = threading.local()
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncSiteClient] = (
    weakref.WeakKeyDictionary()
)


def _current(clients: MutableMapping[Any, C], key: object, client_class: type[C]) -> C:
    """``clients[key]`` while it was made for the current settings, else a new client there."""
    config = SiteConfig.from_settings()
    client = clients.get(key)
    if client is None or client.config != config:
        client = clients[key] = client_class(config=config)
    return client


def get_client() -> SiteClient:
    """This thread's client for the current settings (a new one when they change)."""
    mine: dict[str, SiteClient] = vars(_thread)  # a threading.local's __dict__ is per thread
    return _current(mine, "client", SiteClient)


def get_async_client() -> AsyncSiteClient:
    """This event loop's client for the current settings (a new one when they change)."""
    return _current(_loops, asyncio.get_running_loop(), AsyncSiteClient)
