"""What every table family of the demo data shares: the random values, "now", the row type."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

#: "Now" for the seeded data.
REFERENCE_TIME = datetime(2026, 11, 1, 12, 0, 0)

Row = dict[str, Any]
T = TypeVar("T")

#: Compact JSON text, non-ASCII characters unescaped.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Draw:
    """Random values from one generator seeded once: the same seed, the same values."""

    def __init__(self, random_seed: int) -> None:
        self.rng = random.Random(random_seed)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def maybe(self, probability: float, value: T) -> T | None:
        """``value``, or None with the given probability."""
        return None if self.rng.random() < probability else value

    def integer(self, low: int, high: int) -> int:
        """A uniform integer in [low, high] (cheaper than ``randint``)."""
        return low + int(self.rng.random() * (high - low + 1))

    def pick(self, weights: Mapping[T, float]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def spread(self, n: int, weights: Mapping[T, float]) -> list[T]:
        """``n`` values drawn by weight, each value present at least once when ``n`` allows."""
        values = list(weights)
        drawn = self.rng.choices(values, weights=list(weights.values()), k=n)
        positions = self.rng.sample(range(n), min(n, len(values)))
        for position, value in zip(positions, values, strict=False):
            drawn[position] = value
        return drawn

    def random_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def revision(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def version(self) -> str:
        return f"{self.integer(0, 12)}.{self.integer(0, 30)}.{self.integer(0, 9)}"

    def rounded(self, moment: datetime) -> datetime:
        """``moment``, truncated to whole seconds half of the time."""
        return moment.replace(microsecond=0) if self.chance(0.5) else moment

    def timestamp(self, min_age: timedelta, max_age: timedelta) -> datetime:
        """A time between ``max_age`` and ``min_age`` before the reference time."""
        age = self.rng.uniform(min_age.total_seconds(), max_age.total_seconds())
        return self.rounded(REFERENCE_TIME - timedelta(seconds=age))
