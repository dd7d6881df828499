"""The contract copy in docs/contract/ is the one in ../shared (when the latter is present)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.mark.parametrize("name", ["janitor-api-v1.md", "openapi-v1.json"])
def test_contract_copy_matches_shared(name: str) -> None:
    if not (SHARED / name).exists():
        pytest.skip(f"no ../shared/{name} beside this checkout")
    assert (ROOT / "docs" / "contract" / name).read_bytes() == (SHARED / name).read_bytes()
