"""One ordinary SQL model per API model, built field for field from ``janitor_site_django.models``.

Same names, field classes and options (``null``, ``choices``, ``primary_key``…), the same primary
key; a relation is a ``ForeignKey`` to the replica of its target, with the same ``db_column`` and
``related_name``. ``Meta.ordering`` is the API model's, as the contract sorts it
(:mod:`tests.replicas.ordering`). Managers mirror the API's: ``Codebase.objects`` lists active
codebases only, ``Codebase.everything`` all of them (the base manager, as in the API model).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from janitor_site_django import models as api

from .ordering import contract_order, parse


class ActiveCodebases(models.Manager["models.Model"]):
    """``Codebase.objects``: what ``GET /api/codebases`` lists without ``include_inactive``."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(inactive=False)


def _copy(field: models.Field[Any, Any]) -> models.Field[Any, Any]:
    """A fresh field like ``field``; a relation points at the replica of its target."""
    if isinstance(field, models.ForeignKey):  # deconstruct() needs the app registry ready
        return models.ForeignKey(
            f"replicas.{field.remote_field.model.__name__}",
            field.remote_field.on_delete,
            null=field.null,
            db_constraint=field.db_constraint,
            db_column=field.db_column,
            related_name=field.remote_field.related_name,
        )
    _, _, args, kwargs = field.deconstruct()
    return type(field)(*args, **kwargs)


def _replica(api_model: type[models.Model], **attrs: Any) -> type[models.Model]:
    meta = api_model._meta
    fields = {field.name: _copy(field) for field in meta.concrete_fields}
    managers = attrs.pop("managers", {"objects": models.Manager()})
    options = {
        "app_label": "replicas",
        "ordering": contract_order(api_model, parse(meta.ordering)),
        "default_manager_name": "objects",
        **attrs,
    }
    return type(
        api_model.__name__,
        (models.Model,),
        {
            "__module__": __name__,
            "__doc__": f"SQL replica of ``janitor_site_django.models.{api_model.__name__}``.",
            "Meta": type("Meta", (), options),
            **fields,
            **managers,
        },
    )


Codebase = _replica(
    api.Codebase,
    managers={"objects": ActiveCodebases(), "everything": models.Manager()},
    base_manager_name="everything",
)
Run = _replica(api.Run)
ReadyRun = _replica(api.ReadyRun)
MergeProposal = _replica(api.MergeProposal)
QueueItem = _replica(api.QueueItem)
ActiveRun = _replica(api.ActiveRun)


class Bookmark(models.Model):
    """``tests.testapp.models.Bookmark`` as Django's own ``ForeignKey`` to the codebase replica:
    the oracle of ``ApiForeignKey`` (``tests/orm/test_local_relations_oracle.py``)."""

    codebase = models.ForeignKey(Codebase, models.DO_NOTHING, db_constraint=False)
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        app_label = "replicas"


#: API model → its replica.
REPLICAS: dict[type[models.Model], type[models.Model]] = {
    api.Codebase: Codebase,
    api.Run: Run,
    api.ReadyRun: ReadyRun,
    api.MergeProposal: MergeProposal,
    api.QueueItem: QueueItem,
    api.ActiveRun: ActiveRun,
}
