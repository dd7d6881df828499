"""Service fragments inside Django pages, rendered together: one ``render-batch`` call a response.

``{% janitor_render %}`` leaves a placeholder and records the fragment in the current batch;
``JanitorFragmentsMiddleware`` opens a batch per request and, once the page is rendered,
renders every recorded fragment in one call and puts the HTML in place. This works with
``render()``, ``TemplateResponse``, ``{% include %}``, ``{% extends %}`` and loops, in sync and
async views. Without the middleware, each tag renders at once (one call per fragment).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from .. import exceptions, schemas
from ..client import get_client
from ..conf import setting
from ..middleware import RequestContextMiddleware
from .backends import require_credentials

logger = logging.getLogger("janitor_site_django.templates")

#: Fragments one ``render-batch`` call may carry (v1 maximum).
BATCH_SIZE = 100

_batch: contextvars.ContextVar[FragmentBatch | None] = contextvars.ContextVar(
    "janitor_site_fragments", default=None
)


def error_output(name: str, message: str) -> str:
    """What a failed fragment shows: an inline box (default with DEBUG) or nothing."""
    mode = setting("JANITOR_SITE_FRAGMENT_ERRORS") or ("inline" if settings.DEBUG else "empty")
    logger.error("fragment %s failed: %s", name, message)
    if mode == "inline":
        return format_html(
            '<div class="janitor-fragment-error" role="alert">{}: {}</div>', name, message
        )
    return ""


class FragmentBatch:
    """The fragments of one response, by placeholder."""

    def __init__(self) -> None:
        self.fragments: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(self, name: str, context: dict[str, Any]) -> str:
        marker = f"<!--janitor-fragment:{uuid.uuid4().hex}-->"
        self.fragments[marker] = (name, context)
        return marker

    def render(self) -> dict[str, str]:
        """Every fragment's HTML by placeholder, in one call per 100 fragments."""
        markers = list(self.fragments)
        html: dict[str, str] = {}
        for start in range(0, len(markers), BATCH_SIZE):
            chunk = markers[start : start + BATCH_SIZE]
            items = [self.fragments[marker] for marker in chunk]
            try:
                results = get_client().render_templates(items)
            except exceptions.JanitorSiteError as error:
                html.update((m, error_output(self.fragments[m][0], str(error))) for m in chunk)
                continue
            for marker, result in zip(chunk, results, strict=True):
                if isinstance(result, schemas.RenderedItem):
                    html[marker] = result.html
                else:
                    html[marker] = error_output(self.fragments[marker][0], result.reason)
        return html

    def fill(self, content: str) -> str:
        for marker, html in self.render().items():
            content = content.replace(marker, html)
        return content


@contextlib.contextmanager
def fragment_batch() -> Iterator[FragmentBatch]:
    """Collect the fragments rendered in the block (fill them with ``batch.fill(html)``)."""
    batch = FragmentBatch()
    reset = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(reset)


def current_batch() -> FragmentBatch | None:
    return _batch.get()


def render_now(name: str, context: dict[str, Any]) -> str:
    """One fragment without a batch (no middleware): one call."""
    require_credentials()
    try:
        return get_client().render_template(name, context)
    except exceptions.JanitorSiteError as error:
        return error_output(name, str(error))


def _fill(response: HttpResponse, batch: FragmentBatch) -> HttpResponse:
    if (
        batch.fragments
        and not response.streaming
        and "text/html" in response.get("Content-Type", "")
    ):
        charset = response.charset or "utf-8"
        response.content = batch.fill(response.content.decode(charset)).encode(charset)
    return response


class JanitorFragmentsMiddleware(RequestContextMiddleware):
    """One fragment batch per request, filled with one ``render-batch`` call (sync and async).

    Put it after ``OIDCTokenMiddleware``: the batch is rendered with the user's token."""

    leave_blocks = True  # the render-batch call

    def enter(self, request: HttpRequest) -> contextlib.AbstractContextManager[FragmentBatch]:
        return fragment_batch()

    def leave(self, request: HttpRequest, response: HttpResponse, batch: FragmentBatch) -> Any:
        return _fill(response, batch)
