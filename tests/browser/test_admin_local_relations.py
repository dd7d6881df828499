"""A local model's stock admin over ``ApiForeignKey``, in Chromium: the autocomplete widget
searches the API, the raw-id popup picks from the API model's changelist, and both save."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.testapp.models import Bookmark, RunNote

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.django_db(transaction=True)


def test_autocomplete_searches_the_api_and_saves(
    page: Page, login: Callable[[Page], None], snap: Callable[[Page, str], Path], settings: Any
) -> None:
    wanted = httpx.get(f"{settings.JANITOR_SITE_URL}/api/codebases", params={"limit": 3}).json()
    name = wanted["data"][2]["name"]
    login(page)
    page.goto("/admin/testapp/bookmark/add/")
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").fill(name)
    option = page.locator(".select2-results__option", has_text=name).first
    option.wait_for()
    snap(page, "bookmark-autocomplete")
    option.click()
    page.locator("input[name=note]").fill("from the browser")
    page.locator("input[name=_save]").click()
    page.locator(".messagelist").wait_for()
    assert Bookmark.objects.get(note="from the browser").codebase_id == name


def test_the_raw_id_popup_picks_a_run_from_the_api_changelist(
    page: Page, login: Callable[[Page], None], snap: Callable[[Page, str], Path]
) -> None:
    login(page)
    page.goto("/admin/testapp/runnote/add/")
    with page.expect_popup() as opened:
        page.locator("#lookup_id_run").click()
    popup = opened.value
    popup.wait_for_load_state()
    assert "_to_field=run_id" in popup.url
    first = popup.locator("#result_list tbody tr th a").first
    run_id = first.get_attribute("data-popup-opener")
    assert run_id
    snap(popup, "runnote-raw-id-popup")
    first.click()
    page.wait_for_function("id => document.querySelector('#id_run').value === id", arg=run_id)
    page.locator("input[name=text]").fill("picked")
    page.locator("input[name=_save]").click()
    page.locator(".messagelist").wait_for()
    assert RunNote.objects.get(text="picked").run_id == run_id
