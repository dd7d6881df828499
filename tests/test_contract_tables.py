"""The Django side's reading of the contract's data tables equals the contract document."""

from __future__ import annotations

import re
from pathlib import Path

from janitor_site_django import results
from janitor_site_django.admin import DECLARED_CHOICES

CONTRACT = (Path(__file__).resolve().parents[1] / "docs/contract/janitor-api-v1.md").read_text()


def _code_list(label: str) -> set[str]:
    [line] = re.findall(rf"^{label} list: (.*)$", CONTRACT, re.MULTILINE)
    return set(re.findall(r"`([^`]+)`", line))


def test_result_code_lists_are_the_contracts() -> None:
    assert results.BUG_CODES == _code_list("BUG")
    assert results.TRANSIENT_CODES == _code_list("TRANSIENT")
    [row] = [line for line in CONTRACT.splitlines() if line.startswith("| `classify_result_code(")]
    unchanged = row.split("→ returned unchanged")[0]
    assert results.SUCCESSFUL == tuple(re.findall(r"`([a-z-]+)`", unchanged))


def test_the_admin_offers_the_contracts_codes_and_has_no_copy() -> None:
    named = set(results.SUCCESSFUL) | _code_list("BUG") | _code_list("TRANSIENT")
    assert DECLARED_CHOICES["result_code"] == results.NAMED_CODES
    assert set(results.NAMED_CODES) == named and len(results.NAMED_CODES) == len(named)
    assert results.NAMED_CODES[:3] == results.SUCCESSFUL
