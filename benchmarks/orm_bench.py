"""ORM costs against the emulator (``make bench``; not a test).

1. ``list(Run.objects.all()[:50])`` vs ``SiteClient.list_runs(limit=50)``: median ratio,
   interleaved rounds (target ≤ 1.10).
2. Iterating every run of a 100,000-run data set with ``Run.objects.iterator()`` vs a naive
   sequential raw-httpx paging loop (``limit=1000``, ``.json()``): wall time ratio (target
   ≤ 0.8) and peak RSS growth of the ORM loop (target ≤ 30 MB). Each loop runs in its own
   process so that peak RSS is its own.
"""

from __future__ import annotations

import argparse
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
    if mode == "orm":
        _django(url)
        from janitor_site_django.models import Run

        iterate = Run.objects.iterator
    before = _peak_rss_mb()
    started = time.perf_counter()
    count = 0
    if mode == "orm":
        for _run in iterate():
            count += 1
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


def list_ratio(url: str, rounds: int) -> None:
    _django(url)
    from janitor_site_django.client import get_client
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
    orm_median, raw_median = statistics.median(orm_times), statistics.median(raw_times)
    print(f"list of 50 runs, {rounds} interleaved rounds, medians:")
    print(f"  SiteClient.list_runs(limit=50)   {raw_median * 1000:7.3f} ms")
    print(f"  list(Run.objects.all()[:50])     {orm_median * 1000:7.3f} ms")
    print(f"  ratio                            {orm_median / raw_median:7.3f}  (target ≤ 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="emulator worker processes")
    parser.add_argument("--loop", choices=("orm", "naive"), help=argparse.SUPPRESS)
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
            for mode in ("naive", "orm", "naive", "orm"):
                out = subprocess.run(
                    [sys.executable, __file__, "--loop", mode, "--url", server.url],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                results.setdefault(mode, []).append(json.loads(out.stdout))
    naive = min(r["seconds"] for r in results["naive"])
    orm = min(r["seconds"] for r in results["orm"])
    items = results["orm"][0]["items"]
    assert items == results["naive"][0]["items"] == options.runs, results
    print(f"iterating {items} runs (best of 2):")
    print(f"  naive raw-httpx paging loop      {naive:7.2f} s")
    print(f"  Run.objects.iterator()           {orm:7.2f} s")
    print(f"  ratio                            {orm / naive:7.3f}  (target ≤ 0.8)")
    growth = max(r["rss_growth_mb"] for r in results["orm"])
    print(f"  ORM peak RSS growth              {growth:7.1f} MB (target ≤ 30)")


if __name__ == "__main__":
    main()
