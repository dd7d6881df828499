"""The admin over API models, driven in Chromium: every changelist, search, filter, sort,
paging, a detail page and an action. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from janitor_site_django import admin as api_admin
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHANGELISTS = {
    "codebase": "Select codebase to view",
    "run": "Select run to change",
    "mergeproposal": "Select merge proposal to view",
    "queueitem": "Select queue item to view",
    "activerun": "Select active run to view",
    "readyrun": "Select ready run to view",
}


@pytest.fixture
def writable_api(settings: Any, admin_live: Any, tmp_path: Path) -> Iterator[EmulatorServer]:
    """An emulator of this test's own (the action changes the queue), as the QA reviewer."""
    with start_emulator(f"sqlite:///{tmp_path / 'browser.sqlite3'}") as server:
        settings.JANITOR_SITE_URL = server.url
        settings.JANITOR_SITE_API_TOKEN = server.tokens["admin"]
        api_admin._campaigns = (0.0, [])
        yield server


def result_rows(page: Page) -> int:
    return page.locator("#result_list tbody tr").count()


def test_every_changelist_lists_rows(
    page: Page, login: Callable[[Page], None], snap: Callable[[Page, str], Path]
) -> None:
    api_admin._campaigns = (0.0, [])
    login(page)
    for model, heading in CHANGELISTS.items():
        page.goto(f"/admin/janitor_site_django/{model}/")
        assert page.locator("h1").inner_text() == heading
        assert result_rows(page) > 0, model
        snap(page, f"changelist-{model}")


def test_search_filter_sort_page_detail_and_action(
    page: Page,
    login: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
    writable_api: EmulatorServer,
) -> None:
    login(page)
    page.goto("/admin/janitor_site_django/run/")
    assert result_rows(page) == 25

    page.fill("#searchbar", "lintian")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=lintian**")
    assert result_rows(page) > 0
    assert "lintian" in page.locator("#result_list tbody").inner_text().lower()
    snap(page, "run-search")

    page.goto("/admin/janitor_site_django/run/")
    page.locator("#changelist-filter a", has_text="success").first.click()
    page.wait_for_url("**result_code__exact=success**")
    codes = page.locator("#result_list tbody td.field-result_code").all_inner_texts()
    assert codes and set(codes) == {"success"}
    snap(page, "run-filter-success")

    page.goto("/admin/janitor_site_django/run/")
    page.locator("#result_list thead th.column-campaign a").first.click()
    page.wait_for_url("**o=**")
    campaigns = page.locator("#result_list tbody td.field-campaign").all_inner_texts()
    assert campaigns == sorted(campaigns)
    snap(page, "run-sorted-by-campaign")

    page.goto("/admin/janitor_site_django/run/")
    page.locator(".paginator a", has_text="2").first.click()
    page.wait_for_url("**p=2**")
    assert result_rows(page) == 25
    snap(page, "run-page-2")

    page.goto("/admin/janitor_site_django/run/?result_code__exact=build-failed")
    first = page.locator("#result_list tbody tr").first
    run_id = first.locator("th a").inner_text()
    first.locator("th a").click()
    page.wait_for_url(f"**/run/{run_id}/change/**")
    assert run_id in page.locator("#content").inner_text()
    assert page.locator("textarea[name=description]").count() == 1
    snap(page, "run-detail")

    page.goto("/admin/janitor_site_django/run/?result_code__exact=build-failed")
    page.locator("#result_list tbody tr").first.locator("input.action-select").check()
    page.select_option("select[name=action]", "reschedule")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "Rescheduled" in page.locator("ul.messagelist").inner_text()
    snap(page, "run-action-rescheduled")
