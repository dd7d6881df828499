"""The Django side's reading of the contract's data tables equals the contract document."""

from __future__ import annotations

import re
from pathlib import Path

from janitor_site_django import results
from janitor_site_django.admin import DECLARED_CHOICES
from janitor_site_django.client._legacy import CODE_STATUSES

CONTRACT = (Path(__file__).resolve().parents[1] / "docs/contract/janitor-api-v1.md").read_text()


def _code_list(label: str) -> set[str]:
    [line] = re.findall(rf"^{label} list: (.*)$", CONTRACT, re.MULTILINE)
    return set(re.findall(r"`([^`]+)`", line))


def test_result_code_lists_are_the_contracts() -> None:
    assert _code_list("BUG") == results.BUG_CODES
    assert _code_list("TRANSIENT") == results.TRANSIENT_CODES
    [row] = [line for line in CONTRACT.splitlines() if line.startswith("| `classify_result_code(")]
    unchanged = row.split("→ returned unchanged")[0]
    assert tuple(re.findall(r"`([a-z-]+)`", unchanged)) == results.SUCCESSFUL


def test_the_admin_offers_the_contracts_codes_and_has_no_copy() -> None:
    named = set(results.SUCCESSFUL) | _code_list("BUG") | _code_list("TRANSIENT")
    assert DECLARED_CHOICES["result_code"] == results.NAMED_CODES
    assert set(results.NAMED_CODES) == named and len(results.NAMED_CODES) == len(named)
    assert results.NAMED_CODES[:3] == results.SUCCESSFUL


def test_error_code_statuses_are_the_contracts() -> None:
    rows = re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", CONTRACT, re.MULTILINE)
    assert len(rows) > 20
    assert {code: int(status) for status, code in rows} == CODE_STATUSES
