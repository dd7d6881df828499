"""The stock Django admin over API models, through Django's test client.

API call budgets are asserted with ``assert_num_api_calls``; SQL may touch sessions, users and
content types, never an API model's table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from janitor_site_django import admin as api_admin
from janitor_site_django.testing import assert_num_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from .conftest import rows, wire

pytestmark = pytest.mark.django_db


CHANGELISTS = ["codebase", "run", "mergeproposal", "queueitem", "activerun", "readyrun"]


@pytest.mark.usefixtures("no_api_table_sql")
@pytest.mark.parametrize("model", CHANGELISTS)
def test_each_changelist_page_is_one_api_call(browser: Client, model: str) -> None:
    with assert_num_api_calls(1):
        response = browser.get(f"/admin/janitor_site_django/{model}/")
    assert response.status_code == 200, response.content[:500]
    assert rows(response.content.decode()) > 0


@pytest.mark.usefixtures("no_api_table_sql")
def test_run_changelist_pages_search_filter_and_sort(browser: Client, api: EmulatorServer) -> None:
    total = wire(api, "/api/runs", limit=0)["pagination"]["total"]
    with assert_num_api_calls(1) as calls:
        page2 = browser.get("/admin/janitor_site_django/run/", {"p": 2}).content.decode()
    assert dict(calls[0].params)["offset"] == "25" and f"{total} runs" in page2
    expected = wire(api, "/api/runs", result_code="success", sort="-start_time,run_id", limit=25)
    with assert_num_api_calls(2):  # the page, and the full count the admin shows beside it
        html = browser.get(
            "/admin/janitor_site_django/run/", {"result_code__exact": "success"}
        ).content.decode()
    assert all(run["run_id"] in html for run in expected["data"])
    with assert_num_api_calls(2) as calls:
        html = browser.get("/admin/janitor_site_django/run/", {"q": "lintian"}).content.decode()
    assert dict(calls[0].params)["q"] == "lintian"
    with assert_num_api_calls(1) as calls:
        browser.get("/admin/janitor_site_django/run/", {"o": "-3"})  # campaign, descending
    assert dict(calls[0].params)["sort"].startswith("-campaign")


def test_invalid_lookups_and_orderings_get_the_admins_usual_handling(browser: Client) -> None:
    response = browser.get("/admin/janitor_site_django/run/", {"result_code__startswith": "succ"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    response = browser.get("/admin/janitor_site_django/run/", {"o": "9"})  # no such column
    assert response.status_code == 200


@pytest.mark.usefixtures("no_api_table_sql")
def test_change_view_is_one_call_and_read_only(browser: Client, api: EmulatorServer) -> None:
    run = wire(api, "/api/runs", limit=1)["data"][0]
    with assert_num_api_calls(1):
        response = browser.get(f"/admin/janitor_site_django/run/{run['run_id']}/change/")
    html = response.content.decode()
    assert response.status_code == 200 and run["codebase"] in html
    assert 'name="description"' in html  # the one field the API can write
    assert 'name="result_code"' not in html
    missing = browser.get("/admin/janitor_site_django/run/no-such-run/change/")
    assert missing.status_code == 302


def test_nothing_to_add_or_delete(browser: Client) -> None:
    assert browser.get("/admin/janitor_site_django/run/add/").status_code == 403
    html = browser.get("/admin/janitor_site_django/codebase/").content.decode()
    assert "delete_selected" not in html and "Publish selected codebases" in html


def test_an_api_outage_is_an_admin_message_with_the_request_id(
    settings: Any, tmp_path: Any
) -> None:
    with start_emulator(
        f"sqlite:///{tmp_path / 'e.sqlite3'}", extra_args=["--without", "runner"]
    ) as server:
        settings.JANITOR_SITE_URL = server.url
        api_admin._campaigns = (0.0, [])
        client = Client()
        client.force_login(User.objects.create_superuser("ops", "ops@example.org", "pw"))
        response = client.get("/admin/janitor_site_django/activerun/", follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("request id" in m and "runner" in m for m in messages), messages


@pytest.fixture
def writable(settings: Any, tmp_path: Any) -> Iterator[EmulatorServer]:
    with start_emulator(f"sqlite:///{tmp_path / 'w.sqlite3'}") as server:
        settings.JANITOR_SITE_URL = server.url
        api_admin._campaigns = (0.0, [])
        yield server


def test_description_edit_and_reschedule_action(settings: Any, writable: EmulatorServer) -> None:
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["qa"]
    client = Client()
    client.force_login(User.objects.create_superuser("qa", "qa@example.org", "pw"))
    run = wire(writable, "/api/runs", result_code="build-failed", limit=1)["data"][0]
    url = f"/admin/janitor_site_django/run/{run['run_id']}/change/"
    response = client.post(url, {"description": "Reviewed in the admin"})
    assert response.status_code == 302
    assert (
        wire(writable, f"/api/run/{run['run_id']}")["data"]["description"]
        == "Reviewed in the admin"
    )
    response = client.post(
        "/admin/janitor_site_django/run/",
        {"action": "reschedule", "_selected_action": [run["run_id"]]},
        follow=True,
    )
    assert any("Rescheduled" in str(m) for m in response.context["messages"])


def test_api_refusals_are_messages_not_500s(settings: Any, writable: EmulatorServer) -> None:
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["user"]  # no QaReviewer role
    client = Client()
    client.force_login(User.objects.create_superuser("carol", "c@example.org", "pw"))
    run = wire(writable, "/api/runs", result_code="build-failed", limit=1)["data"][0]
    url = f"/admin/janitor_site_django/run/{run['run_id']}/change/"
    response = client.post(url, {"description": "not allowed"}, follow=True)
    assert response.status_code == 200
    assert any("QaReviewer" in str(m) for m in response.context["messages"])
    assert wire(writable, f"/api/run/{run['run_id']}")["data"]["description"] != "not allowed"


def test_view_only_staff_see_everything_read_only(api: EmulatorServer) -> None:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client = Client()
    client.force_login(user)
    run = wire(api, "/api/runs", limit=1)["data"][0]
    html = client.get(f"/admin/janitor_site_django/run/{run['run_id']}/change/").content.decode()
    assert 'name="description"' not in html
    assert client.get("/admin/janitor_site_django/run/").status_code == 200


def test_publish_action_needs_a_campaign_and_reports_each_codebase(
    settings: Any, writable: EmulatorServer
) -> None:
    settings.JANITOR_SITE_API_TOKEN = writable.tokens["admin"]
    client = Client()
    client.force_login(User.objects.create_superuser("pub", "p@example.org", "pw"))
    ready = wire(writable, "/api/lintian-fixes/ready", limit=1)["data"][0]["codebase"]
    in_campaign = {
        c["name"]
        for c in wire(writable, "/api/codebases", campaign="lintian-fixes", limit=1000)["data"]
    }
    other = next(
        c["name"]
        for c in wire(writable, "/api/codebases", limit=1000)["data"]
        if c["name"] not in in_campaign
    )
    changelist = "/admin/janitor_site_django/codebase/"
    response = client.post(
        changelist, {"action": "publish_codebases", "_selected_action": [ready]}, follow=True
    )
    assert any("Choose a campaign" in str(m) for m in response.context["messages"])
    response = client.post(
        changelist,
        {
            "action": "publish_codebases",
            "campaign": "lintian-fixes",
            "_selected_action": [ready, other],
        },
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("Publishing 1 of 2" in m for m in shown), shown
    assert any(other in m and "request id" in m for m in shown), shown
