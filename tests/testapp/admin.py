"""Legacy admin code, written as for a database model, over the API models.

The only change from plain Django admin code is ``ApiModelAdmin`` first in the bases.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from janitor_site_django.admin import ApiModelAdmin, register_all
from janitor_site_django.models import Run
from tests.testapp.models import Bookmark, RunNote


@admin.register(Run)
class RunAdmin(ApiModelAdmin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("run_id", "codebase", "campaign", "result_code", "start_time", "duration")
    list_filter = ("result_code", "campaign", "publish_status", "failure_transient")
    search_fields = ("run_id", "codebase__name", "description")
    ordering = ("-start_time",)
    list_per_page = 25
    api_writable_fields = ("description",)
    actions = ("reschedule",)

    @admin.action(description="Reschedule selected runs", permissions=["change"])
    def reschedule(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        for run in queryset:
            try:
                run.reschedule()
            except Exception as error:  # legacy code: report whatever goes wrong
                self.message_user(request, f"{run.run_id}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Rescheduled {run.run_id}", messages.SUCCESS)


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A local model's admin, written as for a ForeignKey: the codebase column, filter and
    autocomplete widget are served by the API."""

    list_display = ("pk", "codebase", "note")
    list_filter = ("codebase",)
    autocomplete_fields = ("codebase",)


@admin.register(RunNote)
class RunNoteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "run", "text")
    list_select_related = ("run",)
    raw_id_fields = ("run",)
    sortable_by = ("pk", "text")  # runs sort by start time, which SQL here cannot see (W004)


register_all(admin.site)  # the ready-made admins for the other API models
