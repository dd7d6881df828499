"""``{% load janitor_site %}``: service fragments in Django templates, and the service's helpers.

``{% janitor_render "run-summary.html" run=run %}`` renders a service template inside the page
(batched per response by ``JanitorFragmentsMiddleware``). Filters mirror the service's:
``timeago``, ``format_duration``, ``format_timestamp``, ``classify_result_code``, ``summarize``,
and ``safe_url`` for every value put into ``href``/``src`` (``javascript:`` URLs become ``#``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.utils.safestring import SafeString, mark_safe

from ..template import helpers
from ..template.context import serialise
from ..template.fragments import current_batch, render_now

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, name: FilterExpression, arguments: dict[str, FilterExpression]) -> None:
        self.name = name
        self.arguments = arguments

    def render(self, context: template.Context) -> SafeString:
        name = str(self.name.resolve(context))
        payload = serialise({key: value.resolve(context) for key, value in self.arguments.items()})
        batch = current_batch()
        html = batch.add(name, payload) if batch is not None else render_now(name, payload)
        return mark_safe(html)  # noqa: S308 - the service escapes what it renders


@register.tag
def janitor_render(parser: Parser, token: Token) -> FragmentNode:
    """``{% janitor_render "name.html" key=value ... %}``"""
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError(
            f'{bits[0]} needs a template name: {{% {bits[0]} "run-summary.html" run=run %}}'
        )
    arguments = {}
    for bit in bits[2:]:
        key, sep, value = bit.partition("=")
        if not sep or not key.isidentifier():
            raise template.TemplateSyntaxError(f"{bits[0]} takes key=value arguments, not {bit!r}")
        arguments[key] = parser.compile_filter(value)
    return FragmentNode(parser.compile_filter(bits[1]), arguments)


@register.filter
def timeago(value: Any) -> Any:
    return helpers.timeago(value)


@register.filter
def format_duration(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return helpers.format_duration(value)


@register.filter
def format_timestamp(value: Any) -> Any:
    return helpers.format_timestamp(value)


@register.filter
def classify_result_code(value: Any, transient: Any = None) -> str:
    return helpers.classify_result_code(value, transient)


@register.filter
def summarize(value: Any, length: Any = 100) -> str:
    return helpers.summarize(value, length)


@register.filter
def safe_url(value: Any) -> str:
    return helpers.safe_url(value)
