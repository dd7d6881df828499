"""Templates rendered by the Janitor site service: a Django backend and fragment batching."""

from __future__ import annotations
