"""``AsyncSiteClient``: the shell over ``httpx.AsyncClient`` (pooled, keep-alive)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import httpx

from .. import exceptions, schemas
from ..conf import SiteConfig
from . import operations as ops
from ._deadline import AsyncDeadline, AsyncWaitBudget
from ._legacy import require_v1
from ._parsers import streamed
from ._plan import CallPlan
from ._retry import Sleep
from ._transport import ClientBase, deadline_passed, raw_response, translate_errors
from ._wire import BodyReader, Operation, RawResponse
from .paging import Page, walk_pages

T = TypeVar("T")


class AsyncSiteClient(ClientBase):
    """Janitor site API v1 client; ``AsyncSiteClient()`` reads the ``JANITOR_SITE_*`` settings.

    Keyword arguments override them: ``base_url``, ``token`` (always send this token instead
    of the user's or the service token), ``timeout`` (overall deadline of one call, seconds),
    ``retries``, ``config`` (a whole :class:`~janitor_site_django.conf.SiteConfig`),
    ``transport`` (an httpx transport, e.g. for fault injection in tests).
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        config: SiteConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, token=token, timeout=timeout, retries=retries, config=config
        )
        transport = transport or AsyncDeadline.transport(self.config.verify_tls)
        self._http = httpx.AsyncClient(**self._http_options(transport))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSiteClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(self, op: Operation[T]) -> T:
        """Send one operation (built by :mod:`~janitor_site_django.client.operations`)."""
        if not op.idempotent:
            await self._require_v1(op)
        plan = CallPlan(op, self.config, self._token, type(self), caching=self._cache is not None)
        if plan.memoized:
            return plan.memo_value()
        if plan.cache_key is not None and self._cache is not None:
            plan.use_cached(await self._cache.aget(plan.cache_key))
        try:
            raw = plan.answered(await self._exchange(plan))
        except Exception as error:
            raw = plan.failed(translate_errors(error, op))
        entry = plan.entry_to_store(raw)
        if entry is not None and self._cache is not None:
            await self._cache.aset(plan.cache_key, entry, plan.store_seconds)
        return plan.finish(raw)

    # Plumbing -----------------------------------------------------------------------------

    async def _require_v1(self, op: Operation[Any]) -> None:
        """Send POSTs to v1 servers only; the server is asked once per client (§8 #19)."""
        if self._v1 is None:
            self._v1 = await self.call(ops.probe_api_version())
        require_v1(op, self._v1)

    async def _exchange(self, plan: CallPlan[Any]) -> RawResponse:
        flow = plan.flow()
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                outcome = None
            else:
                plan.sent()
                outcome = await self._send(plan, step.timeout)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    async def _send(
        self,
        plan: CallPlan[Any],
        timeout: float,
    ) -> RawResponse | exceptions.JanitorSiteError:
        op = plan.op
        headers = httpx.Headers(plan.headers())  # its repr hides the token: frames show it
        if op.body is not None:
            headers["Content-Type"] = "application/json"
        guard = AsyncDeadline(timeout)
        try:
            async with (
                guard,
                self._http.stream(
                    op.method, op.target, headers=headers, content=op.body, timeout=timeout
                ) as response,
            ):
                limit = self.config.max_response_bytes
                if response.is_stream_consumed:  # built in memory (a mock transport's)
                    body = BodyReader(op, limit, None)
                    body.add(response.content)
                else:
                    body = BodyReader(op, limit, response.headers.get("content-encoding"))
                    async for chunk in response.aiter_raw():
                        body.add(chunk)
        except (httpx.HTTPError, TimeoutError) as error:
            if guard.expired:
                return deadline_passed(op, self.config.timeout, error)
            return translate_errors(error, op)
        return raw_response(response, content=body.content())

    async def _pages(self, build: Any, filters: Mapping[str, Any]) -> AsyncIterator[Any]:
        walk = walk_pages(filters, self.config.page_size)
        params = next(walk)
        while True:
            page: Page[Any] = await self.call(build(**params))
            for item in page.items:
                yield item
            try:
                params = walk.send(page)
            except StopIteration:
                return

    # Service ------------------------------------------------------------------------------

    async def health(self) -> schemas.Health:
        return await self.call(ops.health())

    async def status(self) -> schemas.Status:
        return await self.call(ops.status())

    async def get_user(self) -> schemas.User:
        return await self.call(ops.get_user())

    # Codebases ----------------------------------------------------------------------------

    async def get_codebase(
        self,
        name: str,
        *,
        include_inactive: bool | None = None,
    ) -> schemas.Codebase:
        return await self.call(ops.get_codebase(name, include_inactive))

    async def list_codebases(self, **filters: Any) -> Page[schemas.Codebase]:
        return await self.call(ops.list_codebases(**filters))

    def iter_codebases(self, **filters: Any) -> AsyncIterator[schemas.Codebase]:
        ops.list_codebases(**filters)  # validate now, not at the first next()
        return self._pages(ops.list_codebases, filters)

    async def list_codebase_runs(self, name: str, **filters: Any) -> Page[schemas.Run]:
        return await self.call(ops.list_codebase_runs(name, **filters))

    async def list_codebase_merge_proposals(
        self, name: str, **filters: Any
    ) -> Page[schemas.MergeProposal]:
        return await self.call(ops.list_codebase_merge_proposals(name, **filters))

    # Runs ---------------------------------------------------------------------------------

    async def get_run(self, run_id: str) -> schemas.Run:
        return await self.call(ops.get_run(run_id))

    async def list_runs(self, **filters: Any) -> Page[schemas.Run]:
        return await self.call(ops.list_runs(**filters))

    def iter_runs(self, **filters: Any) -> AsyncIterator[schemas.Run]:
        ops.list_runs(**filters)
        return self._pages(ops.list_runs, filters)

    async def get_run_diff(self, run_id: str, role: str = "main") -> bytes:
        return await self.call(ops.get_run_diff(run_id, role))

    async def update_run(self, run_id: str, *, description: str | None) -> schemas.Run:
        return await self.call(ops.update_run(run_id, description=description))

    async def reschedule_run(
        self,
        run_id: str,
        *,
        offset: int | None = None,
        refresh: bool | None = None,
        requester: str | None = None,
    ) -> schemas.ScheduleResult:
        op = ops.reschedule_run(run_id, offset=offset, refresh=refresh, requester=requester)
        return await self.call(op)

    # Merge proposals, queue, active runs -------------------------------------------------

    async def list_merge_proposals(
        self, campaign: str | None = None, codebase: str | None = None, **filters: Any
    ) -> Page[schemas.MergeProposal]:
        return await self.call(ops.list_merge_proposals(campaign, codebase, **filters))

    async def get_queue_status(self) -> schemas.QueueStats:
        return await self.call(ops.get_queue_status())

    async def list_queue_items(self, **filters: Any) -> Page[schemas.QueueItem]:
        return await self.call(ops.list_queue_items(**filters))

    async def list_active_runs(self, **filters: Any) -> Page[schemas.ActiveRun]:
        return await self.call(ops.list_active_runs(**filters))

    async def get_active_run(self, run_id: str) -> schemas.ActiveRun:
        return await self.call(ops.get_active_run(run_id))

    # Campaigns ----------------------------------------------------------------------------

    async def list_ready_runs(self, campaign: str, **filters: Any) -> Page[schemas.ReadyRun]:
        return await self.call(ops.list_ready_runs(campaign, **filters))

    async def get_campaign_codebase(self, campaign: str, codebase: str) -> schemas.CampaignCodebase:
        return await self.call(ops.get_campaign_codebase(campaign, codebase))

    async def publish(
        self, campaign: str, codebase: str, *, mode: str | None = None, requester: str | None = None
    ) -> schemas.PublishResult:
        return await self.call(ops.publish(campaign, codebase, mode=mode, requester=requester))

    # Search, export, templates -----------------------------------------------------------

    async def search(self, q: str | None = None, **filters: Any) -> Page[schemas.SearchResult]:
        return await self.call(ops.search(q, **filters))

    async def list_pkgnames(self, **filters: Any) -> Page[str]:
        return await self.call(ops.list_pkgnames(**filters))

    def export(
        self, kind: str, format: str = "csv", *, timeout: float | None = None, **filters: Any
    ) -> AsyncIterator[bytes]:
        """The export body, streamed in chunks (the request starts at the first ``next()``).

        ``timeout``: the seconds the whole export may spend waiting on the service (default
        ``JANITOR_SITE_TIMEOUT``); the time the consumer takes between chunks does not count.
        """
        return self._stream(ops.export(kind, format, **filters), timeout)

    async def _stream(self, op: Operation[None], timeout: float | None) -> AsyncIterator[bytes]:
        plan = CallPlan(op, self.config, self._token, type(self), caching=False)
        plan.sent()
        budget = AsyncWaitBudget(self.config.timeout if timeout is None else timeout)
        try:
            headers = httpx.Headers(plan.headers())
            async with AsyncExitStack() as stack:
                async with budget.waiting():
                    exchange = self._http.stream(op.method, op.target, headers=headers)
                    response = await stack.enter_async_context(exchange)
                    raw = raw_response(response, content=b"")
                    if not streamed(raw):  # an error or a legacy envelope: read to be parsed
                        raw = raw_response(response, content=await response.aread())
                plan.finish(plan.answered(raw))
                chunks = response.aiter_bytes()
                while True:
                    async with budget.waiting():
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        return
                    yield chunk
        except (httpx.HTTPError, TimeoutError) as error:
            if budget.expired:
                plan.failed(deadline_passed(op, budget.seconds, error))
            plan.failed(translate_errors(error, op))

    async def list_templates(self, **filters: Any) -> Page[str]:
        return await self.call(ops.list_templates(**filters))

    async def render_template(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        return await self.call(ops.render_template(name, context))

    async def render_templates(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[schemas.RenderItemResult]:
        return await self.call(ops.render_templates(items))
