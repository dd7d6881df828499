"""A server that answers ``total: null`` (today's upstream, contract §8 #4) still works."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from janitor_site_django.models import Codebase
from janitor_site_django.testing import capture_api_calls

from .conftest import Orm

NAMES = [f"codebase-{i:03d}" for i in range(23)]


class LegacyCodebases(BaseHTTPRequestHandler):
    """``/api/codebases`` pages with ``total: null``; ``has_more`` means the page is full."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
        names = NAMES[offset : offset + limit]
        body = {
            "data": [{"name": name, "url": None, "branch": None} for name in names],
            "pagination": {
                "total": None,
                "offset": offset,
                "limit": limit,
                "has_more": len(names) == limit > 0,
            },
        }
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def legacy_server(settings: Any) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), LegacyCodebases)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.JANITOR_SITE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.JANITOR_SITE_PAGE_SIZE = 10
    yield settings.JANITOR_SITE_URL
    server.shutdown()


@pytest.mark.anyio
@pytest.mark.usefixtures("legacy_server")
async def test_iteration_and_count_page_until_a_short_page(orm: Orm) -> None:
    with capture_api_calls() as calls:
        assert [c.name for c in await orm.list(Codebase.objects.all())] == NAMES
    assert [dict(c.params)["offset"] for c in calls] == ["0", "10", "20"]
    with capture_api_calls() as calls:
        assert await orm(Codebase.objects, "count") == len(NAMES)  # by paging: the known cost
    assert len(calls) == 4  # limit=0 tells nothing, then three pages
    tail = await orm(Codebase.objects.all()[15:], "iterator", chunk_size=4)
    assert [c.name for c in tail] == NAMES[15:]
    assert await orm(Codebase.objects.all()[5:8], "count") == 3
    assert await orm(Codebase.objects, "exists")
