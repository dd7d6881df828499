"""``SiteClient.list_runs(limit=50)`` against a raw ``httpx`` GET + ``.json()`` (``make bench``).

Both use one keep-alive connection to the same emulator (demo data, temporary SQLite file);
rounds are interleaved so drift hits both equally. Prints the medians and their ratio; the
target is ≤ 1.10 (the client adds validation into typed models, error mapping, instrumentation).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from janitor_site_django import SiteClient
from janitor_site_django.testing.emulator import start_emulator


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--limit", type=int, default=50)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as directory,
        start_emulator(f"sqlite:///{Path(directory) / 'bench.sqlite3'}") as server,
    ):
        raw = httpx.Client(base_url=server.url)
        client = SiteClient(base_url=server.url)
        url = f"/api/runs?limit={options.limit}"

        def raw_call() -> Any:
            return raw.get(url).json()

        def client_call() -> Any:
            return client.list_runs(limit=options.limit)

        assert len(client_call().items) == len(raw_call()["data"]) == options.limit
        for _ in range(20):  # warm up both connections and caches
            raw_call(), client_call()
        raw_times, client_times = [], []
        for _ in range(options.rounds):
            raw_times.append(timed(raw_call))
            client_times.append(timed(client_call))
        raw_median = statistics.median(raw_times) * 1000
        client_median = statistics.median(client_times) * 1000
        print(f"runs page of {options.limit}, {options.rounds} interleaved rounds, medians:")
        print(f"  raw httpx GET + .json()        {raw_median:7.3f} ms")
        print(f"  SiteClient.list_runs()         {client_median:7.3f} ms")
        print(
            f"  ratio                          {client_median / raw_median:7.3f}  (target ≤ 1.10)"
        )
        client.close()
        raw.close()


if __name__ == "__main__":
    main()
