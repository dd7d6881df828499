"""Fixtures of the conformance suite: the filled replicas, the async portal, the report."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from django.test.utils import override_settings

from janitor_site_django.testing.emulator import EmulatorServer

from .check import REPORT, Checker
from .config import describe
from .replica import empty, fill
from .tables import Pool


@pytest.fixture(scope="module")
def pool(
    janitor_emulator: EmulatorServer, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Pool]:
    """The replicas filled with every row of the demo emulator, read through the API; the
    database stays open to the replica side while the module runs."""
    api = {
        "JANITOR_SITE_URL": janitor_emulator.url,
        "JANITOR_SITE_API_TOKEN": janitor_emulator.tokens["admin"],
    }
    with django_db_blocker.unblock(), override_settings(**api):
        empty()
        try:
            yield fill()
        finally:
            empty()


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    """One event loop in its own thread for every async evaluation: the sync API runs in the
    test's thread, the async API only on that loop."""
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture(scope="module")
def checker(portal: BlockingPortal) -> Checker:
    return Checker(portal.call)


def pytest_report_header(config: pytest.Config) -> str:
    return _config_line()


def _config_line() -> str:
    return describe()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT.cases:
        return
    write = terminalreporter.write_line
    terminalreporter.section("ORM conformance")
    write(_config_line())
    for model, count in sorted(REPORT.cases.items()):
        write(
            f"  {model}: {REPORT.drawn[model]} cases drawn, {count} distinct, "
            f"{REPORT.passed[model]} answered alike, "
            f"{REPORT.seconds[model]:.1f} s"
        )
    refusals = sorted(REPORT.refusals.items(), key=lambda item: -item[1].count)
    write(f"refusals: {sum(h.count for _, h in refusals)} cases, {len(refusals)} messages")
    for (model, kind, message), hit in refusals[:40]:
        write(f"  {hit.count:4} {model} {kind}: {message}"[:300])
    if REPORT.surveyed:
        write(f"FAILURES (survey): {len(REPORT.surveyed)} signatures")
        for signature, hit in sorted(REPORT.surveyed.items()):
            write(f"  {hit.count:4} {signature}")
    path = os.environ.get("JANITOR_CONFORMANCE_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump(_as_json(), out, indent=1, default=repr)
        write(f"full report: {path}")


def _as_json() -> dict[str, Any]:
    return {
        "config": _config_line(),
        "cases": dict(REPORT.cases),
        "drawn": dict(REPORT.drawn),
        "passed": dict(REPORT.passed),
        "seconds": dict(REPORT.seconds),
        "surveyed": {
            sig: {"count": hit.count, "example": repr(hit.example), "failure": hit.failure}
            for sig, hit in REPORT.surveyed.items()
        },
        "refusals": [
            {
                "model": model,
                "kind": kind,
                "message": message,
                "count": hit.count,
                "example": repr(hit.example),
            }
            for (model, kind, message), hit in REPORT.refusals.items()
        ],
    }
