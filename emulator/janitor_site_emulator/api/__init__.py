"""The v1 endpoints, one module per resource family, plus shared list handling."""

from __future__ import annotations
