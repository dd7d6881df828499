"""Django models, admin, templates and OIDC login backed by the Janitor site API v1."""

from __future__ import annotations

__version__ = "0.1.0"

from . import exceptions  # noqa: E402
from .client import AsyncSiteClient, Page, SiteClient  # noqa: E402

__all__ = ["AsyncSiteClient", "Page", "SiteClient", "__version__", "exceptions"]
