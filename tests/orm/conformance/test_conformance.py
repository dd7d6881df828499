"""Every API queryset answers what Django's SQL ORM answers on the same rows, or is refused
before any request: drawn cases for each model, sync and async, within the request budget."""

from __future__ import annotations

import datetime
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from janitor_site_django import models as api
from tests.replicas.models import REPLICAS

from . import cases, config
from .cases import Case
from .check import Checker, timed, verify
from .regressions import REGRESSIONS
from .replica import read_all
from .strategies import strategy
from .tables import API_MODELS, Pool, kind

MODELS = list(API_MODELS)
#: The test database holds the replicas (``db`` also makes pytest-django create it); about
#: 90 s: ``-m 'not slow'`` skips it in the edit loop (``make test`` and CI run it).
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.mark.parametrize("model", MODELS)
@given(data=st.data())
@config.conformance(config.EXAMPLES)
def test_api_querysets_answer_what_django_answers(
    model: str, pool: Pool, checker: Checker, data: st.DataObject
) -> None:
    case: Case = data.draw(strategy(model, pool), label="case")
    timed(model, lambda: verify(checker, case))


@pytest.mark.parametrize("model", MODELS)
@given(data=st.data())
@config.conformance(max(20, config.EXAMPLES // 6))
def test_across_small_pages(model: str, pool: Pool, checker: Checker, data: st.DataObject) -> None:
    """The same rule with ten items a page: walks, prefetched pages, totals across pages."""
    case: Case = data.draw(strategy(model, pool, page_size=10), label="case")
    timed(model, lambda: verify(checker, case))


def test_the_replicas_mirror_the_api_models() -> None:
    for api_model, replica in REPLICAS.items():

        def shape(model: type) -> list[tuple[object, ...]]:
            return [
                (
                    f.name,
                    f.attname,
                    type(f).__name__,
                    f.null,
                    f.primary_key,
                    tuple(f.choices or ()),
                    f.related_model.__name__ if f.related_model else None,
                )
                for f in model._meta.concrete_fields
            ]  # type: ignore[attr-defined]

        assert shape(replica) == shape(api_model)
        assert replica._meta.pk.name == api_model._meta.pk.name  # type: ignore[union-attr]


def test_the_replicas_hold_every_row_the_api_lists(pool: Pool) -> None:
    counts = {model: len(pool.pks(model)) for model in MODELS}
    assert counts["Codebase"] == api.Codebase.everything.count()
    assert counts["Run"] == api.Run.objects.count()
    assert counts["QueueItem"] == api.QueueItem.objects.count()
    assert counts["MergeProposal"] == api.MergeProposal.objects.count()
    assert counts["ActiveRun"] == api.ActiveRun.objects.count()
    assert counts["ReadyRun"] == sum(
        api.ReadyRun.objects.filter(campaign=c).count() for c in pool.campaigns
    )


@pytest.mark.skipif(not os.environ.get("JANITOR_CONFORMANCE_CASE"), reason="nothing to replay")
def test_replay(pool: Pool, checker: Checker) -> None:
    """``JANITOR_CONFORMANCE_CASE="Case(...)"``: check one printed case again."""
    namespace = {**vars(cases), "datetime": datetime}
    case = eval(os.environ["JANITOR_CONFORMANCE_CASE"], namespace)  # a case printed by the suite
    timed(case.model, lambda: verify(checker, case))


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_each_divergence_found_stays_fixed(name: str, pool: Pool, checker: Checker) -> None:
    """The minimal case of each divergence class found (issue 11 and this suite's runs)."""
    case = REGRESSIONS[name](pool)
    timed(case.model, lambda: verify(checker, case))


def _json_native(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_native(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_native(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def test_field_values_have_the_types_django_gives(pool: Pool) -> None:
    """What the comparison normalises away, checked once over every row: JSON fields hold
    JSON values (dicts, lists…, not pydantic objects), the other fields Django's types."""
    wrong: dict[str, set[str]] = {}
    for api_model, objects in read_all().items():
        replica = REPLICAS[api_model]
        stored = {obj.pk: obj for obj in replica._base_manager.all()}
        for obj in objects:
            for field in api_model._meta.concrete_fields:
                mine, theirs = getattr(obj, field.attname), getattr(stored[obj.pk], field.attname)
                if kind(field) == "json":
                    ok = _json_native(mine)
                else:
                    ok = mine is None or theirs is None or type(mine) is type(theirs)
                if not ok:
                    wrong.setdefault(api_model.__name__, set()).add(
                        f"{field.name}: {type(mine).__name__}"
                    )
    assert not wrong, wrong
