"""The httpx boundary: configuration, response capture, exception translation."""

from __future__ import annotations

from typing import Any

import httpx

from .. import exceptions
from ..conf import SiteConfig
from ._wire import Operation, RawResponse


def configure(
    config: SiteConfig | None,
    *,
    base_url: str | None,
    timeout: float | None,
    retries: int | None,
) -> SiteConfig:
    """``config`` or the Django settings, with the given keyword overrides."""
    if config is not None:
        return config.replace(url=base_url, timeout=timeout, retries=retries)
    return SiteConfig.from_settings(url=base_url, timeout=timeout, retries=retries)


def django_cache(alias: str | None) -> Any:
    """The Django cache of ``alias`` (None: no HTTP cache)."""
    if alias is None:
        return None
    from django.core.cache import caches

    return caches[alias]


def raw_response(response: httpx.Response, content: bytes | None = None) -> RawResponse:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return RawResponse(
        response.status_code, headers, response.content if content is None else content
    )


def deadline_passed(op: Operation[Any], seconds: float, error: BaseException) -> exceptions.Timeout:
    """The call's overall deadline ended the exchange (``error``: how it showed)."""
    timeout = exceptions.Timeout(f"{op.method} {op.path}: no answer within {seconds:g} s")
    timeout.__cause__ = error
    return timeout


def translate_errors(error: BaseException, op: Operation[Any]) -> exceptions.JanitorSiteError:
    """Our exception for an httpx one (ours pass through; others are re-raised)."""
    if isinstance(error, exceptions.JanitorSiteError):
        return error
    where = f"{op.method} {op.path}"
    translated: exceptions.TransportError
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
        translated = exceptions.ConnectError(f"{where}: cannot connect: {error}")
    elif isinstance(error, httpx.TimeoutException):
        translated = exceptions.Timeout(f"{where}: timed out: {error}")
    elif isinstance(error, httpx.HTTPError):
        translated = exceptions.TransportError(f"{where}: {type(error).__name__}: {error}")
    else:
        raise error
    translated.__cause__ = error
    return translated


class ClientBase:
    """What both clients hold: validated configuration, an explicit token, the HTTP cache."""

    def __init__(
        self,
        *,
        base_url: str | None,
        token: str | None,
        timeout: float | None,
        retries: int | None,
        config: SiteConfig | None,
    ) -> None:
        self.config = configure(config, base_url=base_url, timeout=timeout, retries=retries)
        self._token = token
        self._cache = django_cache(self.config.cache)
        #: Whether the server speaks v1; asked before the first POST (None: not yet known).
        self._v1: bool | None = None

    def _http_options(self, transport: Any) -> dict[str, Any]:
        """Options of the httpx client: the configured origin, never following redirects."""
        return {
            "base_url": self.config.url,
            "verify": self.config.verify_tls,
            "follow_redirects": False,
            "transport": transport,
            "timeout": self.config.timeout,
        }
