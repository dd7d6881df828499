"""``ApiForeignKey``: a local database model's foreign key to an API model.

The column stores the API object's primary key (a codebase name, a run id); the attribute
resolves it through the API. To Django it is a ``ForeignKey`` (``db_constraint=False``), so the
admin's ``autocomplete_fields``, ``raw_id_fields`` and ``list_filter``, model forms, fixtures
and the reverse accessor (``codebase.bookmark_set``) work as they do for any foreign key::

    class Bookmark(models.Model):
        codebase = ApiForeignKey("janitor_site_django.Codebase")

    bookmark.codebase_id                      # "python-debian" (no request)
    bookmark.codebase.url                     # one request, then cached on the instance
    Bookmark.objects.filter(codebase="python-debian")         # SQL on the key column
    Bookmark.objects.prefetch_related("codebase")             # one batched request

Instances loaded together resolve together: the first ``bookmark.codebase`` of a page of
bookmarks fetches the codebases of all of them (up to :data:`MAX_PEERS`) with one batched
request, so ``select_related("codebase")``, the admin's ``list_select_related`` and its
automatic join for ``list_display`` cost one API call a page instead of a JOIN the database
cannot make. A query that would need the API model's columns in SQL
(``filter(codebase__vcs_type=…)``) raises :class:`~django.core.exceptions.FieldError` naming
the way round, before the query is sent.
"""

from __future__ import annotations

import copy
import threading
import weakref
from typing import Any

from django.apps import apps
from django.core import exceptions as django_exceptions
from django.db import models
from django.db.models import Model
from django.db.models.query_utils import PathInfo
from django.db.models.signals import post_init

from . import exceptions
from .forms import ApiModelChoiceField, unavailable

#: Most instances resolved by one batched request (v1 lists hold at most 1000 keys).
MAX_PEERS = 1000

_open = threading.local()


class _Peers:
    """Instances of one model created one after another in one thread, until one of them
    resolves its relation (or :data:`MAX_PEERS` is reached): they resolve together."""

    __slots__ = ("refs", "resolved")

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Model]] = []
        self.resolved = False

    def __reduce__(self) -> tuple[type[_Peers], tuple[()]]:
        return _Peers, ()  # a pickled or deep-copied instance resolves on its own


class ApiForeignKey(models.ForeignKey):  # type: ignore[type-arg]
    """A ``ForeignKey`` to an API model, stored as its key in ``<name>_id``."""

    description = "Reference to a Janitor site API object"

    def __init__(
        self,
        to: type[Model] | str,
        on_delete: Any = models.DO_NOTHING,
        *,
        max_length: int = 255,
        db_index: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("db_constraint", False):
            raise TypeError(
                "ApiForeignKey cannot have db_constraint=True: the API model has no table."
            )
        super().__init__(
            to, on_delete, db_constraint=False, db_index=db_index, max_length=max_length, **kwargs
        )

    @property
    def api_model(self) -> type[Model]:
        model = self.remote_field.model
        return apps.get_model(model) if isinstance(model, str) else model

    def contribute_to_class(
        self, cls: type[Model], name: str, private_only: bool = False, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, private_only, **kwargs)
        setattr(cls, name, ApiObjectDescriptor(self))
        if cls._meta.apps is apps and not cls._meta.abstract:
            # Django JOINs a relation for select_related() unless it is a parent link; the API
            # model has no table, so the relation says it is one, and peers resolve it instead.
            # (Only on the project's models: migration states keep the plain relation, so
            # makemigrations still depends on the API model's migration.)
            self.remote_field.parent_link = True
            post_init.connect(self._join_peers, sender=cls, weak=False)

    def get_path_info(self, filtered_relation: Any = None) -> list[PathInfo]:
        """Django's path to the API model, except that ``order_by("<name>")`` sorts by the key
        column when the API model sorts by its key (as Django would, without the JOIN): its
        ``Meta.ordering`` is hidden from the path. Any other ordering needs the API model's
        columns, so the JOIN is refused."""
        (info,) = super().get_path_info(filtered_relation)
        opts = info.to_opts
        ordering = [str(key) for key in opts.ordering or ()]
        if opts.pk is not None and ordering in ([opts.pk.name], ["pk"]):
            opts = copy.copy(opts)
            opts.ordering = []
        return [info._replace(to_opts=opts)]

    def db_type(self, connection: Any) -> str | None:
        """A ``varchar(max_length)`` column, whatever the API model's key field is."""
        return models.CharField(max_length=self.max_length).db_type(connection)

    def get_extra_restriction(self, alias: str, related_alias: str) -> None:
        """Called for each JOIN to the API model's table (which does not exist): refuse it."""
        api_model = self.api_model.__name__
        raise django_exceptions.FieldError(
            f"{self.model.__name__}.{self.name} is an ApiForeignKey: the database holds only "
            f"the {api_model} key ({self.attname}), so a query cannot reach the {api_model}'s "
            f"other fields ({self.name}__<field> in filter(), exclude(), order_by(), values() "
            f"or annotate(), or order_by({self.name!r}), which sorts by {api_model}'s "
            f"Meta.ordering). Filter and sort on the key ({self.name}=…, {self.name}__in=[…], "
            f"order_by({self.attname!r})), or ask the API first: keys = "
            f"{api_model}.objects.filter(…).values_list('pk', flat=True), then "
            f"{self.model.__name__}.objects.filter({self.name}__in=list(keys))."
        )

    def validate(self, value: Any, model_instance: Model | None) -> None:
        """Django's checks, then the key must exist: one request, none when the form already
        fetched the object."""
        models.Field.validate(self, value, model_instance)
        if value is None:
            return
        cached = self.get_cached_value(model_instance, None) if model_instance else None
        if cached is not None and cached.pk == value:
            return
        queryset = self.api_model._base_manager.filter(pk=value)
        try:
            found = queryset.complex_filter(self.get_limit_choices_to()).exists()
        except exceptions.JanitorSiteError as error:
            raise unavailable(self.api_model, error) from error
        if not found:
            raise django_exceptions.ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={
                    "model": self.api_model._meta.verbose_name,
                    "pk": value,
                    "field": self.remote_field.field_name,
                    "value": value,
                },
            )

    def formfield(self, *, using: str | None = None, **kwargs: Any) -> Any:
        """An :class:`~janitor_site_django.forms.ApiModelChoiceField` over the API model."""
        defaults = {
            "form_class": ApiModelChoiceField,
            "queryset": self.api_model._default_manager.using(using),
            "to_field_name": self.remote_field.field_name,
            **kwargs,
            "blank": self.blank,
        }
        return super(models.ForeignKey, self).formfield(**defaults)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for implied in ("db_constraint", "parent_link", "to_field"):
            kwargs.pop(implied, None)
        if kwargs.get("on_delete") is models.DO_NOTHING:
            del kwargs["on_delete"]
        if kwargs.get("db_index") is False:
            del kwargs["db_index"]
        if kwargs.get("max_length") == 255:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def _join_peers(self, sender: type[Model], instance: Model, **kwargs: Any) -> None:
        """``post_init``: the new instance joins the open group of its thread."""
        if instance.__dict__.get(self.attname) is None:
            return
        groups: dict[ApiForeignKey, _Peers] = _open.__dict__.setdefault("groups", {})
        peers = groups.get(self)
        if peers is None or peers.resolved or len(peers.refs) >= MAX_PEERS:
            peers = groups[self] = _Peers()
        peers.refs.append(weakref.ref(instance))
        instance._state.__dict__.setdefault("api_peers", {})[self.name] = peers


class ApiObjectDescriptor:
    """Resolves the stored key to the API object (with its peers); assigning an object stores
    its key, assigning a key forgets the object."""

    def __init__(self, field: ApiForeignKey) -> None:
        self.field = field

    def is_cached(self, instance: Model) -> bool:
        return self.field.is_cached(instance)

    def __get__(self, instance: Model | None, owner: type[Model]) -> Any:
        if instance is None:
            return self
        field = self.field
        if not field.is_cached(instance):
            if getattr(instance, field.attname) is None:
                field.set_cached_value(instance, None)
            else:
                self._resolve(instance)
        return field.get_cached_value(instance)

    def __set__(self, instance: Model, value: Any) -> None:
        if isinstance(value, Model):
            setattr(instance, self.field.attname, value.pk)
            self.field.set_cached_value(instance, value)
        else:
            setattr(instance, self.field.attname, value)
            if self.field.is_cached(instance):
                self.field.delete_cached_value(instance)

    def _resolve(self, instance: Model) -> None:
        """One request for ``instance`` and its unresolved peers: a detail request for one key,
        a batched list request for several. A missing key raises ``DoesNotExist``."""
        field, manager = self.field, self.field.api_model._base_manager
        peers = instance._state.__dict__.get("api_peers", {}).get(field.name)
        together = [instance]
        if peers is not None and not peers.resolved:
            for ref in peers.refs:
                peer = ref()
                if peer is None or peer is instance or field.is_cached(peer):
                    continue
                if peer.__dict__.get(field.attname) is not None:
                    together.append(peer)
        keys = {getattr(peer, field.attname) for peer in together}
        if len(keys) == 1:
            (key,) = keys
            found = {key: manager.get(pk=key)}
        else:
            found = manager.in_bulk(list(keys))
        if peers is not None:
            peers.resolved = True
        for peer in together:
            key = getattr(peer, field.attname)
            if key in found:
                field.set_cached_value(peer, found[key])
        if not field.is_cached(instance):
            raise field.api_model.DoesNotExist(  # type: ignore[attr-defined]
                f"{field.api_model.__name__} {getattr(instance, field.attname)!r} does not exist."
            )

    def get_prefetch_querysets(
        self, instances: list[Model], querysets: list[Any] | None = None
    ) -> tuple[Any, Any, Any, bool, str, bool]:
        """For ``prefetch_related()``: one batched ``pk__in`` request for all ``instances``."""
        keys = {getattr(obj, self.field.attname) for obj in instances} - {None}
        queryset = querysets[0] if querysets else self.field.api_model._base_manager.all()
        return (
            queryset.filter(pk__in=keys),
            lambda related: related.pk,
            lambda obj: getattr(obj, self.field.attname),
            True,
            self.field.name,
            False,
        )
