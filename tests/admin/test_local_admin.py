"""A local model's stock admin over an ``ApiForeignKey``, written as for a ForeignKey.

``tests/testapp/admin.py``: ``BookmarkAdmin`` shows, filters and autocompletes the codebase;
``RunNoteAdmin`` has ``list_select_related`` and ``raw_id_fields`` on the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib import admin
from django.core import checks
from django.test import Client

from janitor_site_django.checks import check_admin_paths
from janitor_site_django.testing import assert_num_api_calls
from janitor_site_django.testing.emulator import EmulatorServer
from tests.testapp.models import Bookmark, RunNote

from .conftest import rows, wire

pytestmark = pytest.mark.django_db


@pytest.fixture
def codebases(api: EmulatorServer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = wire(api, "/api/codebases", limit=12)["data"]
    Bookmark.objects.bulk_create(
        Bookmark(codebase_id=c["name"], note=f"n{i}") for i, c in enumerate(listed)
    )
    return listed


@pytest.fixture
def runs(api: EmulatorServer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = wire(api, "/api/runs", limit=12)["data"]
    RunNote.objects.bulk_create(RunNote(run_id=r["run_id"], text="seen") for r in listed)
    return listed


def test_the_admins_system_checks_pass() -> None:
    """autocomplete_fields and raw_id_fields need a ForeignKey (admin.E038 / admin.E003)."""
    errors = [e for e in checks.run_checks(tags=[checks.Tags.admin]) if e.is_serious()]
    assert errors == []


def test_a_changelist_showing_the_codebase_is_one_batched_call(
    browser: Client, codebases: list[dict[str, Any]]
) -> None:
    with assert_num_api_calls(2) as calls:  # the page's codebases, and the filter's choices
        response = browser.get("/admin/testapp/bookmark/")
    html = response.content.decode()
    assert response.status_code == 200 and rows(html) == len(codebases)
    assert all(c["name"] in html for c in codebases)
    assert [call.path for call in calls] == ["/api/codebases"] * 2, calls.describe()


def test_list_select_related_is_one_batched_call(
    browser: Client, runs: list[dict[str, Any]]
) -> None:
    with assert_num_api_calls(1):
        response = browser.get("/admin/testapp/runnote/")
    assert response.status_code == 200, response.content[:300]
    assert rows(response.content.decode()) == len(runs)


def test_list_filter_on_the_relation_filters_by_key(
    browser: Client, codebases: list[dict[str, Any]]
) -> None:
    name = codebases[3]["name"]
    response = browser.get("/admin/testapp/bookmark/", {"codebase__name__exact": name})
    html = response.content.decode()
    assert response.status_code == 200 and rows(html) == 1 and "n3" in html


def test_autocomplete_is_the_api_models_search_one_call_a_page(
    browser: Client, api: EmulatorServer, codebases: list[dict[str, Any]]
) -> None:
    term = codebases[0]["name"][:4]
    expected = wire(api, "/api/codebases", q=term, limit=20)
    params = {"app_label": "testapp", "model_name": "bookmark", "field_name": "codebase"}
    with assert_num_api_calls(1):
        response = browser.get("/admin/autocomplete/", {**params, "term": term})
    assert response.status_code == 200, response.content[:300]
    answer = json.loads(response.content)
    assert [r["id"] for r in answer["results"]] == [c["name"] for c in expected["data"]]
    assert answer["pagination"]["more"] == expected["pagination"]["has_more"]


def test_the_change_form_widgets_and_the_raw_id_popup(
    browser: Client, runs: list[dict[str, Any]]
) -> None:
    note = RunNote.objects.order_by("pk").first()
    assert note is not None
    with assert_num_api_calls(1):  # the raw-id widget's label
        form = browser.get(f"/admin/testapp/runnote/{note.pk}/change/").content.decode()
    assert 'class="vForeignKeyRawIdAdminField"' in form and note.run_id in form
    assert "/admin/janitor_site_django/run/?_to_field=run_id" in form
    with assert_num_api_calls(1):
        popup = browser.get("/admin/janitor_site_django/run/", {"_to_field": "run_id", "_popup": 1})
    assert popup.status_code == 200 and rows(popup.content.decode()) > 0
    assert f'data-popup-opener="{runs[0]["run_id"]}"' in popup.content.decode()


def test_the_add_form_checks_the_key_with_one_call(
    browser: Client, codebases: list[dict[str, Any]]
) -> None:
    with assert_num_api_calls(2):  # the check, and the widget showing the refused value
        refused = browser.post("/admin/testapp/bookmark/add/", {"codebase": "no-such-codebase"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not Bookmark.objects.filter(codebase="no-such-codebase").exists()
    name = codebases[5]["name"]
    with assert_num_api_calls(1):
        saved = browser.post("/admin/testapp/bookmark/add/", {"codebase": name, "note": "new"})
    assert saved.status_code == 302
    assert Bookmark.objects.get(note="new").codebase_id == name


def test_a_path_across_the_api_key_is_a_system_check_error() -> None:
    class CrossingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
        search_fields = ("note", "^codebase__url", "codebase__name")
        list_filter = ("codebase__vcs_type", "codebase", "codebase__isnull")
        ordering = ("-codebase__name", "codebase")
        list_display = ("note", "codebase__branch")

    class SortingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
        list_display = ("text", "run")

    site = admin.AdminSite(name="crossing")
    site.register(Bookmark, CrossingAdmin)
    site.register(RunNote, SortingAdmin)
    (unsortable,) = [e for e in check_admin_paths() if e.obj is SortingAdmin]
    assert unsortable.id == "janitor_site_django.W004" and "'run'" in unsortable.msg
    found = [e for e in check_admin_paths() if e.obj is CrossingAdmin]
    assert [e.id for e in found] == ["janitor_site_django.E007"] * 3
    assert [m.msg.split(" has ")[0] for m in found] == [
        "CrossingAdmin.search_fields",
        "CrossingAdmin.list_filter",
        "CrossingAdmin.list_display",
    ]
    assert "'codebase__url'" in found[0].msg and "Bookmark.codebase" in found[0].msg


def test_the_codebase_column_sorts_by_the_key(
    browser: Client, codebases: list[dict[str, Any]]
) -> None:
    names = [c["name"] for c in codebases]
    for order, expected in (("2", sorted(names)), ("-2", sorted(names, reverse=True))):
        html = browser.get("/admin/testapp/bookmark/", {"o": order}).content.decode()
        assert re.findall(r'class="field-codebase[^"]*">([^<]*)<', html) == expected, order
