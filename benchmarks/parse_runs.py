"""What parsing a 50-run page into ``schemas.Run`` costs (not a test: run by hand).

Starts an emulator with the demo data set on a temporary SQLite file, fetches one
``/api/runs?limit=50`` body, then times, interleaved to share the machine's noise:

* ``json.loads(body)`` — the baseline;
* ``TypeAdapter(ListEnvelope[Run]).validate_json(body)`` — what the client does;
* ``httpx.get(...).json()`` over loopback keep-alive — the request the ORM layer's
  "≤ 10 % over raw" budget is measured against.

Prints the medians (µs), the validate/json.loads ratio and the extra cost of validating as a share
of a raw request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import TypeAdapter

from janitor_site_django.schemas import ListEnvelope, Run
from janitor_site_django.testing.emulator import start_emulator

PATH = "/api/runs?limit=50"


def per_call_us(function: Callable[[], object], calls: int) -> float:
    """Mean µs per call over ``calls`` back-to-back calls."""
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=60, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=100, help="parses per round and method")
    parser.add_argument("--requests", type=int, default=10, help="HTTP requests per round")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    adapter = TypeAdapter(ListEnvelope[Run])
    with tempfile.TemporaryDirectory() as directory:
        database = options.database or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        with start_emulator(database) as server, httpx.Client(base_url=server.url) as client:
            body = client.get(PATH).raise_for_status().content
            page = adapter.validate_json(body)
            assert len(page.data) == 50 and page.data == adapter.validate_json(body).data
            methods: dict[str, tuple[Callable[[], object], int]] = {
                "json.loads(body)": (lambda: json.loads(body), options.calls),
                "validate_json(body)": (lambda: adapter.validate_json(body), options.calls),
                "httpx get + .json()": (
                    lambda: client.get(PATH).raise_for_status().json(),
                    options.requests,
                ),
            }
            for function, _ in methods.values():  # warm up
                for _ in range(20):
                    function()
            timings: dict[str, list[float]] = {name: [] for name in methods}
            for _ in range(options.rounds):
                for name, (function, calls) in methods.items():
                    timings[name].append(per_call_us(function, calls))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"page: {PATH} ({len(body)} bytes), {options.rounds} interleaved rounds")
    for name, median in medians.items():
        print(f"{name:<22} median {median:9.1f} µs")
    loads, validate = medians["json.loads(body)"], medians["validate_json(body)"]
    request = medians["httpx get + .json()"]
    print(f"validate_json / json.loads           {validate / loads:6.2f}x")
    print(
        f"(validate_json - json.loads) / request {(validate - loads) / request * 100:5.1f} % "
        "of a raw httpx.get().json()"
    )


if __name__ == "__main__":
    main()
