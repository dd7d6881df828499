"""The OIDC tests: a real local identity provider (``tests/idp/``, django-oauth-toolkit).

``oidc_provider`` (session) and ``oidc_provider_factory`` come from :mod:`tests.oidc_support`;
tests using them skip when django-oauth-toolkit is not installed.
"""

from __future__ import annotations

from tests.oidc_support import oidc_provider, oidc_provider_factory

__all__ = ["oidc_provider", "oidc_provider_factory"]
