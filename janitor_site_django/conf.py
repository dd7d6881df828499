"""Settings, read at access time (so ``override_settings`` works), and :class:`SiteConfig`.

Every setting is flat and prefixed ``JANITOR_SITE_``; the defaults live in :data:`DEFAULTS`.
``SiteConfig.from_settings()`` validates them into one immutable object; ``SiteConfig.from_env()``
reads the same names from the environment for code that runs outside Django settings;
:func:`setting` reads and validates one of them alone (for code that must not depend on the others,
such as the app's ``ready()``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from . import __version__

MAX_PAGE_SIZE = 1000

DEFAULTS: dict[str, Any] = {
    "JANITOR_SITE_URL": None,
    "JANITOR_SITE_API_TOKEN": None,
    "JANITOR_SITE_TIMEOUT": 10.0,
    "JANITOR_SITE_MAX_RESPONSE_BYTES": 64 * 1024 * 1024,
    "JANITOR_SITE_RETRIES": 2,
    "JANITOR_SITE_PAGE_SIZE": MAX_PAGE_SIZE,
    "JANITOR_SITE_CACHE": None,
    "JANITOR_SITE_CACHE_TTL": 300,
    "JANITOR_SITE_STALE_IF_ERROR": 3600,
    "JANITOR_SITE_VERIFY_TLS": True,
    "JANITOR_SITE_USER_AGENT": f"janitor-site-django/{__version__}",
    "JANITOR_SITE_ADMIN": False,
    "JANITOR_SITE_ADMIN_GROUP": None,
    "JANITOR_SITE_SUPERUSER_GROUP": None,
    "JANITOR_SITE_OIDC_REFRESH_MARGIN": 30.0,
    "JANITOR_SITE_OIDC_LOCK_CACHE": "default",
    "JANITOR_SITE_FRAGMENT_ERRORS": None,
}

#: What a failed ``{% janitor_render %}`` fragment shows (None: ``inline`` with DEBUG, else empty).
FRAGMENT_ERROR_MODES = ("inline", "empty")


def _url(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f"You must set {name} to the Janitor site service's base URL, "
            "e.g. 'https://janitor.debian.net' (the part before /api)."
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name} must be an http(s) URL with a host and no query or fragment, not {value!r}."
        )
    return value.rstrip("/")


def _optional_str(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be a string or None, not {type(value).__name__}.")
    return value


def _positive_float(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ImproperlyConfigured(f"{name} must be a finite number of seconds > 0, not {value!r}.")
    return float(value)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 10**9:
        raise ImproperlyConfigured(f"{name} must be a number of seconds >= 0, not {value!r}.")
    return float(value)


def _one_of(*choices: str) -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        if value is not None and value not in choices:
            allowed = ", ".join(repr(choice) for choice in choices)
            raise ImproperlyConfigured(f"{name} must be one of {allowed} or None, not {value!r}.")
        return None if value is None else str(value)

    return check


def _bounded_int(low: int, high: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ImproperlyConfigured(
                f"{name} must be an integer from {low} to {high}, not {value!r}."
            )
        return value

    return check


def _alias(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f"{name} must be an alias of CACHES (a non-empty string), not {value!r}."
        )
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}.")
    return value


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "JANITOR_SITE_URL": _url,
    "JANITOR_SITE_API_TOKEN": _optional_str,
    "JANITOR_SITE_TIMEOUT": _positive_float,
    "JANITOR_SITE_MAX_RESPONSE_BYTES": _bounded_int(1024, 2**40),
    "JANITOR_SITE_RETRIES": _bounded_int(0, 10),
    "JANITOR_SITE_PAGE_SIZE": _bounded_int(1, MAX_PAGE_SIZE),
    "JANITOR_SITE_CACHE": _optional_str,
    "JANITOR_SITE_CACHE_TTL": _bounded_int(0, 10**9),
    "JANITOR_SITE_STALE_IF_ERROR": _bounded_int(0, 10**9),
    "JANITOR_SITE_VERIFY_TLS": _bool,
    "JANITOR_SITE_USER_AGENT": _optional_str,
    "JANITOR_SITE_ADMIN": _bool,
    "JANITOR_SITE_ADMIN_GROUP": _optional_str,
    "JANITOR_SITE_SUPERUSER_GROUP": _optional_str,
    "JANITOR_SITE_OIDC_REFRESH_MARGIN": _seconds,
    "JANITOR_SITE_OIDC_LOCK_CACHE": _alias,
    "JANITOR_SITE_FRAGMENT_ERRORS": _one_of(*FRAGMENT_ERROR_MODES),
}

_TRUE_TEXT = ("1", "true", "yes", "on")

#: Parsers of environment strings, for :meth:`SiteConfig.from_env`.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "JANITOR_SITE_TIMEOUT": float,
    "JANITOR_SITE_MAX_RESPONSE_BYTES": int,
    "JANITOR_SITE_RETRIES": int,
    "JANITOR_SITE_PAGE_SIZE": int,
    "JANITOR_SITE_CACHE_TTL": int,
    "JANITOR_SITE_STALE_IF_ERROR": int,
    "JANITOR_SITE_VERIFY_TLS": lambda text: text.strip().lower() in _TRUE_TEXT,
    "JANITOR_SITE_ADMIN": lambda text: text.strip().lower() in _TRUE_TEXT,
    "JANITOR_SITE_OIDC_REFRESH_MARGIN": float,
}


def _configured_settings() -> dict[str, Any]:
    """The ``JANITOR_SITE_*`` names set in Django settings (none when Django is not set up)."""
    from django.conf import settings

    if not settings.configured:
        return {}
    return {name: getattr(settings, name) for name in DEFAULTS if hasattr(settings, name)}


def setting(name: str) -> Any:
    """One ``JANITOR_SITE_*`` setting, read now and validated on its own."""
    from django.conf import settings

    value = getattr(settings, name, DEFAULTS[name]) if settings.configured else DEFAULTS[name]
    return _VALIDATORS[name](name, value)


def _setting_name(field: str) -> str:
    return "JANITOR_SITE_" + field.upper()


@dataclasses.dataclass(frozen=True)
class SiteConfig:
    """Validated configuration: the client's, the admin's, the OIDC layer's, the fragments'."""

    url: str
    api_token: str | None = dataclasses.field(default=None, repr=False)  # never in a repr
    timeout: float = DEFAULTS["JANITOR_SITE_TIMEOUT"]
    max_response_bytes: int = DEFAULTS["JANITOR_SITE_MAX_RESPONSE_BYTES"]
    retries: int = DEFAULTS["JANITOR_SITE_RETRIES"]
    page_size: int = DEFAULTS["JANITOR_SITE_PAGE_SIZE"]
    cache: str | None = None
    cache_ttl: int = DEFAULTS["JANITOR_SITE_CACHE_TTL"]
    stale_if_error: int = DEFAULTS["JANITOR_SITE_STALE_IF_ERROR"]
    verify_tls: bool = True
    user_agent: str = DEFAULTS["JANITOR_SITE_USER_AGENT"]
    admin: bool = False
    admin_group: str | None = None
    superuser_group: str | None = None
    oidc_refresh_margin: float = DEFAULTS["JANITOR_SITE_OIDC_REFRESH_MARGIN"]
    oidc_lock_cache: str = DEFAULTS["JANITOR_SITE_OIDC_LOCK_CACHE"]
    fragment_errors: str | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> SiteConfig:
        """Validate a mapping of ``JANITOR_SITE_*`` names (missing names take their defaults)."""
        checked = {
            name: validate(name, values.get(name, DEFAULTS[name]))
            for name, validate in _VALIDATORS.items()
        }
        checked["JANITOR_SITE_USER_AGENT"] = (
            checked["JANITOR_SITE_USER_AGENT"] or DEFAULTS["JANITOR_SITE_USER_AGENT"]
        )
        return cls(**{f.name: checked[_setting_name(f.name)] for f in dataclasses.fields(cls)})

    @classmethod
    def from_settings(cls, **overrides: Any) -> SiteConfig:
        """The configuration in Django settings, read now; non-None ``overrides`` (by field
        name, e.g. ``url=``, ``timeout=``) replace settings."""
        values = _configured_settings()
        values.update({_setting_name(k): v for k, v in overrides.items() if v is not None})
        return cls.from_values(values)

    def replace(self, **overrides: Any) -> SiteConfig:
        """A copy with non-None ``overrides`` (by field name), validated again."""
        values = {_setting_name(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update({_setting_name(k): v for k, v in overrides.items() if v is not None})
        return SiteConfig.from_values(values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SiteConfig:
        """The configuration in environment variables of the same names (outside Django)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in DEFAULTS:
            if name in environ:
                text = environ[name]
                try:
                    values[name] = _FROM_TEXT.get(name, str)(text)
                except ValueError as exc:
                    raise ImproperlyConfigured(f"{name}={text!r} is not valid: {exc}") from exc
        return cls.from_values(values)
