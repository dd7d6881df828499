"""Tests of the emulator's MiniJinja template rendering (API v1 §5.10 and §6)."""

from __future__ import annotations

import copy
import html
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from janitor_site_emulator import render as render_module
from janitor_site_emulator.render import TemplateFailure, TemplateSet

SHIPPED = Path(render_module.__file__).parent / "templates"

# --- realistic v1 objects (§4) -----------------------------------------------------------------

CODEBASE: dict[str, Any] = {
    "name": "python-debian",
    "url": "https://salsa.debian.org/python-debian-team/python-debian.git",
    "branch": "master",
    "branch_url": "https://salsa.debian.org/python-debian-team/python-debian.git,branch=master",
    "subpath": "",
    "vcs_type": "git",
    "vcs_last_revision": "4f1c2a9e0b7d",
    "last_scanned": "2025-06-01T08:00:00Z",
    "web_url": "https://salsa.debian.org/python-debian-team/python-debian",
    "value": 10,
    "inactive": False,
    "hostname": "salsa.debian.org",
}

BARE_CODEBASE: dict[str, Any] = {
    "name": "<odd>&name",
    "url": None,
    "branch": None,
    "branch_url": None,
    "subpath": None,
    "vcs_type": None,
    "vcs_last_revision": None,
    "last_scanned": None,
    "web_url": None,
    "value": None,
    "inactive": True,
    "hostname": None,
}

RUN: dict[str, Any] = {
    "run_id": "b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11",
    "codebase": "python-debian",
    "campaign": "lintian-fixes",
    "suite": "lintian-fixes",
    "command": "lintian-brush",
    "description": "Fixed 3 lintian tags.",
    "result_code": "success",
    "failure_stage": None,
    "failure_details": None,
    "failure_transient": None,
    "start_time": "2025-06-08T10:50:50Z",
    "finish_time": "2025-06-08T10:52:10.123456Z",
    "duration": 80.123456,
    "main_branch_revision": "a1b2c3",
    "revision": "d4e5f6",
    "context": None,
    "instigated_context": None,
    "result": {"fixed_lintian_tags": ["out-of-date-standards-version"]},
    "vcs_type": "git",
    "branch_url": "https://salsa.debian.org/python-debian-team/python-debian.git,branch=master",
    "subpath": "",
    "target_branch_url": "https://salsa.debian.org/python-debian-team/python-debian.git",
    "logfilenames": ["codemod.log", "worker.log"],
    "publish_status": "approved",
    "value": 30,
    "worker_name": "worker-1",
    "worker_link": None,
    "change_set": "6a3e9d1c",
    "resume_from": None,
    "result_branches": [
        {
            "role": "main",
            "name": "master",
            "base_revision": "a1b2c3",
            "revision": "d4e5f6",
            "absorbed": False,
        }
    ],
    "result_tags": [],
}

FAILED_RUN: dict[str, Any] = {
    **RUN,
    "run_id": "0d9e8f7a-0000-4c55-9a43-2f0b7f0f1a12",
    "command": None,
    "description": None,
    "result_code": "worker-timeout",
    "failure_stage": "build",
    "failure_details": {"timeout": 3600, "reason": "<no output>"},
    "failure_transient": None,
    "start_time": None,
    "finish_time": None,
    "duration": None,
    "main_branch_revision": None,
    "revision": None,
    "result": None,
    "vcs_type": None,
    "branch_url": None,
    "subpath": None,
    "target_branch_url": None,
    "logfilenames": [],
    "publish_status": "unknown",
    "value": None,
    "worker_name": None,
    "worker_link": "https://ci.example.org/worker/7",
    "resume_from": "b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11",
    "result_branches": [
        {"role": "main", "name": None, "base_revision": None, "revision": None, "absorbed": True}
    ],
    "result_tags": [{"name": "debian/1.0-1", "revision": "d4e5f6a7b8c9d0e1f2"}],
}

MERGE_PROPOSAL: dict[str, Any] = {
    "url": "https://salsa.debian.org/python-debian-team/python-debian/-/merge_requests/42",
    "status": "open",
    "codebase": "python-debian",
    "campaign": "lintian-fixes",
    "run_id": "b5f7c7c2-1d0e-4c55-9a43-2f0b7f0f1a11",
    "target_branch_url": "https://salsa.debian.org/python-debian-team/python-debian.git",
    "revision": "d4e5f6",
    "merged_by": None,
    "merged_at": None,
    "last_scanned": "2025-06-08T12:00:00Z",
    "can_be_merged": True,
    "rate_limit_bucket": "salsa.debian.org",
}

BARE_MERGE_PROPOSAL: dict[str, Any] = {
    "url": "https://github.com/jelmer/dulwich/pull/1234",
    "status": None,
    "codebase": None,
    "campaign": None,
    "run_id": None,
    "target_branch_url": None,
    "revision": None,
    "merged_by": None,
    "merged_at": None,
    "last_scanned": None,
    "can_be_merged": None,
    "rate_limit_bucket": None,
}

QUEUE_ITEM: dict[str, Any] = {
    "id": 1207,
    "position": 3,
    "bucket": "manual",
    "codebase": "python-debian",
    "campaign": "lintian-fixes",
    "suite": "lintian-fixes",
    "command": "lintian-brush",
    "priority": -1,
    "context": None,
    "estimated_duration": 81.5,
    "wait_time": 160.0,
    "refresh": False,
    "requester": "alice@example.org",
    "change_set": None,
    "branch_url": None,
}

BARE_QUEUE_ITEM: dict[str, Any] = {
    **QUEUE_ITEM,
    "id": 1208,
    "position": 4,
    "command": None,
    "estimated_duration": None,
    "wait_time": None,
    "refresh": True,
    "requester": None,
}


# --- helpers -----------------------------------------------------------------------------------


def make_set(directory: Path, files: dict[str, str]) -> TemplateSet:
    """A TemplateSet over ``directory`` holding ``files`` (name → source)."""
    for name, source in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return TemplateSet(directory)


def render_str(tmp_path: Path, source: str, **context: Any) -> str:
    return make_set(tmp_path, {"t.html": source}).render("t.html", context)


def failure(templates: TemplateSet, name: str, context: dict[str, Any]) -> TemplateFailure:
    with pytest.raises(TemplateFailure) as info:
        templates.render(name, context)
    return info.value


def text_of(rendered: str) -> str:
    """Rendered HTML without tags, entities decoded and whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", rendered)).split())


@pytest.fixture(scope="module")
def shipped() -> TemplateSet:
    return TemplateSet(SHIPPED)


# --- names -------------------------------------------------------------------------------------


def test_names_sorted_in_code_point_order_and_live(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "b.html": "",
            "B.html": "",
            "a.html": "",
            "é.html": "",
            "z/x.html": "",
            "generic/start.html": "",
            "notes.txt": "",
            "a.html.bak": "",
        },
    )
    (tmp_path / "empty").mkdir()
    assert templates.names() == [
        "B.html",
        "a.html",
        "b.html",
        "generic/start.html",
        "z/x.html",
        "é.html",
    ]
    (tmp_path / "c.html").write_text("")
    (tmp_path / "b.html").unlink()
    assert templates.names() == [
        "B.html",
        "a.html",
        "c.html",
        "generic/start.html",
        "z/x.html",
        "é.html",
    ]


def test_names_of_missing_directory_is_empty(tmp_path: Path) -> None:
    assert TemplateSet(tmp_path / "missing").names() == []


def test_shipped_names(shipped: TemplateSet) -> None:
    names = shipped.names()
    assert names == sorted(names)
    for required in (
        "layout.html",
        "generic/start.html",
        "codebase.html",
        "run.html",
        "run-summary.html",
        "merge-proposal.html",
        "queue.html",
    ):
        assert required in names


# --- template_not_found ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../x.html",
        "/abs.html",
        "x.txt",
        "nope.html",
        "sub/../a.html",
        "./a.html",
        "sub//b.html",
        "sub",
        "sub.html",
        "",
        "a.HTML",
    ],
)
def test_not_found(tmp_path: Path, name: str) -> None:
    (tmp_path / "outside.html").write_text("secret")
    templates = make_set(
        tmp_path / "set",
        {"a.html": "A", "x.txt": "text", "sub/b.html": "B", "sub.html/c.html": "C"},
    )
    err = failure(templates, name, {})
    assert err.code == "template_not_found"
    assert err.template == name
    assert err.details() == {"template": name}
    assert name in err.message


def test_absolute_path_of_existing_file_is_not_found(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"a.html": "A"})
    err = failure(templates, str(tmp_path / "a.html"), {})
    assert err.code == "template_not_found"


def test_include_outside_the_directory_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "secret.html").write_text("secret")
    templates = make_set(tmp_path / "set", {"a.html": "{% include '../secret.html' %}"})
    err = failure(templates, "a.html", {})
    assert err.code == "template_render_error"
    assert err.template == "a.html"


# --- context and printing (§6.2) ---------------------------------------------------------------


def test_printing_values(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ s }}|{{ i }}|{{ f }}|{{ t }}|{{ n }}|{{ z }}|{{ 1 == 1 }}|{{ x is defined }}",
        s="text",
        i=-42,
        f=2.5,
        t=True,
        n=None,
        z=False,
    )
    assert out == "text|-42|2.5|true||false|true|false"


def test_autoescape_is_on(tmp_path: Path) -> None:
    value = "<a href=\"/x?a=1&b='2'\">link</a>"
    out = render_str(tmp_path, "{{ v }}", v=value)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert html.unescape(out) == value


def test_safe_disables_escaping(tmp_path: Path) -> None:
    assert render_str(tmp_path, "{{ v|safe }}", v="<b>&</b>") == "<b>&</b>"


def test_object_iteration_in_code_point_order(tmp_path: Path) -> None:
    source = (
        "{% for key in o %}{{ key }},{% endfor %}|"
        "{% for key, value in o.inner|items %}{{ key }}={{ value }},{% endfor %}"
    )
    context = {"o": {"b": 1, "é": 2, "a": 3, "Z": 4, "inner": {"y": 1, "x": 2}}}
    out = render_str(tmp_path, source, **context)
    assert out == "Z,a,b,inner,é,|x=2,y=1,"


def test_context_is_not_modified(tmp_path: Path) -> None:
    context = {"o": {"b": [{"d": 1, "c": 2}], "a": 1}}
    snapshot = copy.deepcopy(context)
    render_str(tmp_path, "{{ o|tojson }}", **context)
    assert context == snapshot
    assert list(context["o"]) == ["b", "a"]


def test_truthiness(tmp_path: Path) -> None:
    source = "{% for v in values %}{{ 'T' if v else 'F' }}{% endfor %}"
    values = [False, None, 0, 0.0, "", [], {}, True, 1, "0", [0], {"a": None}]
    assert render_str(tmp_path, source, values=values) == "FFFFFFFTTTTT"


# --- undefined (semi-strict) -------------------------------------------------------------------


def test_print_undefined_variable_is_a_render_error_with_position(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"run.html": "<p>\n  <b>{{ run }}</b>\n</p>"})
    err = failure(templates, "run.html", {})
    assert err.code == "template_render_error"
    assert err.template == "run.html"
    assert (err.line, err.column) == (2, 9)
    assert "run" in err.message
    assert err.details() == {
        "template": "run.html",
        "line": 2,
        "column": 9,
        "message": err.message,
    }


def test_column_counts_code_points(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"t.html": "é\nxé {{ y.z }}"})
    err = failure(templates, "t.html", {"y": {}})
    assert (err.line, err.column) == (2, 7)


@pytest.mark.parametrize(
    "source",
    [
        "{{ run.nope }}",
        "{{ missing }}",
        "{% for x in missing %}{% endfor %}",
        "{% for x in run.nope %}{% endfor %}",
        "{{ run.nope.deeper }}",
    ],
)
def test_undefined_fails_when_printed_or_iterated(tmp_path: Path, source: str) -> None:
    templates = make_set(tmp_path, {"t.html": source})
    err = failure(templates, "t.html", {"run": {"run_id": "r"}})
    assert err.code == "template_render_error"
    assert err.line == 1


def test_undefined_in_conditions_tests_and_default(tmp_path: Path) -> None:
    source = (
        "{% if missing %}1{% else %}0{% endif %}"
        "{% if run.nope %}1{% else %}0{% endif %}"
        "{% if run.result.nope %}1{% else %}0{% endif %}"
        "|{{ missing is defined }} {{ missing is undefined }} {{ run.nope is defined }}"
        "|{{ missing|default('d') }} {{ run.nope|default('e') }}"
    )
    out = render_str(tmp_path, source, run={"run_id": "r", "result": None})
    assert out == "000|false true false|d e"


def test_null_is_not_undefined(tmp_path: Path) -> None:
    out = render_str(tmp_path, "[{{ x }}]{% if x is none %}none{% endif %}", x=None)
    assert out == "[]none"


# --- syntax errors -----------------------------------------------------------------------------


def test_syntax_error(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"bad.html": "<p>\n  {% if %}\n</p>"})
    err = failure(templates, "bad.html", {})
    assert err.code == "template_syntax_error"
    assert err.template == "bad.html"
    assert err.line == 2
    assert err.column is not None and err.column >= 3
    assert err.message.startswith("syntax error")
    assert set(err.details()) == {"template", "line", "column", "message"}


def test_syntax_error_in_included_template(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "page.html": "{% include 'part.html' %}",
            "part.html": "\n\n{{ foo( }}",
            "outer.html": "x\n{% include 'page.html' %}",
        },
    )
    for name in ("page.html", "outer.html"):
        err = failure(templates, name, {})
        assert err.code == "template_syntax_error"
        assert err.template == "part.html"
        assert err.line == 3


def test_syntax_error_in_parent_template(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path, {"child.html": "{% extends 'base.html' %}", "base.html": "{% block %}"}
    )
    err = failure(templates, "child.html", {})
    assert err.code == "template_syntax_error"
    assert err.template == "base.html"
    assert err.line == 1


# --- render errors in other templates ----------------------------------------------------------


def test_missing_include_is_a_render_error(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"page.html": "<div>\n{% include 'fragments/gone.html' %}"})
    err = failure(templates, "page.html", {})
    assert err.code == "template_render_error"
    assert err.template == "page.html"
    assert err.line == 2
    assert "fragments/gone.html" in err.message


def test_missing_include_two_levels_down(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {"a.html": "{% include 'b.html' %}", "b.html": "B\n\n{% include 'gone.html' %}"},
    )
    err = failure(templates, "a.html", {})
    assert err.code == "template_render_error"
    assert (err.template, err.line, err.column) == ("b.html", 3, 4)
    assert "gone.html" in err.message


def test_missing_parent_template(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"child.html": "{% extends 'gone.html' %}"})
    err = failure(templates, "child.html", {})
    assert err.code == "template_render_error"
    assert err.template == "child.html"
    assert "gone.html" in err.message


def test_undefined_in_included_template(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "page.html": "<ul>\n{% for x in xs %}{% include 'item.html' %}{% endfor %}</ul>",
            "item.html": "<li>\n é {{ x.name }} {{ x.nope }}</li>",
        },
    )
    err = failure(templates, "page.html", {"xs": [{"name": "n"}]})
    assert err.code == "template_render_error"
    assert (err.template, err.line, err.column) == ("item.html", 2, 20)
    assert "x.nope" in err.message


def test_undefined_in_parent_template(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "child.html": "{% extends 'base.html' %}{% block b %}{{ ok }}{% endblock %}",
            "base.html": "<main>{% block b %}{% endblock %}</main>\n{{ footer }}",
        },
    )
    assert templates.render("child.html", {"ok": 1, "footer": "f"}) == "<main>1</main>\nf"
    err = failure(templates, "child.html", {"ok": 1})
    assert (err.code, err.template, err.line, err.column) == (
        "template_render_error",
        "base.html",
        2,
        4,
    )


def test_helper_error_names_the_template_it_was_called_from(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {"page.html": "{% include 'part.html' %}", "part.html": "{{ n|basename }}"},
    )
    err = failure(templates, "page.html", {"n": 5})
    assert err.code == "template_render_error"
    assert err.template == "part.html"
    assert "basename" in err.message
    assert err.details()["line"] is None


def test_unknown_filter_is_a_render_error(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"t.html": "\n{{ 'x'|nosuchfilter }}"})
    err = failure(templates, "t.html", {})
    assert (err.code, err.line) == ("template_render_error", 2)


# --- extends, include, blocks ------------------------------------------------------------------


def test_extends_include_blocks(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "base.html": (
                "<title>{% block title %}Site{% endblock %}</title>{% block body %}{% endblock %}"
            ),
            "page.html": (
                "{% extends 'base.html' %}"
                "{% block title %}{{ name }} - {{ super() }}{% endblock %}"
                "{% block body %}{% for item in items %}"
                "{% include 'fragments/item.html' %}{% endfor %}{% endblock %}"
            ),
            "fragments/item.html": "<li>{{ item }}@{{ name }}</li>",
        },
    )
    out = templates.render("page.html", {"name": "P<", "items": ["a", "b"]})
    assert out == "<title>P&lt; - Site</title><li>a@P&lt;</li><li>b@P&lt;</li>"


def test_changed_and_added_files_are_noticed(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"page.html": "[{% include 'part.html' %}]", "part.html": "one"})
    assert templates.render("page.html", {}) == "[one]"
    part = tmp_path / "part.html"
    part.write_text("two")
    os.utime(part, ns=(1, 1))
    assert templates.render("page.html", {}) == "[two]"
    part.unlink()
    assert failure(templates, "page.html", {}).code == "template_render_error"
    part.write_text("three")
    assert templates.render("page.html", {}) == "[three]"


# --- filters (§6.3) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a/b/", "b"), ("a/b/.", "b"), ("/", "/"), ("x", "x"), ("a/..", "a/..")],
)
def test_basename_filter(tmp_path: Path, value: str, expected: str) -> None:
    assert html.unescape(render_str(tmp_path, "{{ v|basename }}", v=value)) == expected


def test_basename_filter_rejects_non_strings(tmp_path: Path) -> None:
    templates = make_set(tmp_path, {"t.html": "{{ v|basename }}"})
    assert failure(templates, "t.html", {"v": None}).code == "template_render_error"


def test_timeago_filter(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    past = (now - timedelta(hours=2, minutes=5, seconds=30)).isoformat()
    future = (now + timedelta(seconds=90.9)).isoformat()
    out = render_str(
        tmp_path,
        "{{ past|timeago }}|{{ future|timeago }}|{{ 5|timeago }}|{{ 'x'|timeago }}",
        past=past,
        future=future,
    )
    assert out == "2h5m|-90s|5|x"


def test_duration_filter(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ 90|duration }}|{{ 7500.5|duration }}|{{ -90|duration }}|{{ 'x'|duration }}|"
        "{{ n|duration }}|{{ t|duration }}",
        n=None,
        t=True,
    )
    assert out == "1m30s|2h5m|-90s|x||true"


def test_summarize_filter(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ s|summarize }}|{{ s|summarize(length=3) }}|{{ s|summarize(length=-1) }}|"
        "{{ 'ééé'|summarize(length=2) }}",
        s="abcdef",
    )
    assert out == "abcdef|abc...|abcdef|éé..."
    long = "x" * 150
    assert render_str(tmp_path, "{{ s|summarize }}", s=long) == "x" * 100 + "..."


def test_summarize_filter_errors(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path,
        {
            "number.html": "{{ 5|summarize }}",
            "positional.html": "{{ 'abc'|summarize(2) }}",
            "unknown.html": "{{ 'abc'|summarize(lenght=2) }}",
        },
    )
    for name in ("number.html", "positional.html", "unknown.html"):
        err = failure(templates, name, {})
        assert err.code == "template_render_error"
        assert err.template == name
        assert "summarize" in err.message


def test_timestamp_filter(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ a|timestamp }}|{{ b|timestamp }}|{{ c|timestamp }}|{{ 7|timestamp }}|{{ n|timestamp }}",
        a="2025-06-08T10:50:50Z",
        b="2025-06-08t23:59:59.999999999+05:30",
        c="June",
        n=None,
    )
    assert out == "2025-06-08 10:50|2025-06-08 23:59|June|7|"


def test_tojson_filter_exact_bytes(tmp_path: Path) -> None:
    value = {"b": [1, 2.5, None, True], "a": "<script>&'\"é", "c": {"z": {}, "y": "/"}}
    out = render_str(tmp_path, "{{ v|tojson }}", v=value)
    assert out == (
        '{"a":"\\u003cscript\\u003e\\u0026\\u0027\\"é","b":[1,2.5,null,true],"c":{"y":"/","z":{}}}'
    )


def test_tojson_filter_indent(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ v|tojson(indent=2) }}|{{ v|tojson(indent=-1) }}|{{ v|tojson(indent='x') }}",
        v={"b": [1], "a": "<"},
    )
    indented = '{\n  "a": "\\u003c",\n  "b": [\n    1\n  ]\n}'
    assert out == indented + '|{"a":"\\u003c","b":[1]}|{"a":"\\u003c","b":[1]}'


def test_tojson_in_attribute_is_safe(tmp_path: Path) -> None:
    out = render_str(tmp_path, "<div data-x='{{ v|tojson }}'></div>", v={"k": "it's <b>"})
    assert out == '<div data-x=\'{"k":"it\\u0027s \\u003cb\\u003e"}\'></div>'


# --- functions (§6.4) --------------------------------------------------------------------------


def test_format_duration_function(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ format_duration(duration=90) }}|{{ format_duration(duration=-90.5) }}|"
        "{{ format_duration(duration=d) }}",
        d=3 * 86400 + 4 * 3600 + 5,
    )
    assert out == "1m30s|-90s|3d4h"


@pytest.mark.parametrize(
    "source",
    [
        "{{ format_duration() }}",
        "{{ format_duration(duration='90') }}",
        "{{ format_duration(duration=none) }}",
        "{{ format_duration(90) }}",
        "{{ format_duration(seconds=90) }}",
        "{{ format_timestamp() }}",
        "{{ format_timestamp(timestamp=5) }}",
        "{{ classify_result_code() }}",
        "{{ classify_result_code(result_code=1) }}",
        "{{ url_for() }}",
        "{{ url_for(endpoint=none) }}",
        "{{ enumerate(array='ab') }}",
        "{{ enumerate() }}",
        "{{ worker_link_is_global() }}",
        "{{ worker_link_is_global(url=1) }}",
        "{{ utcnow(1) }}",
    ],
)
def test_function_argument_errors(tmp_path: Path, source: str) -> None:
    templates = make_set(tmp_path, {"t.html": source})
    err = failure(templates, "t.html", {})
    assert err.code == "template_render_error"
    assert err.template == "t.html"


def test_format_timestamp_function(tmp_path: Path) -> None:
    out = render_str(
        tmp_path,
        "{{ format_timestamp(timestamp=a) }}|{{ format_timestamp(timestamp='nope') }}",
        a="2025-06-08T10:50:50+02:00",
    )
    assert out == "2025-06-08 10:50|nope"


def test_classify_result_code_function(tmp_path: Path) -> None:
    source = (
        "{{ classify_result_code(result_code='success') }} "
        "{{ classify_result_code(result_code='worker-failure', transient=false) }} "
        "{{ classify_result_code(result_code='worker-timeout') }} "
        "{{ classify_result_code(result_code='worker-timeout', transient=none) }} "
        "{{ classify_result_code(result_code='worker-timeout', transient=false) }} "
        "{{ classify_result_code(result_code='build-failed', transient=run.t) }} "
        "{{ classify_result_code(result_code='build-failed', transient=run.missing) }}"
    )
    out = render_str(tmp_path, source, run={"t": True})
    assert out == (
        "success bug transient-failure transient-failure failure transient-failure failure"
    )


def test_url_for_function(tmp_path: Path) -> None:
    source = (
        "{% for e in ['index', 'about', 'pkg_list', 'api_health', 'lintian-fixes'] %}"
        "{{ url_for(endpoint=e)|safe }} {% endfor %}"
    )
    assert render_str(tmp_path, source) == "/ /about /pkg /api/health /lintian-fixes "


def test_utcnow_function(tmp_path: Path) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    out = render_str(tmp_path, "{{ utcnow() }}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", out)
    assert not out.endswith(".000000Z")
    moment = datetime.fromisoformat(out.replace("Z", "+00:00"))
    assert before <= moment <= datetime.now(timezone.utc)


def test_enumerate_function(tmp_path: Path) -> None:
    source = (
        "{% for e in enumerate(array=xs) %}{{ e['0'] }}:{{ e['1'] }} {% endfor %}|"
        "{% for e in enumerate(array=xs, start=1) %}{{ e['0'] }}:{{ e['1'] }} {% endfor %}|"
        "{% for e in enumerate(array=xs, start=-3) %}{{ e['0'] }} {% endfor %}|"
        "{{ enumerate(array=[])|length }}"
    )
    assert render_str(tmp_path, source, xs=["a", "b"]) == "0:a 1:b |1:a 2:b |0 1 |0"


def test_worker_link_is_global_function(tmp_path: Path) -> None:
    source = (
        "{{ worker_link_is_global(url='https://ci.example.org/w') }} "
        "{{ worker_link_is_global(url='http://192.168.0.3:8080/') }} "
        "{{ worker_link_is_global(url='http://LocalHost/') }} "
        "{{ worker_link_is_global(url='no url') }}"
    )
    assert render_str(tmp_path, source) == "true false false false"


def test_get_flashed_messages_function(tmp_path: Path) -> None:
    source = "{% for m in get_flashed_messages() %}{{ m }}{% else %}none{% endfor %}"
    assert render_str(tmp_path, source) == "none"


def test_server_adds_no_variables(tmp_path: Path) -> None:
    source = "{{ request is defined }} {{ user is defined }} {{ config is defined }}"
    assert render_str(tmp_path, source) == "false false false"


# --- shipped templates -------------------------------------------------------------------------


def test_layout(shipped: TemplateSet) -> None:
    out = shipped.render("layout.html", {})
    assert out.startswith("<!DOCTYPE html>")
    assert '<a href="/">Home</a>' in html.unescape(out)
    assert "<title>Janitor</title>" in out


def test_codebase_fragment(shipped: TemplateSet) -> None:
    text = text_of(shipped.render("codebase.html", {"codebase": CODEBASE}))
    assert text == "python-debian git master scanned 2025-06-01 08:00 value 10"
    bare = shipped.render("codebase.html", {"codebase": BARE_CODEBASE})
    assert "&lt;odd&gt;&amp;name" in bare
    assert text_of(bare) == "<odd>&name never scanned inactive"


def test_run_fragment(shipped: TemplateSet) -> None:
    out = shipped.render("run.html", {"run": RUN})
    text = text_of(out)
    assert 'class="result-code success"' in out
    assert "Duration 1m20s" in text
    assert "Started 2025-06-08 10:50" in text
    assert "Finished 2025-06-08 10:52" in text
    assert "Worker worker-1" in text
    assert "main master a1b2c3 d4e5f6 not absorbed" in text
    assert '<li value="1">codemod.log</li>' in out
    assert '<li value="2">worker.log</li>' in out
    assert '{"fixed_lintian_tags":["out-of-date-standards-version"]}</script>' in out
    assert "failure-details" not in out


def test_run_fragment_with_nulls(shipped: TemplateSet) -> None:
    out = shipped.render("run.html", {"run": FAILED_RUN})
    text = text_of(out)
    assert 'class="result-code transient-failure"' in out
    assert "Command unknown" in text
    assert "Description none" in text
    assert "Duration unknown" in text
    assert '<a href="https:&#x2f;&#x2f;ci.example.org' in out.replace("&#x2F;", "&#x2f;")
    assert "Failed in stage build" in text
    assert "debian/1.0-1 at d4e5f6a7b8c9..." in text
    assert "<h3>Logs</h3>" not in out
    assert "run-result" not in out
    assert '"reason": "\\u003cno output\\u003e",\n  "timeout": 3600' in out
    private = {**FAILED_RUN, "worker_link": "http://10.1.2.3/", "worker_name": "w<2>"}
    private_out = shipped.render("run.html", {"run": private})
    assert "10.1.2.3" not in private_out
    assert "Worker w<2>" in text_of(private_out)


def test_run_summary_fragment(shipped: TemplateSet) -> None:
    text = text_of(shipped.render("run-summary.html", {"run": RUN}))
    assert text == (
        "python-debian success finished 2025-06-08 10:52 after 1m20s Fixed 3 lintian tags."
    )
    bare = text_of(shipped.render("run-summary.html", {"run": FAILED_RUN}))
    assert bare == "python-debian worker-timeout"


def test_merge_proposal_fragment(shipped: TemplateSet) -> None:
    out = shipped.render("merge-proposal.html", {"merge_proposal": MERGE_PROPOSAL})
    text = text_of(out)
    assert text.startswith("python-debian #42 open lintian-fixes run scanned ")
    assert re.search(r"scanned \d+d(\d+h)? ago$", text)
    assert 'class="merge-proposal status-open"' in out
    bare = shipped.render("merge-proposal.html", {"merge_proposal": BARE_MERGE_PROPOSAL})
    assert text_of(bare) == "unknown codebase #1234 unknown"
    merged = {
        **MERGE_PROPOSAL,
        "status": "merged",
        "merged_at": "2025-06-09T07:15:00Z",
        "merged_by": "bob",
        "can_be_merged": False,
    }
    merged_text = text_of(shipped.render("merge-proposal.html", {"merge_proposal": merged}))
    assert "merged 2025-06-09 07:15 by bob has conflicts" in merged_text


def test_queue_fragment(shipped: TemplateSet) -> None:
    out = shipped.render("queue.html", {"items": [QUEUE_ITEM, BARE_QUEUE_ITEM]})
    text = text_of(out)
    assert (
        "3 python-debian lintian-fixes manual lintian-brush 1m21s 2m40s alice@example.org" in text
    )
    assert '<tr id="queue-1208" class="refresh">' in out
    assert "4 python-debian lintian-fixes manual" in text
    empty = shipped.render("queue.html", {"items": []})
    assert "The queue is empty." in empty


def test_start_page(shipped: TemplateSet) -> None:
    context = {
        "campaign": "lintian-fixes",
        "description": "Fix <lintian> issues",
        "codebases": [CODEBASE, BARE_CODEBASE],
        "runs": [RUN, FAILED_RUN],
        "merge_proposals": [MERGE_PROPOSAL, BARE_MERGE_PROPOSAL],
        "queue_items": [QUEUE_ITEM, BARE_QUEUE_ITEM],
    }
    out = shipped.render("generic/start.html", context)
    assert out.startswith("<!DOCTYPE html>")
    assert "<title>lintian-fixes - Janitor</title>" in out
    assert "Fix &lt;lintian&gt; issues" in out
    assert "Codebases (2)" in out
    for fragment in ('id="codebase-python-debian"', 'class="run-summary"', "#42", "queue-1207"):
        assert fragment in html.unescape(out)
    minimal = shipped.render("generic/start.html", {"campaign": "c", "description": None})
    assert "<h1>c</h1>" in minimal
    assert "<section" not in minimal


def test_start_page_needs_campaign(shipped: TemplateSet) -> None:
    err = failure(shipped, "generic/start.html", {})
    assert err.code == "template_render_error"
    assert err.template == "generic/start.html"
    assert err.line is not None


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_renders(shipped: TemplateSet) -> None:
    runs = [{**RUN, "run_id": f"run-{index}", "duration": 60.0 * index} for index in range(8)]
    expected = [shipped.render("run.html", {"run": run}) for run in runs]
    assert len(set(expected)) == 8
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        barrier.wait()
        for iteration in range(200):
            name = "run.html" if iteration % 2 else "run-summary.html"
            out = shipped.render(name, {"run": runs[index]})
            correct = (
                out == expected[index] if name == "run.html" else f'id="run-run-{index}"' in out
            )
            if not correct:
                errors.append(f"thread {index} iteration {iteration}: {out[:60]!r}")

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_concurrent_errors_stay_separate(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path, {"ok.html": "{{ v|summarize(length=1) }}", "bad.html": "x\n{{ missing }}"}
    )
    problems: list[str] = []

    def worker(index: int) -> None:
        for _ in range(100):
            if index % 2:
                try:
                    templates.render("bad.html", {})
                    problems.append("no error")
                except TemplateFailure as err:
                    if (err.template, err.line) != ("bad.html", 2):
                        problems.append(repr(err.details()))
            elif templates.render("ok.html", {"v": f"{index}z"}) != f"{index}...":
                problems.append("wrong output")

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert problems == []


def test_concurrent_renders_while_files_change(tmp_path: Path) -> None:
    templates = make_set(
        tmp_path, {"page.html": "<{% include 'part.html' %}>", "part.html": "{{ v }}"}
    )
    part = tmp_path / "part.html"
    stop = threading.Event()
    problems: list[str] = []

    def toucher() -> None:
        stamp = 1
        while not stop.is_set():
            stamp += 1
            os.utime(part, ns=(stamp, stamp))

    def worker(index: int) -> None:
        try:
            for _ in range(300):
                if templates.render("page.html", {"v": index}) != f"<{index}>":
                    problems.append("wrong output")
        except Exception as exc:  # reported below
            problems.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(6)]
    touch = threading.Thread(target=toucher, daemon=True)
    touch.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stop.set()
    touch.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads), "renders deadlocked"
    assert problems == []


HOSTILE_URLS = [
    "javascript:alert(1)",
    " JavaScript:alert(document.cookie)",
    "javascript://ci.example.org/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_shipped_templates_never_render_a_hostile_url_as_a_link(
    shipped: TemplateSet, url: str
) -> None:
    """Revision 1.1: every URL-bearing attribute of the shipped templates goes through safe_url."""
    pages = [
        shipped.render("codebase.html", {"codebase": {**CODEBASE, "web_url": url}}),
        shipped.render("merge-proposal.html", {"merge_proposal": {**MERGE_PROPOSAL, "url": url}}),
        shipped.render("run.html", {"run": {**FAILED_RUN, "worker_link": url}}),
    ]
    for out in pages:
        hrefs = re.findall(r'href="([^"]*)"', out)
        assert hrefs and all(
            not href.lower().lstrip().startswith(("javascript", "data", "vbscript"))
            for href in map(html.unescape, hrefs)
        )
    assert 'href="#"' in pages[0] and 'href="#"' in pages[1]


def test_shipped_templates_keep_http_links(shipped: TemplateSet) -> None:
    out = shipped.render("codebase.html", {"codebase": CODEBASE})
    assert f'href="{CODEBASE["web_url"]}"' in html.unescape(out)
    run = shipped.render("run.html", {"run": FAILED_RUN})
    assert 'href="https://ci.example.org/worker/7"' in html.unescape(run)
