"""The Janitor site API v1 client: :class:`SiteClient` and :class:`AsyncSiteClient`."""

from __future__ import annotations

from ._async import AsyncSiteClient, get_async_client
from ._core import Page
from ._instrument import ApiCall
from ._plan import api_scope
from ._sync import SiteClient, get_client
from .tokens import current_user_token, user_token

__all__ = [
    "ApiCall",
    "AsyncSiteClient",
    "Page",
    "SiteClient",
    "api_scope",
    "current_user_token",
    "get_async_client",
    "get_client",
    "user_token",
]
