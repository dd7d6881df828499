"""Django models, admin, templates and OIDC login backed by the Janitor site API v1."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
