"""The stock Django admin over API models: ``ApiModelAdmin`` and ready-made admins.

``ApiModelAdmin`` is a mixin for ordinary ``ModelAdmin`` classes. Legacy admin code keeps its
``list_display``, ``list_filter``, ``search_fields``, ``ordering`` and actions; the mixin adds
what an API model needs:

* read-only change views, except the fields the API can write (a run's description), which
  are saved through the API with the user's token; no add, no delete;
* the search box becomes the endpoint's one ``q`` search (the admin's OR of ``icontains``);
* ``list_filter`` entries on API-filterable fields become filters without the "empty" choice
  the API cannot express; a campaign filter takes its choices from the API (cached);
* only API-sortable columns sort; a hand-edited ``o=`` on another column is ignored;
* a changelist page is one API call (``ApiPaginator`` on the requested page; the full count
  reuses its ``total``), a change view is one call (foreign keys shown by key, not fetched);
* facets and ``date_hierarchy`` are off; API failures become admin messages with the request
  id, never a 500.

``register_all(site)`` registers the ready-made admins (or set ``JANITOR_SITE_ADMIN = True``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.db.models import BooleanField, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from . import exceptions, models, results
from .client import get_client
from .paginator import ApiPaginator
from .query import ApiQuerySet, Resource

#: Seconds the campaign names for filters and actions are reused.
CAMPAIGN_CHOICES_SECONDS = 300
_campaigns: tuple[float, list[str]] = (0.0, [])


def campaign_names() -> list[str]:
    """The campaigns the service knows (from ``GET /api/queue``), cached for a few minutes."""
    global _campaigns
    fetched, names = _campaigns
    if time.monotonic() - fetched > CAMPAIGN_CHOICES_SECONDS or not names:
        stats = get_client().get_queue_status()
        names = sorted(campaign.name for campaign in stats.queue.campaigns)
        _campaigns = (time.monotonic(), names)
    return names


def describe(error: exceptions.JanitorSiteError) -> str:
    """An admin message for an API failure, with the request id when the service gave one."""
    request_id = getattr(error, "request_id", None)
    suffix = f" (request id {request_id})" if request_id else ""
    reason = getattr(error, "reason", None) or str(error)
    return f"The Janitor site API refused or failed: {reason}{suffix}"


class ApiChoicesFilter(admin.ChoicesFieldListFilter):
    """A choices filter without the "empty" choice (v1 exact filters never match null)."""

    def choices(self, changelist: ChangeList) -> Any:
        for choice in super().choices(changelist):
            if self.lookup_kwarg_isnull not in choice["query_string"] or choice["selected"]:
                yield choice


class ApiBooleanFilter(admin.BooleanFieldListFilter):
    """Yes / No, without the "unknown" choice the API cannot express."""

    def choices(self, changelist: ChangeList) -> Any:
        for choice in super().choices(changelist):
            if self.lookup_kwarg2 not in choice["query_string"]:
                yield choice


#: Declared choices of filters on fields without ``choices`` (other values work from the URL).
DECLARED_CHOICES: dict[str, Sequence[str]] = {"result_code": results.NAMED_CODES}


class ApiValueFilter(admin.FieldListFilter):
    """An exact-value filter whose choices are declared, never gathered by listing every row
    (Django's ``AllValuesFieldListFilter`` would page through the whole collection)."""

    def __init__(self, field: Any, request: HttpRequest, params: Any, model: Any,
                 model_admin: Any, field_path: str) -> None:  # fmt: skip
        self.lookup_kwarg = f"{field_path}__exact"
        super().__init__(field, request, params, model, model_admin, field_path)
        value = self.used_parameters.get(self.lookup_kwarg)
        self.lookup_val = value[-1] if isinstance(value, list) else value
        self.used_parameters = (
            {self.lookup_kwarg: self.lookup_val} if self.lookup_val is not None else {}
        )

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_kwarg]

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**self.used_parameters) if self.used_parameters else queryset

    def choices(self, changelist: ChangeList) -> Any:
        yield {
            "selected": self.lookup_val is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "display": "All",
        }
        values: list[Any] = list(DECLARED_CHOICES.get(self.field.name, ()))
        if self.lookup_val is not None and self.lookup_val not in values:
            values.append(self.lookup_val)
        for value in values:
            yield {
                "selected": value == self.lookup_val,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}),
                "display": value,
            }


class CampaignFilter(admin.SimpleListFilter):
    """Campaigns from the API as choices."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in campaign_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(campaign=self.value()) if self.value() else queryset


class RequiredCampaignFilter(CampaignFilter):
    """A campaign must be chosen (ready lists are per campaign): the first one by default."""

    def value(self) -> str | None:
        return chosen_campaign(self.used_parameters.get(self.parameter_name))

    def choices(self, changelist: ChangeList) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] != "All":
                yield choice


def chosen_campaign(value: Any) -> str | None:
    """The campaign asked for, else the first one the service knows."""
    if isinstance(value, list):
        value = value[-1] if value else None
    names = campaign_names()
    return value or (names[0] if names else None)


class ApiChangeList(ChangeList):
    """The stock changelist; only API-sortable columns sort (others are ignored, not a 500)."""

    def get_ordering_field(self, field_name: Any) -> Any:
        field = super().get_ordering_field(field_name)
        name = field.lstrip("-") if isinstance(field, str) else None
        resource: Resource = self.model.api_resource  # type: ignore[attr-defined]
        if name is not None and name != "pk" and name not in resource.sortable:
            return None
        return field


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:  # a mixin: the ModelAdmin comes from the class it is mixed into
    _AdminBase = object


class ApiModelAdmin(_AdminBase):
    """Mixin for ``admin.ModelAdmin`` subclasses of API models (put it first)."""

    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = None
    list_select_related = False
    paginator = ApiPaginator
    #: Fields the API can write (saved through the API with the user's token).
    api_writable_fields: Sequence[str] = ()

    model: type[Model]

    @property
    def _resource(self) -> Resource:
        resource: Resource = self.model.api_resource  # type: ignore[attr-defined]
        return resource

    # Permissions: nothing to add or delete; change only what the API can write -------------

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_change_permission(request, obj)
        return allowed and bool(self.api_writable_fields)

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes action_location (an override without it is deprecated); 5.2 has none.
        location = {} if action_location is None else {"action_location": action_location}
        actions: dict[str, Any] = super().get_actions(request, **location)
        actions.pop("delete_selected", None)
        return actions

    # Change view: read-only, foreign keys shown by key -------------------------------------

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        names = []
        for field in self.model._meta.concrete_fields:
            names.append(field.attname if field.is_relation else field.name)
        return names

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        writable = (
            set(self.api_writable_fields) if self.has_change_permission(request, obj) else set()
        )
        return [name for name in self.get_fields(request, obj) if name not in writable]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.save(
            update_fields=[name for name in self.api_writable_fields if name in form.changed_data]
        )

    # Changelist: search, filters, sorting, paging ------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ApiChangeList

    def get_paginator(self, request: HttpRequest, queryset: Any, per_page: int, orphans: int = 0,
                      allow_empty_first_page: bool = True) -> ApiPaginator:  # fmt: skip
        return ApiPaginator(
            queryset, per_page, orphans, allow_empty_first_page,
            first_page=request.GET.get(PAGE_VAR, 1),
        )  # fmt: skip

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """The whole term as the endpoint's ``q`` (which searches all its searched fields)."""
        term = search_term.strip()
        if term and isinstance(queryset, ApiQuerySet):
            return queryset.search(term), False
        return queryset, False

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """Foreign keys show their key (``codebase_id``): no request per row, no join."""
        display: Sequence[Any] = super().get_list_display(request)
        relations = {f.name: f.attname for f in self.model._meta.concrete_fields if f.is_relation}
        return [relations.get(name, name) if isinstance(name, str) else name for name in display]

    def get_sortable_by(self, request: HttpRequest) -> list[Any]:
        fields = {key: f for f in self.model._meta.concrete_fields for key in (f.name, f.attname)}
        return [
            name
            for name in self.get_list_display(request)
            if isinstance(name, str)
            and name in fields
            and fields[name].name in self._resource.sortable
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        wanted: Sequence[Any] = super().get_list_filter(request)
        return [self._api_filter(entry) for entry in wanted]

    def _api_filter(self, entry: Any) -> Any:
        if not isinstance(entry, str):
            return entry
        if entry == "campaign" and "campaign" in self._resource.filters:
            return CampaignFilter
        field = self.model._meta.get_field(entry)
        if isinstance(field, BooleanField):
            return (entry, ApiBooleanFilter)
        if getattr(field, "choices", None):
            return (entry, ApiChoicesFilter)
        if field.name in self._resource.filters:
            return (entry, ApiValueFilter)
        return entry

    # Failures: admin messages, never a 500 --------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return self._guarded(super().changelist_view, request, extra_context=extra_context)

    def changeform_view(self, request: HttpRequest, object_id: Any = None, form_url: str = "",
                        extra_context: Any = None) -> HttpResponse:  # fmt: skip
        view = super().changeform_view
        return self._guarded(view, request, object_id, form_url, extra_context, back=request.path)

    def _guarded(self, view: Callable[..., HttpResponse], request: HttpRequest, *args: Any,
                 back: str | None = None, **kwargs: Any) -> HttpResponse:  # fmt: skip
        try:
            return view(request, *args, **kwargs)
        except exceptions.JanitorSiteError as error:
            messages.error(request, describe(error))
            if back is not None and request.method == "POST":
                return HttpResponseRedirect(back)
            return HttpResponseRedirect(reverse("admin:index"))


# Actions -------------------------------------------------------------------------------------


def _each(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any], verb: str,
    act: Callable[[Any], Any],
) -> None:  # fmt: skip
    done = 0
    for obj in queryset:
        try:
            act(obj)
        except exceptions.JanitorSiteError as error:
            modeladmin.message_user(request, f"{obj}: {describe(error)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done} of {len(queryset)}.", messages.SUCCESS)


@admin.action(description="Reschedule selected runs", permissions=["reschedule"])
def reschedule_runs(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    _each(modeladmin, request, queryset, "Rescheduled", lambda run: run.reschedule())


class PublishActionForm(ActionForm):
    campaign = forms.ChoiceField(required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            names = campaign_names()
        except exceptions.JanitorSiteError:
            names = []
        field: Any = self.fields["campaign"]
        field.choices = [("", "campaign…"), *((n, n) for n in names)]


@admin.action(
    description="Publish selected codebases in the chosen campaign", permissions=["publish"]
)
def publish_codebases(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    campaign = request.POST.get("campaign")
    if not campaign:
        modeladmin.message_user(request, "Choose a campaign to publish in.", messages.WARNING)
        return
    _each(modeladmin, request, queryset, "Publishing", lambda codebase: codebase.publish(campaign))


# Ready-made admins ---------------------------------------------------------------------------


class CodebaseAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "vcs_type", "branch", "value", "last_scanned", "url"]
    list_filter = ["vcs_type"]
    search_fields = ["name", "url"]
    actions = [publish_codebases]
    action_form = PublishActionForm

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("janitor_site_django.change_codebase")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RunAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "run_id",
        "codebase",
        "campaign",
        "result_code",
        "start_time",
        "duration",
        "publish_status",
    ]
    list_filter = ["campaign", "result_code", "publish_status", "vcs_type", "failure_transient"]
    search_fields = ["run_id", "codebase__name", "description"]
    api_writable_fields = ["description"]
    actions = [reschedule_runs]

    def has_reschedule_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("janitor_site_django.change_run")


class MergeProposalAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["url", "status", "codebase", "campaign", "merged_at", "can_be_merged"]
    list_filter = ["status", "campaign", "can_be_merged"]
    search_fields = ["url", "codebase__name"]


class QueueItemAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["position", "codebase", "campaign", "bucket", "priority", "estimated_duration"]
    list_filter = ["campaign", "bucket"]
    search_fields = ["codebase__name"]


class ActiveRunAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "run_id",
        "codebase",
        "campaign",
        "worker_name",
        "start_time",
        "current_duration",
    ]
    list_filter = ["campaign"]
    search_fields = ["codebase__name"]


class ReadyRunAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "run_id",
        "codebase",
        "value",
        "start_time",
        "publish_status",
        "change_set_state",
    ]
    list_filter = [RequiredCampaignFilter, "publish_status"]
    search_fields = ["codebase__name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """Every ready-run query is per campaign, the admin's full count included."""
        queryset: QuerySet[Any] = super().get_queryset(request)
        return queryset.filter(campaign=chosen_campaign(request.GET.get("campaign")))


ADMINS: dict[type[Model], type[admin.ModelAdmin[Any]]] = {
    models.Codebase: CodebaseAdmin,
    models.Run: RunAdmin,
    models.MergeProposal: MergeProposalAdmin,
    models.QueueItem: QueueItemAdmin,
    models.ActiveRun: ActiveRunAdmin,
    models.ReadyRun: ReadyRunAdmin,
}


def register_all(site: admin.AdminSite = admin.site) -> None:
    """Register the ready-made admins of every API model (skipping models already registered)."""
    for model, model_admin in ADMINS.items():
        if not site.is_registered(model):
            site.register(model, model_admin)
