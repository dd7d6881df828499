"""Django models, admin, templates and OIDC login backed by the Janitor site API v1.

Import-light, as a Django app must be while the app registry loads: the client names below are
imported on first use (``from janitor_site_django import SiteClient``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Lazily re-exported names and the modules that define them.
_EXPORTS = {
    "AsyncSiteClient": "janitor_site_django.client",
    "Page": "janitor_site_django.client",
    "SiteClient": "janitor_site_django.client",
    "exceptions": "janitor_site_django.exceptions",
}

if TYPE_CHECKING:
    from . import exceptions
    from .client import AsyncSiteClient, Page, SiteClient

__all__ = ["AsyncSiteClient", "Page", "SiteClient", "__version__", "exceptions"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'janitor_site_django' has no attribute {name!r}")
    imported = importlib.import_module(module)
    return imported if name == "exceptions" else getattr(imported, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
