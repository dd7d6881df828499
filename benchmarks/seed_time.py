"""How long seeding takes (not a test): ``python benchmarks/seed_time.py [RUNS]``.

Creates the schema in a temporary SQLite file, seeds ``RUNS`` runs (default 100,000) and prints
the seconds spent in :func:`janitor_site_emulator.seed.seed` and the row counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from janitor_site_emulator import schema, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, nargs="?", default=100_000, help="runs to seed")
    parser.add_argument("--random-seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        engine = schema.create_engine(f"sqlite:///{Path(directory) / 'seed.sqlite3'}")
        schema.create_schema(engine)
        started = time.perf_counter()
        summary = seed.seed(engine, runs=args.runs, random_seed=args.random_seed)
        elapsed = time.perf_counter() - started
        engine.dispose()
    print(f"seeded {args.runs:,} runs into SQLite in {elapsed:.2f} s")
    for name, count in dataclasses.asdict(summary).items():
        print(f"  {name:<24} {count:>9,}")


if __name__ == "__main__":
    main()
