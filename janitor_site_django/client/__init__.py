"""The Janitor site API v1 client: :class:`SiteClient` and :class:`AsyncSiteClient`.

Public modules: :mod:`.operations` (one :class:`Operation` builder per API call, sent with
``client.call(op)``), :mod:`.specs` (what each endpoint accepts), :mod:`.paging` (:class:`Page`,
:func:`~.paging.walk_pages`), :mod:`.tokens`.
"""

from __future__ import annotations

from ._async import AsyncSiteClient
from ._defaults import get_async_client, get_client
from ._instrument import ApiCall
from ._plan import api_scope
from ._sync import SiteClient
from ._wire import Operation
from .paging import Page, walk_pages
from .tokens import current_user_token, user_token

__all__ = [
    "ApiCall",
    "AsyncSiteClient",
    "Operation",
    "Page",
    "SiteClient",
    "api_scope",
    "current_user_token",
    "get_async_client",
    "get_client",
    "user_token",
    "walk_pages",
]
