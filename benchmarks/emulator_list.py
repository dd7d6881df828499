"""How fast the emulator answers list requests on loopback (not a test: run with ``make bench``).

Starts an emulator with the demo data set on a temporary SQLite file, then times sequential
keep-alive GETs of 50-item pages, as the client will issue them, and prints median and p95.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from janitor_site_django.testing.emulator import start_emulator

PAGES = {
    "codebases": "/api/codebases?limit=50&sort=-name",
    "runs": "/api/runs?limit=50",
    "runs, filtered": (
        "/api/runs?limit=50&result_codes=success,nothing-to-do&campaign=lintian-fixes"
    ),
    "merge proposals": "/api/merge-proposals?limit=50",
    "queue items": "/api/queue/items?limit=50&offset=200",
    "ready list": "/api/lintian-fixes/ready?limit=50",
}


def measure(client: httpx.Client, path: str, rounds: int) -> list[float]:
    client.get(path).raise_for_status()  # warm up
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database = options.database or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        with start_emulator(database) as server, httpx.Client(base_url=server.url) as client:
            print(f"{'page of 50':<18} {'median ms':>10} {'p95 ms':>8}  ({options.rounds} rounds)")
            for name, path in PAGES.items():
                timings = sorted(measure(client, path, options.rounds))
                p95 = timings[int(len(timings) * 0.95) - 1]
                print(f"{name:<18} {statistics.median(timings):>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
