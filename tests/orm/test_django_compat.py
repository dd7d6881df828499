"""API models inside stock Django: paginators, generic views, shortcuts, forms, serializers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django import forms
from django.core import serializers
from django.core.paginator import EmptyPage, Paginator
from django.forms.models import model_to_dict
from django.http import Http404
from django.shortcuts import aget_object_or_404, get_list_or_404, get_object_or_404
from django.test import RequestFactory
from django.views.generic import DetailView, ListView

from janitor_site_django.models import Codebase, Run
from janitor_site_django.paginator import ApiPaginator
from janitor_site_django.testing import assert_num_api_calls

from .conftest import Wire

pytestmark = pytest.mark.usefixtures("no_sql")


class RunList(ListView):  # type: ignore[type-arg]
    model = Run
    paginate_by = 50
    paginator_class = ApiPaginator
    template_name = "orm/run_list.html"


class RunDetail(DetailView):  # type: ignore[type-arg]
    model = Run
    template_name = "orm/run_detail.html"


def test_a_list_page_of_50_runs_is_one_api_call(wire: Wire) -> None:
    expected = wire.get("/api/runs", limit=50, offset=100)
    with assert_num_api_calls(1):
        response = RunList.as_view()(RequestFactory().get("/runs/", {"page": 3}))
        html = response.render().content.decode()
    assert html.count("<li>") == 50
    assert all(run["run_id"] in html for run in expected["data"])
    total = expected["pagination"]["total"]
    assert f"Page 3 of {-(-total // 50)} ({total} runs)" in html


def test_list_view_out_of_range_page_is_a_404() -> None:
    with pytest.raises(Http404):
        RunList.as_view()(RequestFactory().get("/runs/", {"page": 100000}))


def test_stock_paginator_works_with_two_calls(wire: Wire) -> None:
    queryset = Run.objects.filter(campaign="debianize")
    total = wire.get("/api/runs", campaign="debianize", limit=0)["pagination"]["total"]
    with assert_num_api_calls(2):
        paginator = Paginator(queryset, 25)
        page = paginator.page(2)
        assert paginator.count == total and len(page) == 25
    assert list(paginator.get_elided_page_range(2))[:2] == [1, 2]
    api_paginator = ApiPaginator(queryset, 25, orphans=5)
    last = api_paginator.num_pages
    with assert_num_api_calls(1):
        assert len(api_paginator.page(last).object_list) == total - (last - 1) * 25
    with pytest.raises(EmptyPage):
        ApiPaginator(queryset, 25).page(last + 5)


def test_detail_view_and_shortcuts(wire: Wire) -> None:
    run = wire.items("/api/runs", campaign="debianize")[0]
    with assert_num_api_calls(1):
        response = RunDetail.as_view()(RequestFactory().get("/"), pk=run["run_id"])
        assert run["codebase"] in response.render().content.decode()
    with pytest.raises(Http404):
        RunDetail.as_view()(RequestFactory().get("/"), pk="no-such-run")
    assert get_object_or_404(Run, pk=run["run_id"]).campaign == "debianize"
    with pytest.raises(Http404):
        get_object_or_404(Codebase, pk="no-such-codebase")
    assert len(get_list_or_404(Run, campaign="debianize")) == len(
        wire.items("/api/runs", campaign="debianize")
    )


@pytest.mark.anyio
async def test_aget_object_or_404(wire: Wire) -> None:
    name = wire.items("/api/codebases")[0]["name"]
    assert (await aget_object_or_404(Codebase, pk=name)).name == name
    with pytest.raises(Http404):
        await aget_object_or_404(Codebase, pk="no-such-codebase")


def test_model_to_dict_and_serializers(wire: Wire) -> None:
    run = Run.objects.filter(campaign="debianize").first()
    assert run is not None
    data = model_to_dict(run)
    assert data["run_id"] == run.run_id and data["codebase"] == run.codebase_id
    raw = json.loads(serializers.serialize("json", Run.objects.filter(campaign="debianize")[:3]))
    assert [row["pk"] for row in raw] == [
        r["run_id"] for r in wire.items("/api/runs", campaign="debianize")[:3]
    ]
    assert (
        raw[0]["fields"]["codebase"] == raw[0]["fields"]["codebase"]
        and "result_branches" in raw[0]["fields"]
    )


class CodebaseForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Codebase
        fields = ["name", "url", "vcs_type", "value"]


def test_read_only_model_form(wire: Wire) -> None:
    codebase = Codebase.objects.filter(vcs_type="git").first()
    assert codebase is not None
    form = CodebaseForm(instance=codebase)
    assert form["name"].value() == codebase.name and form["vcs_type"].value() == "git"
    html = form.as_p()
    assert codebase.name in html and '<option value="git" selected>' in html
    bound = CodebaseForm(
        {"name": codebase.name, "url": "https://x", "vcs_type": "git", "value": 1},
        instance=codebase,
    )
    assert bound.is_valid(), bound.errors
    with pytest.raises(Exception, match="cannot be saved"):
        bound.save()


def test_django_filter_over_an_api_model(wire: Wire) -> Any:
    django_filters = pytest.importorskip("django_filters")

    class RunFilter(django_filters.FilterSet):  # type: ignore[misc]
        class Meta:
            model = Run
            fields = {"campaign": ["exact"], "result_code": ["exact", "in"]}

    data = {"campaign": "debianize", "result_code__in": "success,build-failed"}
    filtered = RunFilter(data, queryset=Run.objects.all())
    assert filtered.is_valid(), filtered.errors
    expected = wire.items("/api/runs", campaign="debianize", result_codes="success,build-failed")
    assert [run.run_id for run in filtered.qs] == [r["run_id"] for r in expected]


def test_dumpdata_serializes_every_listable_model(wire: Wire) -> None:
    """``manage.py dumpdata`` over the API models: plain JSON fields, every row of each list
    (ready runs are per campaign, so they are excluded: a ReadyRun query needs a campaign)."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    models = ["janitor_site_django.Run", "janitor_site_django.MergeProposal",
              "janitor_site_django.ActiveRun"]  # fmt: skip
    call_command("dumpdata", *models, format="json", stdout=out)
    dumped = json.loads(out.getvalue())
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in dumped:
        by_model.setdefault(row["model"], []).append(row)
    assert len(by_model["janitor_site_django.run"]) == len(wire.items("/api/runs"))
    assert len(by_model["janitor_site_django.mergeproposal"]) == len(
        wire.items("/api/merge-proposals")
    )
    run = by_model["janitor_site_django.run"][0]
    expected = {r["run_id"]: r for r in wire.items("/api/runs")}[run["pk"]]
    assert run["fields"]["result_branches"] == expected["result_branches"]
    with pytest.raises(Exception, match=r"filter\(campaign=\.\.\.\)"):
        call_command("dumpdata", "janitor_site_django.ReadyRun", stdout=StringIO())
