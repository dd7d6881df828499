"""How many cases a run draws, and from which seed (environment variables).

* ``JANITOR_CONFORMANCE_EXAMPLES``: cases per model (default 450; the ten-items-a-page test
  draws a sixth as many);
* ``JANITOR_CONFORMANCE_SEED``: unset — a fixed, derandomized run; ``random`` — a fresh seed,
  printed in the report header and summary; an integer — that seed (to replay a random run).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLES = int(os.environ.get("JANITOR_CONFORMANCE_EXAMPLES") or 450)
_SEED = os.environ.get("JANITOR_CONFORMANCE_SEED", "").strip()
SEED: int | None = (
    random.SystemRandom().randrange(2**32) if _SEED == "random" else int(_SEED) if _SEED else None
)


def describe() -> str:
    how = "derandomized (fixed)" if SEED is None else f"seed {SEED}"
    return f"conformance: {EXAMPLES} cases per model, {how}"


def conformance(examples: int) -> Callable[[F], F]:
    """Hypothesis settings of a conformance test drawing ``examples`` cases."""
    chosen = settings(
        max_examples=examples,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=False,
    )

    def apply(function: F) -> F:
        function = chosen(function)
        return seed(SEED)(function) if SEED is not None else function

    return apply
