"""Smoke test: the stock Django admin of the test project, logged in through a real browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_admin_index_after_login(
    page: Page, login: Callable[[Page], None], snap: Callable[[Page, str], Path]
) -> None:
    login(page)

    assert page.locator("#site-name").inner_text() == "Django administration"
    assert page.locator("h1").inner_text() == "Site administration"
    assert "browser-admin" in page.locator("#user-tools").inner_text().lower()
    # The admin's CSS came through the live server's static files handler.
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"
    path = snap(page, "admin-index")
    assert path.stat().st_size > 0
