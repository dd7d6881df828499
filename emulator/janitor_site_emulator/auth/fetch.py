"""HTTP GET of the identity provider with the standard library (blocking: run it in a thread).

:data:`Fetch` is the seam the OIDC validator calls; :func:`urllib_fetch` is the real one. A
fetch returns every HTTP answer, whatever its status, as an :class:`Answer`, and raises
:class:`Unreachable` when no answer came and :class:`Unusable` when what came is not HTTP.
"""

from __future__ import annotations

import dataclasses
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import __version__

_USER_AGENT = f"janitor-site-emulator/{__version__}"


@dataclasses.dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and its body."""

    status: int
    body: bytes


class Unreachable(Exception):
    """No answer: name not resolved, connection refused or reset, TLS failure, timeout."""


class Unusable(Exception):
    """What came back is not HTTP, or the URL is not one to fetch."""


#: GET ``url`` with request ``headers``, ``timeout`` seconds at most per network operation.
Fetch = Callable[[str, Mapping[str, str], float], Answer]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other: never followed."""

    def redirect_request(self, *args: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def urllib_fetch(url: str, headers: Mapping[str, str], timeout: float) -> Answer:
    """GET ``url`` (``http`` or ``https`` only) with :mod:`urllib.request`; proxies per the
    environment. The exception's message is the failure's type, never the request."""
    try:
        return _get(url, headers, timeout)
    except (http.client.HTTPException, ValueError) as exc:
        raise Unusable(type(exc).__name__) from exc
    except urllib.error.URLError as exc:
        raise Unreachable(type(exc.reason).__name__) from exc
    except OSError as exc:
        raise Unreachable(type(exc).__name__) from exc


def _get(url: str, headers: Mapping[str, str], timeout: float) -> Answer:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("not an HTTP URL")
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, **headers})
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:  # any status but 2xx: an answer too
        with error:
            return Answer(error.code, error.read())
    with response:
        return Answer(response.status, response.read())
