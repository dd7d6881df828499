"""Local database models pointing at API models through ``ApiForeignKey``."""

from __future__ import annotations

import io
import json
import pickle
from typing import Any

import django
import pytest
from django.core import serializers
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import NotSupportedError
from django.forms import modelform_factory

from janitor_site_django import fields
from janitor_site_django.forms import ApiModelChoiceField
from janitor_site_django.models import Codebase
from janitor_site_django.testing import assert_num_api_calls
from tests.testapp.models import Bookmark, RunNote

from .conftest import Wire

pytestmark = pytest.mark.django_db


def test_the_key_is_stored_and_the_object_resolves_lazily(wire: Wire) -> None:
    codebase = wire.items("/api/codebases")[4]
    bookmark = Bookmark.objects.create(codebase=codebase["name"], note="watch")
    fresh = Bookmark.objects.get(pk=bookmark.pk)
    with assert_num_api_calls(0):
        assert fresh.codebase_id == codebase["name"]
    with assert_num_api_calls(1):
        assert fresh.codebase.url == codebase["url"]
        assert fresh.codebase.url == codebase["url"]  # cached on the instance


def test_assigning_an_object_stores_its_key(wire: Wire) -> None:
    codebase = Codebase.objects.first()
    assert codebase is not None
    bookmark = Bookmark(codebase=codebase)
    bookmark.save()
    assert Bookmark.objects.filter(codebase_id=codebase.name).count() == 1
    with assert_num_api_calls(0):
        assert bookmark.codebase is codebase


def test_prefetch_related_is_one_batched_request(wire: Wire) -> None:
    names = [c["name"] for c in wire.items("/api/codebases")][:25]
    Bookmark.objects.bulk_create(Bookmark(codebase=name) for name in names + names[:5])
    with assert_num_api_calls(1):
        bookmarks = list(Bookmark.objects.order_by("pk").prefetch_related("codebase"))
        assert [b.codebase.name for b in bookmarks] == names + names[:5]


def test_a_missing_object_raises_does_not_exist() -> None:
    bookmark = Bookmark.objects.create(codebase="no-such-codebase")
    with pytest.raises(Codebase.DoesNotExist):
        bookmark.codebase  # noqa: B018
    with assert_num_api_calls(1):
        (prefetched,) = Bookmark.objects.filter(pk=bookmark.pk).prefetch_related("codebase")
    assert prefetched.codebase is None


def bookmarks(wire: Wire, count: int) -> list[str]:
    names = [c["name"] for c in wire.items("/api/codebases")][:count]
    Bookmark.objects.bulk_create(Bookmark(codebase=name, note=name) for name in names)
    return names


def test_instances_loaded_together_resolve_together(wire: Wire) -> None:
    names = bookmarks(wire, 30)
    loaded = list(Bookmark.objects.order_by("pk"))
    with assert_num_api_calls(1) as calls:
        assert [b.codebase.name for b in loaded] == names
    assert calls[0].path == "/api/codebases"
    later = list(Bookmark.objects.order_by("pk"))  # a new group: resolved by its own call
    with assert_num_api_calls(1):
        assert [b.codebase.url for b in later] == [b.codebase.url for b in loaded]


def test_select_related_makes_no_join_and_one_call(
    wire: Wire, django_assert_num_queries: Any
) -> None:
    names = bookmarks(wire, 10)
    with django_assert_num_queries(2) as queries:
        loaded = list(Bookmark.objects.select_related("codebase").order_by("pk"))
        loaded_too = list(Bookmark.objects.select_related("codebase").order_by("pk"))
    assert all("JOIN" not in query["sql"] for query in queries.captured_queries)
    with assert_num_api_calls(1):  # both lists were loaded one after the other: one group
        assert [b.codebase.name for b in loaded] == names
        assert [b.codebase.name for b in loaded_too] == names


@pytest.mark.skipif(django.VERSION >= (6, 1), reason="select_related() is deprecated in 6.1")
def test_select_related_of_every_relation_makes_no_join(
    wire: Wire, django_assert_num_queries: Any
) -> None:
    names = bookmarks(wire, 3)
    with django_assert_num_queries(1) as queries:
        loaded = list(Bookmark.objects.select_related().order_by("pk"))
    assert "JOIN" not in queries.captured_queries[0]["sql"]
    with assert_num_api_calls(1):
        assert [b.codebase.name for b in loaded] == names


def test_a_group_stops_at_max_peers(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fields, "MAX_PEERS", 4)
    names = bookmarks(wire, 10)
    loaded = list(Bookmark.objects.order_by("pk"))
    with assert_num_api_calls(3):  # groups of 4, 4 and 2
        assert [b.codebase.name for b in loaded] == names


def test_a_missing_key_among_peers_raises_for_that_instance_only(wire: Wire) -> None:
    names = bookmarks(wire, 3)
    Bookmark.objects.create(codebase="no-such-codebase")
    *found, missing = Bookmark.objects.order_by("pk")
    with assert_num_api_calls(1):
        with pytest.raises(Codebase.DoesNotExist, match="no-such-codebase"):
            missing.codebase  # noqa: B018
        assert [b.codebase.name for b in found] == names


def test_a_join_to_the_api_model_is_refused_before_any_query(
    wire: Wire, django_assert_num_queries: Any
) -> None:
    bookmarks(wire, 2)
    queries = [
        Bookmark.objects.filter(codebase__vcs_type="git"),
        Bookmark.objects.exclude(codebase__url__contains="salsa"),
        Bookmark.objects.order_by("codebase__url"),
        Bookmark.objects.values("codebase__vcs_type"),
    ]
    with django_assert_num_queries(0), assert_num_api_calls(0):
        for queryset in queries:
            with pytest.raises(FieldError, match="Bookmark.codebase is an ApiForeignKey"):
                list(queryset)


def test_the_key_lookups_are_sql_on_the_key_column(wire: Wire) -> None:
    names = bookmarks(wire, 5)
    with assert_num_api_calls(0):
        assert Bookmark.objects.filter(codebase=names[1]).get().note == names[1]
        assert Bookmark.objects.filter(codebase__name=names[2]).get().note == names[2]
        assert Bookmark.objects.filter(codebase__in=names[:3]).count() == 3
        assert Bookmark.objects.filter(codebase__isnull=True).count() == 0
        ordered = list(Bookmark.objects.order_by("-codebase").values_list("codebase", flat=True))
    assert ordered == sorted(names, reverse=True)


def test_the_reverse_accessor_is_sql_and_the_api_refuses_the_reverse_lookup(wire: Wire) -> None:
    names = bookmarks(wire, 3)
    codebase = Codebase.objects.get(pk=names[0])
    with assert_num_api_calls(0):
        assert [b.note for b in codebase.bookmark_set.all()] == [names[0]]
        with pytest.raises((FieldError, NotSupportedError), match="Bookmark.note"):
            list(Codebase.objects.filter(bookmark__note="x"))


def test_model_validation_checks_the_key_once(wire: Wire) -> None:
    (name,) = bookmarks(wire, 1)
    with assert_num_api_calls(1):
        Bookmark(codebase=name).full_clean()
    with assert_num_api_calls(1), pytest.raises(ValidationError, match="no-such-codebase"):
        Bookmark(codebase="no-such-codebase").full_clean()
    codebase = Codebase.objects.get(pk=name)
    with assert_num_api_calls(0):  # the object is already here
        Bookmark(codebase=codebase).full_clean()


def test_an_api_failure_is_a_form_error_not_a_500(settings: Any) -> None:
    settings.JANITOR_SITE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.JANITOR_SITE_RETRIES = 0
    form = modelform_factory(Bookmark, fields=["codebase", "note"])({"codebase": "python-debian"})
    assert not form.is_valid()
    assert "could not be asked about this codebase" in str(form.errors["codebase"])
    with pytest.raises(ValidationError, match="could not be asked"):
        Bookmark(codebase="python-debian").full_clean()


def test_pickled_and_serialised_instances_keep_the_key(wire: Wire) -> None:
    names = bookmarks(wire, 2)
    loaded = list(Bookmark.objects.order_by("pk"))
    copied = pickle.loads(pickle.dumps(loaded[0]))
    with assert_num_api_calls(1):  # resolved alone: a copy has no peers
        assert copied.codebase.name == names[0]
    dumped = json.loads(serializers.serialize("json", loaded))
    assert [row["fields"]["codebase"] for row in dumped] == names
    Bookmark.objects.all().delete()
    with assert_num_api_calls(0):
        for restored in serializers.deserialize("json", json.dumps(dumped)):
            restored.save()
    assert list(Bookmark.objects.values_list("codebase", flat=True).order_by("pk")) == names


def test_makemigrations_depends_on_the_api_models_migration() -> None:
    out = io.StringIO()
    call_command("makemigrations", "testapp", dry_run=True, verbosity=3, stdout=out)
    migration = out.getvalue()
    assert "('janitor_site_django', '0001_initial')" in migration
    assert "janitor_site_django.fields.ApiForeignKey(" in migration
    assert "db_constraint" not in migration and "parent_link" not in migration


def test_the_form_fields_choices_are_the_api_models_rows(wire: Wire) -> None:
    names = [c["name"] for c in wire.items("/api/codebases")]
    field = modelform_factory(Bookmark, fields=["codebase"])().fields["codebase"]
    assert isinstance(field, ApiModelChoiceField)
    with assert_num_api_calls(1):
        choices = [str(value) for value, _label in field.choices][1:]  # after the empty label
    assert choices == sorted(names)


def test_prefetching_the_reverse_accessor_is_one_sql_query(
    wire: Wire, django_assert_num_queries: Any
) -> None:
    names = bookmarks(wire, 3)
    with assert_num_api_calls(1), django_assert_num_queries(1):
        listed = list(Codebase.objects.filter(name__in=names).prefetch_related("bookmark_set"))
        notes = {c.name: [b.note for b in c.bookmark_set.all()] for c in listed}
    assert notes == {name: [name] for name in names}


def test_ordering_by_the_relation_is_by_key_only_where_django_would_be(
    wire: Wire, django_assert_num_queries: Any
) -> None:
    """Codebases sort by their key: order_by("codebase") is the key column. Runs sort by
    start time, which the database cannot see: refused, naming the key to sort by."""
    names = bookmarks(wire, 4)
    with django_assert_num_queries(1):
        ordered = list(Bookmark.objects.order_by("-codebase").values_list("note", flat=True))
    assert ordered == sorted(names, reverse=True)
    RunNote.objects.create(run_id="r1", text="x")
    refused = pytest.raises(FieldError, match=r"order_by\('run'\), which sorts by Run's Meta")
    with django_assert_num_queries(0), assert_num_api_calls(0), refused:
        list(RunNote.objects.order_by("run"))
    assert list(RunNote.objects.order_by("run_id").values_list("text", flat=True)) == ["x"]
