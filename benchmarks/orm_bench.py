"""ORM costs against the emulator (``make bench``; not a test).

1. ``list(Run.objects.all()[:50])`` vs ``SiteClient.list_runs(limit=50)``, and the async pair
   (``[r async for r in …]`` vs ``await AsyncSiteClient.list_runs(limit=50)``): median ratio,
   interleaved rounds (target ≤ 1.10).
2. Iterating every run of a 100,000-run data set with ``Run.objects.iterator()`` and ``async
   for … in Run.objects.aiterator()`` vs a naive sequential raw-httpx paging loop
   (``limit=1000``, ``.json()``): wall time ratio, best of ``--repeat`` interleaved loops
   (target ≤ 0.8), and peak RSS growth of the ORM loop (target ≤ 30 MB). Each loop runs in its
   own process so that peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _django(url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    settings.JANITOR_SITE_URL = url


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loop(mode: str, url: str) -> dict[str, Any]:
    """One full iteration in this process: seconds, items and peak RSS growth."""
    if mode in ("orm", "aorm"):
        _django(url)
        from janitor_site_django.models import Run
    before = _peak_rss_mb()
    started = time.perf_counter()
    count = 0
    if mode == "orm":
        for _run in Run.objects.iterator():
            count += 1
    elif mode == "aorm":

        async def iterate() -> int:
            return sum([1 async for _run in Run.objects.aiterator()])

        count = asyncio.run(iterate())
    else:
        with httpx.Client(base_url=url, timeout=60) as client:
            offset = 0
            while True:
                page = client.get("/api/runs", params={"limit": 1000, "offset": offset}).json()
                count += len(page["data"])
                offset += len(page["data"])
                if not page["pagination"]["has_more"]:
                    break
    return {
        "seconds": time.perf_counter() - started,
        "items": count,
        "rss_growth_mb": _peak_rss_mb() - before,
    }


def _report(label: str, rounds: int, orm_times: list[float], raw_times: list[float]) -> None:
    orm_median, raw_median = statistics.median(orm_times), statistics.median(raw_times)
    print(f"list of 50 runs ({label}), {rounds} interleaved rounds, medians:")
    print(f"  client list_runs(limit=50)       {raw_median * 1000:7.3f} ms")
    print(f"  ORM Run.objects.all()[:50]       {orm_median * 1000:7.3f} ms")
    print(f"  ratio                            {orm_median / raw_median:7.3f}  (target ≤ 1.10)")


def list_ratio(url: str, rounds: int) -> None:
    _django(url)
    from janitor_site_django.client import get_async_client, get_client
    from janitor_site_django.models import Run

    client = get_client()

    def orm() -> None:
        assert len(list(Run.objects.all()[:50])) == 50

    def raw() -> None:
        client.list_runs(limit=50, sort="-start_time,run_id")

    for _ in range(20):
        orm(), raw()
    orm_times, raw_times = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        orm()
        orm_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - started)
    _report("sync", rounds, orm_times, raw_times)

    async def interleaved() -> tuple[list[float], list[float]]:
        aclient = get_async_client()

        async def aorm() -> None:
            assert len([run async for run in Run.objects.all()[:50]]) == 50

        async def araw() -> None:
            await aclient.list_runs(limit=50, sort="-start_time,run_id")

        for _ in range(20):
            await aorm()
            await araw()
        orm_times, raw_times = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            await aorm()
            orm_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await araw()
            raw_times.append(time.perf_counter() - started)
        return orm_times, raw_times

    _report("async", rounds, *asyncio.run(interleaved()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="emulator worker processes")
    parser.add_argument("--repeat", type=int, default=5, help="iterations of each loop")
    parser.add_argument("--loop", choices=("orm", "aorm", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.loop:
        print(json.dumps(loop(options.loop, options.url)))
        return
    sys.path.insert(0, str(ROOT))
    from janitor_site_django.testing.emulator import start_emulator

    with tempfile.TemporaryDirectory() as directory:
        database = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        arguments = ["--seed-size", str(options.runs), "--workers", str(options.workers)]
        with start_emulator(database, seed="none", extra_args=arguments) as server:
            list_ratio(server.url, options.rounds)
            results = {}
            for mode in ("naive", "orm", "aorm") * options.repeat:
                out = subprocess.run(
                    [sys.executable, __file__, "--loop", mode, "--url", server.url],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                results.setdefault(mode, []).append(json.loads(out.stdout))
    naive = min(r["seconds"] for r in results["naive"])
    print(f"iterating {options.runs} runs (best of {options.repeat}, interleaved):")
    print(f"  naive raw-httpx paging loop      {naive:7.2f} s")
    for mode, label in (("orm", "Run.objects.iterator()"), ("aorm", "Run.objects.aiterator()")):
        seconds = min(r["seconds"] for r in results[mode])
        assert results[mode][0]["items"] == results["naive"][0]["items"] == options.runs, results
        growth = max(r["rss_growth_mb"] for r in results[mode])
        print(f"  {label:<32} {seconds:7.2f} s, ratio {seconds / naive:5.3f} (target ≤ 0.8)")
        print(f"  {'':<32} peak RSS growth {growth:5.1f} MB (target ≤ 30)")


if __name__ == "__main__":
    main()
