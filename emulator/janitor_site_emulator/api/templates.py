"""Template endpoints (§5.10): the template list and rendering, one or a batch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..context import Call
from ..errors import ApiError, unavailable, validation_error
from ..http import MAX_RENDER_BODY, json_body, list_response, post_response
from ..params import SortKey

if TYPE_CHECKING:
    from ..render import TemplateFailure, TemplateSet

MAX_BATCH = 100
#: Deepest render context accepted (arrays and objects; the contexts templates use nest < 10).
MAX_CONTEXT_DEPTH = 64


def _template_set(call: Call) -> TemplateSet:
    templates = call.emulator.templates
    if templates is None:
        raise unavailable("templates", "No template directory is configured")
    return templates


async def list_templates(request: Request) -> Response:
    call = await Call.begin(request)
    params = call.params
    q = params.string("q", "search")
    page = params.page()
    (order,) = params.sort(("name",), (SortKey("name"),), ("name",))
    templates = _template_set(call)
    names, version = await run_in_threadpool(lambda: (templates.names(), templates.version()))
    if q is not None:
        names = [name for name in names if q.lower() in name.lower()]
    names = sorted(names, reverse=order.descending)
    assert page.limit is not None
    items = names[page.offset : page.offset + page.limit]
    return list_response(request, items, len(names), page.offset, page.limit, version=version)


def _render_request(value: Any, prefix: str) -> tuple[str, dict[str, Any]]:
    """Validate one ``{"template", "context"}`` object; ``prefix`` names it in errors."""
    if not isinstance(value, dict):
        raise validation_error(prefix.rstrip("."), value, "an object with template and context")
    template = value.get("template")
    if not isinstance(template, str):
        raise validation_error(f"{prefix}template", template, "a template name (string)")
    context = value.get("context", {})
    if not isinstance(context, dict):
        raise validation_error(f"{prefix}context", context, "an object")
    if _depth(context) > MAX_CONTEXT_DEPTH:  # deeper would exhaust the renderer's stack
        expected = f"an object nested at most {MAX_CONTEXT_DEPTH} deep"
        raise validation_error(f"{prefix}context", None, expected)
    return template, context


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in a JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _failure_error(failure: TemplateFailure) -> ApiError:
    return ApiError(failure.code, failure.message, failure.details())


async def render(request: Request) -> Response:
    call = await Call.begin(request, "User")
    template, context = _render_request(await json_body(request, MAX_RENDER_BODY), "")
    templates = _template_set(call)
    from ..render import TemplateFailure

    try:
        html = await run_in_threadpool(templates.render, template, context)
    except TemplateFailure as failure:
        raise _failure_error(failure) from failure
    return Response(
        html.encode(),
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


async def render_batch(request: Request) -> Response:
    call = await Call.begin(request, "User")
    body = await json_body(request, MAX_RENDER_BODY)
    items = body.get("items")
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        raise validation_error("items", items, f"an array of at most {MAX_BATCH} render requests")
    requests = [_render_request(item, f"items[{index}].") for index, item in enumerate(items)]
    templates = _template_set(call)
    results = await run_in_threadpool(_render_all, templates, requests)
    return post_response(results)


def _render_all(
    templates: TemplateSet, requests: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    from ..render import TemplateFailure

    results: list[dict[str, Any]] = []
    for template, context in requests:
        try:
            results.append({"html": templates.render(template, context)})
        except TemplateFailure as failure:
            results.append(_failure_error(failure).envelope())
    return results
