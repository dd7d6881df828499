"""Template endpoints over HTTP (§5.10): the list, render and render-batch, their errors (401,
404, 413, 415, 400, 422 with line and column) and headers, on an emulator serving a template
directory of this module."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer

from .api_support import bearer, client_for, error, json_body, listing, ok, own_emulator, same

MIB = 1024 * 1024
TEMPLATES = {
    "hello.html": "<p>Hello {{ name }}!</p>",
    "Zeta.html": "Z",
    "broken.html": "<p>\n  {% if %}\n</p>",
    "undefined.html": "<p>\n  <b>{{ run }}</b>\n</p>",
    "includes-broken.html": "x\n{% include 'broken.html' %}",
    "includes-undefined.html": "{% include 'undefined.html' %}",
    "missing-include.html": "a\n{% include 'nowhere.html' %}",
    "base.html": "[{% block body %}{% endblock %}]",
    "child.html": "{% extends 'base.html' %}{% block body %}{{ x.y }}{% endblock %}",
    "helpers.html": (
        "{{ 3725|duration }}|{{ format_duration(duration=90) }}|{{ url_for(endpoint='pkg_list') }}"
        "|{{ data|tojson }}|{{ classify_result_code(result_code='worker-timeout') }}"
        "|{{ 'a/b/c.txt'|basename }}|{{ 'abcdef'|summarize(length=3) }}"
    ),
    "sub/a.html": "{{ items|length }}:{% for i in items %}{{ i }};{% endfor %}",
    "sub/Deeper/b.html": "{% for k, v in obj|items %}{{ k }}={{ v }},{% endfor %}",
    "big.html": "{{ blob|length }}",
    "globals.html": (
        "{% if request is defined or config is defined or session is defined or g is defined"
        " or user is defined or url is defined or now is defined %}leak{% endif %}ok"
    ),
}
NON_TEMPLATES = {"notes.txt": "not a template", "sub/readme.md": "no"}
NAMES = sorted(TEMPLATES)


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("templates")
    for name, source in {**TEMPLATES, **NON_TEMPLATES}.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(source)
    return directory


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, template_dir: Path
) -> Iterator[EmulatorServer]:
    database = tmp_path_factory.mktemp("database")
    arguments = ["--templates", str(template_dir)]
    with own_emulator(request.param, database, arguments, seed="none") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def api(server: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(server) as client:
        yield client


@pytest.fixture(scope="module")
def user(server: EmulatorServer) -> dict[str, str]:
    return bearer(server, "user")


def render(api: httpx.Client, headers: dict[str, str], body: Any) -> httpx.Response:
    return api.post("/api/templates/render", headers=headers, json=body)


# The list --------------------------------------------------------------------------------------


def test_list(api: httpx.Client) -> None:
    data, pagination = listing(api.get("/api/templates"))
    assert data == NAMES
    assert NAMES.index("Zeta.html") < NAMES.index("base.html")  # code point order
    assert pagination == {"total": len(NAMES), "offset": 0, "limit": 50, "has_more": False}


INCLUDES = [n for n in NAMES if "include" in n]


@pytest.mark.parametrize(
    ("params", "expected", "total"),
    [
        ({"q": "SUB/"}, [n for n in NAMES if n.startswith("sub/")], 2),
        ({"search": "include"}, INCLUDES, len(INCLUDES)),
        ({"q": "include", "search": "zeta"}, INCLUDES, len(INCLUDES)),
        ({"q": ".txt"}, [], 0),
        ({"sort": "-name"}, NAMES[::-1], len(NAMES)),
        ({"sort": "name", "order": "desc"}, NAMES[::-1], len(NAMES)),
        ({"limit": 2, "offset": 3}, NAMES[3:5], len(NAMES)),
        ({"limit": 2, "page": 2}, NAMES[2:4], len(NAMES)),
        ({"offset": 100}, [], len(NAMES)),
        ({"limit": 0}, [], len(NAMES)),
    ],
)
def test_list_parameters(
    api: httpx.Client, params: dict[str, Any], expected: list[str], total: int
) -> None:
    data, pagination = listing(api.get("/api/templates", params=params))
    assert data == expected
    assert pagination["total"] == total


@pytest.mark.parametrize(
    ("params", "parameter"), [({"sort": "path"}, "sort"), ({"limit": "-1"}, "limit")]
)
def test_list_bad_parameters(api: httpx.Client, params: dict[str, str], parameter: str) -> None:
    body = error(api.get("/api/templates", params=params), 400, "invalid_parameter")
    assert body["details"]["parameter"] == parameter


def test_list_etag_follows_the_set_of_names(api: httpx.Client, template_dir: Path) -> None:
    directory = template_dir
    before = api.get("/api/templates")
    assert (
        api.get("/api/templates", headers={"If-None-Match": before.headers["etag"]}).status_code
        == 304
    )
    (directory / "added.html").write_text("new")
    try:
        after = api.get("/api/templates")
        assert after.headers["etag"] != before.headers["etag"]
        assert "added.html" in listing(after)[0]
        response = api.get("/api/templates", headers={"If-None-Match": before.headers["etag"]})
        assert response.status_code == 200
    finally:
        (directory / "added.html").unlink()
    assert api.get("/api/templates").headers["etag"] == before.headers["etag"]


def test_list_etag_follows_every_templates_source(api: httpx.Client, template_dir: Path) -> None:
    """Revision 1.1: the ETag is the template set's version, so it changes with any source."""
    name = NAMES[0]
    source = (template_dir / name).read_text()
    before = api.get("/api/templates")
    (template_dir / name).write_text(source + "<!-- edited -->")
    try:
        after = api.get("/api/templates")
        assert listing(after) == listing(before)
        assert after.headers["etag"] != before.headers["etag"]
        stale = api.get("/api/templates", headers={"If-None-Match": before.headers["etag"]})
        assert stale.status_code == 200
        fresh = api.get("/api/templates", headers={"If-None-Match": after.headers["etag"]})
        assert fresh.status_code == 304
    finally:
        (template_dir / name).write_text(source)
    assert api.get("/api/templates").headers["etag"] == before.headers["etag"]


# Rendering -------------------------------------------------------------------------------------


def test_render(api: httpx.Client, user: dict[str, str]) -> None:
    response = render(api, {**user, "If-None-Match": "*"}, {"template": "hello.html",
                                                           "context": {"name": "Zoë"}})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers and response.headers["x-request-id"]
    assert response.content == "<p>Hello Zoë!</p>".encode()


def test_render_escapes(api: httpx.Client, user: dict[str, str]) -> None:
    name = "<script>alert('x' & \"y\")</script>/"
    response = render(api, user, {"template": "hello.html", "context": {"name": name}})
    text = response.content.decode()
    assert "<script>" not in text and '"' not in text.removeprefix("<p>Hello ")
    assert html.unescape(text) == f"<p>Hello {name}!</p>"


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("sub/a.html", {"items": [1, "two", True, None, 2.5]}, "5:1;two;true;;2.5;"),
        ("sub/Deeper/b.html", {"obj": {"b": 2, "a": 1, "B": 0}}, "B=0,a=1,b=2,"),
        ("child.html", {"x": {"y": "why"}}, "[why]"),
        ("Zeta.html", {}, "Z"),
        ("globals.html", {}, "ok"),
        ("Zeta.html", {"unused": {"nested": [1, 2, {"a": None}]}}, "Z"),
        (
            "helpers.html",
            {"data": {"b": "<&>", "a": 1}},
            '1h2m|1m30s|/pkg|{"a":1,"b":"\\u003c\\u0026\\u003e"}|transient-failure|c.txt|abc...',
        ),
    ],
)
def test_render_values(
    api: httpx.Client, user: dict[str, str], template: str, context: dict[str, Any], expected: str
) -> None:
    response = render(api, user, {"template": template, "context": context})
    assert response.status_code == 200, response.text
    assert html.unescape(response.content.decode()) == expected


def test_context_defaults_to_empty_and_unknown_keys_are_ignored(
    api: httpx.Client, user: dict[str, str]
) -> None:
    for body in ({"template": "Zeta.html"}, {"template": "Zeta.html", "extra": [1], "ctx": 2}):
        assert render(api, user, body).content == b"Z"


@pytest.mark.parametrize("who", ["user", "qa", "admin", "service"])
def test_every_user_may_render(api: httpx.Client, server: EmulatorServer, who: str) -> None:
    assert render(api, bearer(server, who), {"template": "Zeta.html"}).content == b"Z"
    response = api.post("/api/templates/render-batch", headers=bearer(server, who),
                        json={"items": []})  # fmt: skip
    assert ok(response) == []


@pytest.mark.parametrize("path", ["/api/templates/render", "/api/templates/render-batch"])
def test_authentication(api: httpx.Client, path: str) -> None:
    response = api.post(path, json={"template": "Zeta.html", "items": []})
    error(response, 401, "unauthorized", None, www_authenticate="Bearer")
    response = api.post(path, json={}, headers={"Authorization": "Bearer nope"})
    error(response, 401, "invalid_token", None, www_authenticate='Bearer error="invalid_token"')
    response = api.post(path, content=b"{", headers={"Content-Type": "text/plain"})
    error(response, 401, "unauthorized", None)  # authentication before syntax (§2.1)


@pytest.mark.parametrize(
    "name",
    ["nope.html", "/hello.html", "../hello.html", "sub/../hello.html", "./hello.html",
     "notes.txt", "hello", "", "sub", "sub/", "HELLO.html", "hello.html ", "sub//a.html",
     "sub\\a.html", "hello.html\u0000"],
)  # fmt: skip
def test_template_not_found(api: httpx.Client, user: dict[str, str], name: str) -> None:
    response = render(api, user, {"template": name})
    error(response, 404, "template_not_found", {"template": name})


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({}, "template", None),
        ({"template": None}, "template", None),
        ({"template": 5}, "template", 5),
        ({"template": ["hello.html"]}, "template", ["hello.html"]),
        ({"template": "hello.html", "context": []}, "context", []),
        ({"template": "hello.html", "context": "x"}, "context", "x"),
        ({"template": "hello.html", "context": None}, "context", None),
        ({"template": 1, "context": []}, "template", 1),
        ({"context": {}}, "template", None),
    ],
)
def test_render_validation(
    api: httpx.Client, user: dict[str, str], body: dict[str, Any], field: str, value: Any
) -> None:
    body_ = error(render(api, user, body), 422, "validation_error")
    assert list(body_["details"]) == ["field", "value", "expected"]
    assert body_["details"]["field"] == field and body_["details"]["value"] == value


@pytest.mark.parametrize("body", [b"[]", b'"hello.html"', b"null", b"3"])
def test_render_body_must_be_an_object(
    api: httpx.Client, user: dict[str, str], body: bytes
) -> None:
    response = api.post("/api/templates/render", content=body,
                        headers={**user, "Content-Type": "application/json"})  # fmt: skip
    error(response, 422, "validation_error")


def test_render_syntax_error(api: httpx.Client, user: dict[str, str]) -> None:
    for template in ("broken.html", "includes-broken.html"):
        body = error(render(api, user, {"template": template}), 422, "template_syntax_error")
        details = body["details"]
        assert list(details) == ["template", "line", "column", "message"]
        assert details["template"] == "broken.html"
        assert details["line"] == 2
        assert isinstance(details["column"], int) and 1 <= details["column"] <= 11
        assert isinstance(details["message"], str) and details["message"]


def test_render_error_with_line_and_column(api: httpx.Client, user: dict[str, str]) -> None:
    for template in ("undefined.html", "includes-undefined.html"):
        body = error(render(api, user, {"template": template}), 422, "template_render_error")
        details = body["details"]
        assert list(details) == ["template", "line", "column", "message"]
        assert (details["template"], details["line"], details["column"]) == (
            "undefined.html", 2, 9,
        )  # fmt: skip
        assert "run" in details["message"]
    body = error(render(api, user, {"template": "child.html"}), 422, "template_render_error")
    assert body["details"]["template"] == "child.html" and body["details"]["line"] == 1
    body = error(render(api, user, {"template": "missing-include.html"}), 422,
                 "template_render_error")  # fmt: skip
    assert body["details"]["template"] == "missing-include.html"
    assert body["details"]["line"] == 2


# Request bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/templates/render", "/api/templates/render-batch"])
def test_media_type_and_json(api: httpx.Client, user: dict[str, str], path: str) -> None:
    error(api.post(path, headers=user), 415, "unsupported_media_type", None)
    response = api.post(path, headers={**user, "Content-Type": "text/plain"}, content=b"{}")
    error(response, 415, "unsupported_media_type", None)
    response = api.post(path, headers={**user, "Content-Type": "application/json"}, content=b"{")
    body = error(response, 400, "invalid_json")
    assert list(body["details"]) == ["message"]
    response = api.post(path, headers={**user, "Content-Type": "application/json"},
                        content=b'{"template": "\xff"}')  # fmt: skip
    error(response, 400, "invalid_json")


@pytest.mark.parametrize("path", ["/api/templates/render", "/api/templates/render-batch"])
def test_a_body_nested_too_deep_is_invalid_json(
    api: httpx.Client, user: dict[str, str], path: str
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api.post(path, headers={**user, "Content-Type": "application/json"}, content=deep)
    assert error(response, 400, "invalid_json")["details"] == {"message": "nested too deep"}


@pytest.mark.parametrize("depth", [63, 64, 65, 900, 5000])
def test_a_context_nested_too_deep_is_a_validation_error(
    api: httpx.Client, user: dict[str, str], depth: int
) -> None:
    nested = "[" * (depth - 1) + "1" + "]" * (depth - 1)  # json.dumps would recurse as deep
    render = f'{{"template": "big.html", "context": {{"blob": {nested}}}}}'
    headers = {**user, "Content-Type": "application/json"}
    for path, body, field in (
        ("/api/templates/render", render, "context"),
        ("/api/templates/render-batch", f'{{"items": [{render}]}}', "items[0].context"),
    ):
        response = api.post(path, headers=headers, content=body.encode())
        if depth <= 64:
            assert response.status_code == 200, response.text
            continue
        if depth > 1000:  # past what the JSON parser nests: not JSON it can read
            error(response, 400, "invalid_json")
            continue
        details = error(response, 422, "validation_error")["details"]
        assert details == {
            "field": field,
            "value": None,
            "expected": "an object nested at most 64 deep",
        }


def test_body_up_to_ten_mib(api: httpx.Client, user: dict[str, str]) -> None:
    blob = "x" * (10 * MIB - 100)
    body = json.dumps({"template": "big.html", "context": {"blob": blob}}).encode()
    assert 1 * MIB < len(body) <= 10 * MIB
    response = api.post("/api/templates/render", content=body,
                        headers={**user, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200 and response.content == str(len(blob)).encode()


@pytest.mark.parametrize("path", ["/api/templates/render", "/api/templates/render-batch"])
def test_body_over_ten_mib(api: httpx.Client, user: dict[str, str], path: str) -> None:
    body = b'{"template": "big.html", "context": {"blob": "' + b"x" * (10 * MIB) + b'"}}'
    headers = {**user, "Content-Type": "application/json"}
    error(api.post(path, content=body, headers=headers), 413, "payload_too_large",
          {"limit": 10 * MIB})  # fmt: skip

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield body[: 5 * MIB]
        yield body[5 * MIB :]

    response = api.post(path, content=chunks(), headers=headers)
    error(response, 413, "payload_too_large", {"limit": 10 * MIB})
    response = api.post(path, content=body, headers={**user, "Content-Type": "text/plain"})
    error(response, 413, "payload_too_large", {"limit": 10 * MIB})  # 413 before 415 (§2.1)


# Batches ---------------------------------------------------------------------------------------


def batch(api: httpx.Client, headers: dict[str, str], body: Any) -> httpx.Response:
    return api.post("/api/templates/render-batch", headers=headers, json=body)


def test_batch(api: httpx.Client, user: dict[str, str]) -> None:
    items = [
        {"template": "hello.html", "context": {"name": "a<b"}},
        {"template": "nope.html"},
        {"template": "broken.html", "context": {}},
        {"template": "undefined.html"},
        {"template": "Zeta.html", "context": {"x": 1}},
    ]
    response = batch(api, {**user, "If-None-Match": "*"}, {"items": items})
    data = ok(response)
    assert "etag" not in response.headers
    assert data[0] == {"html": "<p>Hello a&lt;b!</p>"}
    same(data[1], {"error": "template_not_found", "reason": data[1]["reason"],
                   "details": {"template": "nope.html"}})  # fmt: skip
    assert list(data[2]) == ["error", "reason", "details"]
    assert data[2]["error"] == "template_syntax_error"
    assert data[2]["details"]["template"] == "broken.html" and data[2]["details"]["line"] == 2
    assert data[3]["error"] == "template_render_error"
    assert (data[3]["details"]["line"], data[3]["details"]["column"]) == (2, 9)
    assert data[4] == {"html": "Z"}
    single = render(api, user, items[3]).json()
    assert data[3] == single


def test_batch_sizes(api: httpx.Client, user: dict[str, str]) -> None:
    assert ok(batch(api, user, {"items": []})) == []
    items = [{"template": "sub/a.html", "context": {"items": [i]}} for i in range(100)]
    assert ok(batch(api, user, {"items": items})) == [{"html": f"1:{i};"} for i in range(100)]
    body = error(batch(api, user, {"items": items + items[:1]}), 422, "validation_error")
    assert body["details"]["field"] == "items"


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({}, "items", None),
        ({"items": None}, "items", None),
        ({"items": {"template": "Zeta.html"}}, "items", {"template": "Zeta.html"}),
        ({"items": "Zeta.html"}, "items", "Zeta.html"),
        ({"items": [{"template": "Zeta.html"}, "Zeta.html"]}, "items[1]", "Zeta.html"),
        ({"items": [{"template": "Zeta.html"}, {}, {"template": 1}]}, "items[1].template", None),
        ({"items": [{"template": "Zeta.html", "context": [1]}]}, "items[0].context", [1]),
        ({"items": [{"template": "x.html"}] * 3 + [{"template": 7}]}, "items[3].template", 7),
        ({"items": [{"template": 1, "context": 1}, {"template": 2}]}, "items[0].template", 1),
    ],
)
def test_batch_validation(
    api: httpx.Client, user: dict[str, str], body: dict[str, Any], field: str, value: Any
) -> None:
    details = error(batch(api, user, body), 422, "validation_error")["details"]
    assert details["field"] == field and details["value"] == value


def test_batch_response_is_compact_json(api: httpx.Client, user: dict[str, str]) -> None:
    response = batch(api, user, {"items": [{"template": "hello.html", "context": {"name": "é"}}]})
    assert json_body(response) == {"data": [{"html": "<p>Hello é!</p>"}]}
    assert "pagination" not in response.json()
