"""Local database models pointing at API models through ``ApiForeignKey``."""

from __future__ import annotations

import pytest

from janitor_site_django.models import Codebase
from janitor_site_django.testing import assert_num_api_calls
from tests.testapp.models import Bookmark

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
