"""The emulator's reading of the contract's tables equals the contract document itself.

The error table of §2.3 (status and code columns) and the result-code lists of §6.4 (the codes
``classify_result_code`` returns unchanged, the BUG list, the TRANSIENT list).
"""

from __future__ import annotations

import re
from pathlib import Path

from janitor_site_emulator import template_helpers
from janitor_site_emulator.errors import STATUS_BY_CODE

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract" / "janitor-api-v1.md"


def section(number: str) -> str:
    """The text of section ``number`` (``"2.3"``) of the contract, up to the next heading."""
    text = CONTRACT.read_text(encoding="utf-8")
    [body] = re.findall(rf"^### {re.escape(number)} .*?\n(.*?)(?=^#)", text, re.M | re.S)
    return str(body)


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in ``text``, by header (``\\|`` is no separator)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, _rule, *rows = (
        [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines
    )
    return [dict(zip(header, row, strict=True)) for row in rows]


def codes(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def code_list(label: str) -> list[str]:
    """The codes of the ``BUG list:`` or ``TRANSIENT list:`` line of §6.4."""
    [line] = re.findall(rf"^{label} list: (.*)$", section("6.4"), re.M)
    return codes(line)


def test_error_status_table_is_the_contracts() -> None:
    rows = table_rows(section("2.3"))
    document = [(codes(row["`error`"]), int(row["Status"])) for row in rows]
    assert all(len(code) == 1 for code, _ in document)
    by_code = {code: status for (code,), status in document}
    assert len(by_code) == len(document)  # no code twice
    assert by_code == dict(STATUS_BY_CODE)
    assert list(by_code) == list(STATUS_BY_CODE)  # in the contract's order


def test_result_code_lists_are_the_contracts() -> None:
    bug, transient = code_list("BUG"), code_list("TRANSIENT")
    assert len(set(bug)) == len(bug) and len(set(transient)) == len(transient)
    assert set(bug) == template_helpers.BUG_RESULT_CODES
    assert set(transient) == template_helpers.TRANSIENT_RESULT_CODES


def test_successful_codes_are_the_contracts() -> None:
    [row] = [
        row for row in table_rows(section("6.4")) if "classify_result_code(" in row["Function"]
    ]
    unchanged = row["Output"].split("→ returned unchanged")[0]
    assert set(codes(unchanged)) == template_helpers.SUCCESSFUL_RESULT_CODES
