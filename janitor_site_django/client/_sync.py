# Generated from janitor_site_django/client/_async.py by scripts/unasync.py: do not edit.
# Change _async.py, then run `python scripts/unasync.py`.
"""``SiteClient``: the shell over ``httpx.Client`` (pooled, keep-alive)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

import httpx

from .. import exceptions, schemas
from ..conf import SiteConfig
from . import operations as ops
from ._deadline import Deadline, WaitBudget
from ._legacy import require_v1
from ._parsers import streamed
from ._plan import CallPlan
from ._retry import Sleep
from ._transport import ClientBase, deadline_passed, raw_response, translate_errors
from ._wire import BodyReader, Operation, RawResponse
from .paging import Page, walk_pages

T = TypeVar("T")


class SiteClient(ClientBase):
    """Janitor site API v1 client; ``SiteClient()`` reads the ``JANITOR_SITE_*`` settings.

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, token=token, timeout=timeout, retries=retries, config=config
        )
        transport = transport or Deadline.transport(self.config.verify_tls)
        self._http = httpx.Client(**self._http_options(transport))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SiteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, op: Operation[T]) -> T:
        """Send one operation (built by :mod:`~janitor_site_django.client.operations`)."""
        if not op.idempotent:
            self._require_v1(op)
        plan = CallPlan(op, self.config, self._token, type(self), caching=self._cache is not None)
        if plan.memoized:
            return plan.memo_value()
        if plan.cache_key is not None and self._cache is not None:
            plan.use_cached(self._cache.get(plan.cache_key))
        try:
            raw = plan.answered(self._exchange(plan))
        except Exception as error:
            raw = plan.failed(translate_errors(error, op))
        entry = plan.entry_to_store(raw)
        if entry is not None and self._cache is not None:
            self._cache.set(plan.cache_key, entry, plan.store_seconds)
        return plan.finish(raw)

    # Plumbing -----------------------------------------------------------------------------

    def _require_v1(self, op: Operation[Any]) -> None:
        """Send POSTs to v1 servers only; the server is asked once per client (§8 #19)."""
        if self._v1 is None:
            self._v1 = self.call(ops.probe_api_version())
        require_v1(op, self._v1)

    def _exchange(self, plan: CallPlan[Any]) -> RawResponse:
        flow = plan.flow()
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                outcome = None
            else:
                plan.sent()
                outcome = self._send(plan, step.timeout)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def _send(
        self,
        plan: CallPlan[Any],
        timeout: float,
    ) -> RawResponse | exceptions.JanitorSiteError:
        op = plan.op
        headers = httpx.Headers(plan.headers())  # its repr hides the token: frames show it
        if op.body is not None:
            headers["Content-Type"] = "application/json"
        guard = Deadline(timeout)
        try:
            with (
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
                    for chunk in response.iter_raw():
                        body.add(chunk)
        except (httpx.HTTPError, TimeoutError) as error:
            if guard.expired:
                return deadline_passed(op, self.config.timeout, error)
            return translate_errors(error, op)
        return raw_response(response, content=body.content())

    def _pages(self, build: Any, filters: Mapping[str, Any]) -> Iterator[Any]:
        walk = walk_pages(filters, self.config.page_size)
        params = next(walk)
        while True:
            page: Page[Any] = self.call(build(**params))
            yield from page.items
            try:
                params = walk.send(page)
            except StopIteration:
                return

    # Service ------------------------------------------------------------------------------

    def health(self) -> schemas.Health:
        return self.call(ops.health())

    def status(self) -> schemas.Status:
        return self.call(ops.status())

    def get_user(self) -> schemas.User:
        return self.call(ops.get_user())

    # Codebases ----------------------------------------------------------------------------

    def get_codebase(
        self,
        name: str,
        *,
        include_inactive: bool | None = None,
    ) -> schemas.Codebase:
        return self.call(ops.get_codebase(name, include_inactive))

    def list_codebases(self, **filters: Any) -> Page[schemas.Codebase]:
        return self.call(ops.list_codebases(**filters))

    def iter_codebases(self, **filters: Any) -> Iterator[schemas.Codebase]:
        ops.list_codebases(**filters)  # validate now, not at the first next()
        return self._pages(ops.list_codebases, filters)

    def list_codebase_runs(self, name: str, **filters: Any) -> Page[schemas.Run]:
        return self.call(ops.list_codebase_runs(name, **filters))

    def list_codebase_merge_proposals(
        self, name: str, **filters: Any
    ) -> Page[schemas.MergeProposal]:
        return self.call(ops.list_codebase_merge_proposals(name, **filters))

    # Runs ---------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> schemas.Run:
        return self.call(ops.get_run(run_id))

    def list_runs(self, **filters: Any) -> Page[schemas.Run]:
        return self.call(ops.list_runs(**filters))

    def iter_runs(self, **filters: Any) -> Iterator[schemas.Run]:
        ops.list_runs(**filters)
        return self._pages(ops.list_runs, filters)

    def get_run_diff(self, run_id: str, role: str = "main") -> bytes:
        return self.call(ops.get_run_diff(run_id, role))

    def update_run(self, run_id: str, *, description: str | None) -> schemas.Run:
        return self.call(ops.update_run(run_id, description=description))

    def reschedule_run(
        self,
        run_id: str,
        *,
        offset: int | None = None,
        refresh: bool | None = None,
        requester: str | None = None,
    ) -> schemas.ScheduleResult:
        op = ops.reschedule_run(run_id, offset=offset, refresh=refresh, requester=requester)
        return self.call(op)

    # Merge proposals, queue, active runs -------------------------------------------------

    def list_merge_proposals(
        self, campaign: str | None = None, codebase: str | None = None, **filters: Any
    ) -> Page[schemas.MergeProposal]:
        return self.call(ops.list_merge_proposals(campaign, codebase, **filters))

    def get_queue_status(self) -> schemas.QueueStats:
        return self.call(ops.get_queue_status())

    def list_queue_items(self, **filters: Any) -> Page[schemas.QueueItem]:
        return self.call(ops.list_queue_items(**filters))

    def list_active_runs(self, **filters: Any) -> Page[schemas.ActiveRun]:
        return self.call(ops.list_active_runs(**filters))

    def get_active_run(self, run_id: str) -> schemas.ActiveRun:
        return self.call(ops.get_active_run(run_id))

    # Campaigns ----------------------------------------------------------------------------

    def list_ready_runs(self, campaign: str, **filters: Any) -> Page[schemas.ReadyRun]:
        return self.call(ops.list_ready_runs(campaign, **filters))

    def get_campaign_codebase(self, campaign: str, codebase: str) -> schemas.CampaignCodebase:
        return self.call(ops.get_campaign_codebase(campaign, codebase))

    def publish(
        self, campaign: str, codebase: str, *, mode: str | None = None, requester: str | None = None
    ) -> schemas.PublishResult:
        return self.call(ops.publish(campaign, codebase, mode=mode, requester=requester))

    # Search, export, templates -----------------------------------------------------------

    def search(self, q: str | None = None, **filters: Any) -> Page[schemas.SearchResult]:
        return self.call(ops.search(q, **filters))

    def list_pkgnames(self, **filters: Any) -> Page[str]:
        return self.call(ops.list_pkgnames(**filters))

    def export(
        self, kind: str, format: str = "csv", *, timeout: float | None = None, **filters: Any
    ) -> Iterator[bytes]:
        """The export body, streamed in chunks (the request starts at the first ``next()``).

        ``timeout``: the seconds the whole export may spend waiting on the service (default
        ``JANITOR_SITE_TIMEOUT``); the time the consumer takes between chunks does not count.
        """
        return self._stream(ops.export(kind, format, **filters), timeout)

    def _stream(self, op: Operation[None], timeout: float | None) -> Iterator[bytes]:
        plan = CallPlan(op, self.config, self._token, type(self), caching=False)
        plan.sent()
        budget = WaitBudget(self.config.timeout if timeout is None else timeout)
        try:
            headers = httpx.Headers(plan.headers())
            with ExitStack() as stack:
                with budget.waiting():
                    exchange = self._http.stream(op.method, op.target, headers=headers)
                    response = stack.enter_context(exchange)
                    raw = raw_response(response, content=b"")
                    if not streamed(raw):  # an error or a legacy envelope: read to be parsed
                        raw = raw_response(response, content=response.read())
                plan.finish(plan.answered(raw))
                chunks = response.iter_bytes()
                while True:
                    with budget.waiting():
                        chunk = next(chunks, None)
                    if chunk is None:
                        return
                    yield chunk
        except (httpx.HTTPError, TimeoutError) as error:
            if budget.expired:
                plan.failed(deadline_passed(op, budget.seconds, error))
            plan.failed(translate_errors(error, op))

    def list_templates(self, **filters: Any) -> Page[str]:
        return self.call(ops.list_templates(**filters))

    def render_template(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        return self.call(ops.render_template(name, context))

    def render_templates(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[schemas.RenderItemResult]:
        return self.call(ops.render_templates(items))
