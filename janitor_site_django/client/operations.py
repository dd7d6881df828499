"""One builder per client method: arguments in, a validated :class:`Operation` out (no I/O).

Both clients call these, so a method means the same request on both; ``client.call(op)``
(``await aclient.call(op)``) sends one.

Keys containing ``/`` (codebase names such as ``debian/package``) never match a v1 path
(§2.1, Revision 1.1). Those calls go to the list endpoint's exact-match parameter instead, with
the same result type; a call without such a form (every POST, the diff, an active run, a
campaign's ready list or codebase) is refused with :class:`~exceptions.UnsupportedByServer`
before any request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import exceptions, schemas
from . import specs
from ._legacy import version_parser
from ._parsers import (
    bytes_parser,
    data_parser,
    export_parser,
    item_parser,
    page_parser,
    text_parser,
)
from ._wire import Operation, in_path, json_body, path, segment
from .paging import Page

PUBLISH_MODES = ("push-derived", "push", "propose", "attempt-push")
MAX_RENDER_BATCH = 100

_codebase = data_parser(schemas.Codebase)
_run = data_parser(schemas.Run)
_active_run = data_parser(schemas.ActiveRun)
_codebases = page_parser(schemas.Codebase)
_runs = page_parser(schemas.Run)
_merge_proposals = page_parser(schemas.MergeProposal)
_queue_items = page_parser(schemas.QueueItem)
_active_runs = page_parser(schemas.ActiveRun)
_ready_runs = page_parser(schemas.ReadyRun)
_search_results = page_parser(schemas.SearchResult)
_strings = page_parser(str)
_GET_CODEBASE = specs.ListSpec({"include_inactive": specs.CODEBASE_FILTERS["include_inactive"]}, ())


def _list(
    name: str, where: str, spec: specs.ListSpec, parse: Any, filters: Mapping[str, Any]
) -> Operation[Any]:
    return Operation(name, "GET", where, parse, tuple(spec.encode(name, filters)))


def _get(
    name: str, where: str, parse: Any, params: tuple[tuple[str, str], ...] = ()
) -> Operation[Any]:
    return Operation(name, "GET", where, parse, params)


def _post(name: str, where: str, parse: Any, payload: Mapping[str, Any]) -> Operation[Any]:
    return Operation(name, "POST", where, parse, body=json_body(payload))


def _list_by(
    name: str,
    where: str,
    spec: specs.ListSpec,
    parse: Any,
    key: tuple[str, str],
    filters: Mapping[str, Any],
) -> Operation[Any]:
    """A sub-list whose key has ``/``: the list endpoint with the key's exact-match parameter
    first, then the filters, checked by the path form's ``spec`` (which has neither the key's
    parameter nor its plural, so no filter can name another key or widen the list)."""
    return Operation(name, "GET", where, parse, (key, *spec.encode(name, filters)))


def _path_key(operation: str, value: str, name: str, only_form: str) -> str:
    """The path segment of a key whose call has no list form; a key with ``/`` is refused."""
    if not in_path(value, name):
        raise exceptions.UnaddressableKey(
            f"{operation}(): {name} {value!r} contains '/', which no v1 path can address "
            f"(contract §2.1), and {only_form}; no request was sent"
        )
    return segment(value, name)


def _no_body_form(route: str) -> str:
    return f"v1 has no body-addressed form of POST {route}"


def _no_other_form(route: str) -> str:
    return f"v1 has no other form of GET {route}"


def health() -> Operation[schemas.Health]:
    return _get("health", path("health"), data_parser(schemas.Health))


def status() -> Operation[schemas.Status]:
    return _get("status", path("status"), data_parser(schemas.Status))


def probe_api_version() -> Operation[bool]:
    """``GET /api/status``, read for one thing: whether the server speaks v1 (§8 #18)."""
    return _get("probe_api_version", path("status"), version_parser)


def get_user() -> Operation[schemas.User]:
    return _get("get_user", path("user"), data_parser(schemas.User))


def get_codebase(name: str, include_inactive: bool | None = None) -> Operation[schemas.Codebase]:
    """``GET /api/c/{name}``; a name with ``/``: ``GET /api/codebases?name=…`` (§2.1)."""
    query = tuple(_GET_CODEBASE.encode("get_codebase", {"include_inactive": include_inactive}))
    if in_path(name, "name"):
        return _get("get_codebase", path("c", segment(name, "name")), _codebase, query)
    parse = item_parser(_codebases, "name", name, {"resource": "codebase", "codebase": name})
    return _get("get_codebase", path("codebases"), parse, (("name", name), *query))


def list_codebases(**filters: Any) -> Operation[Page[schemas.Codebase]]:
    return _list("list_codebases", path("codebases"), specs.CODEBASES, _codebases, filters)


def list_codebase_runs(name: str, **filters: Any) -> Operation[Page[schemas.Run]]:
    """``GET /api/c/{name}/runs``; a name with ``/``: ``GET /api/runs?codebase=…`` (§2.1)."""
    op, spec = "list_codebase_runs", specs.CODEBASE_RUNS
    if in_path(name, "name"):
        return _list(op, path("c", segment(name, "name"), "runs"), spec, _runs, filters)
    return _list_by(op, path("runs"), spec, _runs, ("codebase", name), filters)


def list_codebase_merge_proposals(
    name: str, **filters: Any
) -> Operation[Page[schemas.MergeProposal]]:
    """``GET /api/c/{name}/merge-proposals``; a name with ``/``: ``GET
    /api/merge-proposals?codebase=…`` (§2.1)."""
    op, spec = "list_codebase_merge_proposals", specs.CODEBASE_MERGE_PROPOSALS
    if in_path(name, "name"):
        where = path("c", segment(name, "name"), "merge-proposals")
        return _list(op, where, spec, _merge_proposals, filters)
    key = ("codebase", name)
    return _list_by(op, path("merge-proposals"), spec, _merge_proposals, key, filters)


def get_run(run_id: str) -> Operation[schemas.Run]:
    """``GET /api/run/{run_id}``; a run id with ``/``: ``GET /api/runs?run_id=…`` (§2.1)."""
    if in_path(run_id, "run_id"):
        return _get("get_run", path("run", segment(run_id, "run_id")), _run)
    parse = item_parser(_runs, "run_id", run_id, {"resource": "run", "run_id": run_id})
    return _get("get_run", path("runs"), parse, (("run_id", run_id),))


def list_runs(**filters: Any) -> Operation[Page[schemas.Run]]:
    return _list("list_runs", path("runs"), specs.RUNS, _runs, filters)


def get_run_diff(run_id: str, role: str = "main") -> Operation[bytes]:
    query = (("role", specs.text("role", role)),)
    run = _path_key("get_run_diff", run_id, "run_id", _no_other_form("/api/run/{run_id}/diff"))
    where = path("run", run, "diff")
    return _get("get_run_diff", where, bytes_parser("diff"), query)


def update_run(run_id: str, *, description: str | None) -> Operation[schemas.Run]:
    if description is not None and not isinstance(description, str):
        raise ValueError(f"description must be a string or None, not {type(description).__name__}")
    run = _path_key("update_run", run_id, "run_id", _no_body_form("/api/run/{run_id}"))
    return _post("update_run", path("run", run), _run, {"description": description})


def reschedule_run(
    run_id: str,
    *,
    offset: int | None = None,
    refresh: bool | None = None,
    requester: str | None = None,
) -> Operation[schemas.ScheduleResult]:
    payload: dict[str, Any] = {}
    if offset is not None:
        specs.integer("offset", offset)
        payload["offset"] = offset
    if refresh is not None:
        specs.boolean("refresh", refresh)
        payload["refresh"] = refresh
    if requester is not None:
        payload["requester"] = specs.text("requester", requester)
    only_form = _no_body_form("/api/run/{run_id}/reschedule")
    where = path("run", _path_key("reschedule_run", run_id, "run_id", only_form), "reschedule")
    return _post("reschedule_run", where, data_parser(schemas.ScheduleResult), payload)


def list_merge_proposals(
    campaign: str | None = None, codebase: str | None = None, **filters: Any
) -> Operation[Page[schemas.MergeProposal]]:
    """Global, or one campaign's (``campaign=``); ``codebase=`` filters either.

    A campaign with ``/``: ``GET /api/merge-proposals?campaign=…``, the same list (§2.1, §5.4).
    """
    op = "list_merge_proposals"
    if codebase is not None:
        filters["codebase"] = codebase
    if campaign is None:
        return _list(op, path("merge-proposals"), specs.MERGE_PROPOSALS, _merge_proposals, filters)
    spec = specs.CAMPAIGN_MERGE_PROPOSALS
    if in_path(campaign, "campaign"):
        where = path(segment(campaign, "campaign"), "merge-proposals")
        return _list(op, where, spec, _merge_proposals, filters)
    key = ("campaign", campaign)
    return _list_by(op, path("merge-proposals"), spec, _merge_proposals, key, filters)


def get_queue_status() -> Operation[schemas.QueueStats]:
    return _get("get_queue_status", path("queue"), data_parser(schemas.QueueStats))


def list_queue_items(**filters: Any) -> Operation[Page[schemas.QueueItem]]:
    where = path("queue", "items")
    return _list("list_queue_items", where, specs.QUEUE_ITEMS, _queue_items, filters)


def list_active_runs(**filters: Any) -> Operation[Page[schemas.ActiveRun]]:
    return _list("list_active_runs", path("active-runs"), specs.ACTIVE_RUNS, _active_runs, filters)


def get_active_run(run_id: str) -> Operation[schemas.ActiveRun]:
    only_form = "GET /api/active-runs has no run_id filter"
    run = _path_key("get_active_run", run_id, "run_id", only_form)
    return _get("get_active_run", path("active-runs", run), _active_run)


def list_ready_runs(campaign: str, **filters: Any) -> Operation[Page[schemas.ReadyRun]]:
    only_form = _no_other_form("/api/{campaign}/ready")
    where = path(_path_key("list_ready_runs", campaign, "campaign", only_form), "ready")
    return _list("list_ready_runs", where, specs.READY_RUNS, _ready_runs, filters)


def get_campaign_codebase(campaign: str, codebase: str) -> Operation[schemas.CampaignCodebase]:
    op, only_form = "get_campaign_codebase", _no_other_form("/api/{campaign}/c/{codebase}")
    where = path(
        _path_key(op, campaign, "campaign", only_form),
        "c",
        _path_key(op, codebase, "codebase", only_form),
    )
    return _get(op, where, data_parser(schemas.CampaignCodebase))


def publish(
    campaign: str, codebase: str, *, mode: str | None = None, requester: str | None = None
) -> Operation[schemas.PublishResult]:
    payload: dict[str, Any] = {}
    if mode is not None:
        payload["mode"] = specs.choice(PUBLISH_MODES)("mode", mode)
    if requester is not None:
        payload["requester"] = specs.text("requester", requester)
    only_form = _no_body_form("/api/{campaign}/c/{codebase}/publish")
    where = path(
        _path_key("publish", campaign, "campaign", only_form),
        "c",
        _path_key("publish", codebase, "codebase", only_form),
        "publish",
    )
    return _post("publish", where, data_parser(schemas.PublishResult), payload)


def search(q: str | None, **filters: Any) -> Operation[Page[schemas.SearchResult]]:
    return _list("search", path("search"), specs.SEARCH, _search_results, {"q": q, **filters})


def list_pkgnames(**filters: Any) -> Operation[Page[str]]:
    return _list("list_pkgnames", path("pkgnames"), specs.PKGNAMES, _strings, filters)


def export(kind: str, format: str = "csv", **filters: Any) -> Operation[None]:
    """The export request; the clients stream its body after checking the answer."""
    if kind not in specs.EXPORTS:
        raise ValueError(f"kind must be one of {', '.join(specs.EXPORTS)}; not {kind!r}")
    query = specs.EXPORTS[kind].encode("export", filters)
    query.append(("format", specs.choice(specs.EXPORT_FORMATS)("format", format)))
    return _get("export", path("export", kind), export_parser(format), tuple(query))


def list_templates(**filters: Any) -> Operation[Page[str]]:
    return _list("list_templates", path("templates"), specs.TEMPLATES, _strings, filters)


def _render_item(name: Any, context: Any, where: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}template must be a template name, not {name!r}")
    if not isinstance(context, Mapping):
        raise ValueError(f"{where}context must be a mapping, not {type(context).__name__}")
    return {"template": name, "context": dict(context)}


def render_template(name: str, context: Mapping[str, Any] | None = None) -> Operation[str]:
    payload = _render_item(name, context or {}, "")
    return _post("render_template", path("templates", "render"), text_parser("HTML"), payload)


def render_templates(
    items: Iterable[tuple[str, Mapping[str, Any]]],
) -> Operation[list[schemas.RenderItemResult]]:
    """Up to 100 ``(template name, context)`` pairs in one request."""
    batch = [_render_item(name, context, f"items[{i}].") for i, (name, context) in enumerate(items)]
    if len(batch) > MAX_RENDER_BATCH:
        raise ValueError(f"items must have at most {MAX_RENDER_BATCH} elements, not {len(batch)}")
    parse = data_parser(list[schemas.RenderItemResult])
    return _post("render_templates", path("templates", "render-batch"), parse, {"items": batch})
