"""Django models backed by the Janitor site API v1: real models, ``managed = False``, no table.

Field names are the v1 keys; primary keys are the v1 ones. Every evaluation of their querysets
is API calls through the client (user token in context, else the service token), never SQL.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from django.db import NotSupportedError, models

from . import schemas
from .query import ApiManager, Resource, resources
from .query.resources import CapabilitiesAttribute


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


VCS_TYPES = _choices(schemas.VCS_TYPES)
PUBLISH_STATUSES = _choices(schemas.PUBLISH_STATUSES)
MERGE_PROPOSAL_STATUSES = _choices(schemas.MERGE_PROPOSAL_STATUSES)
QUEUE_BUCKETS = _choices(schemas.QUEUE_BUCKETS)
CHANGE_SET_STATES = _choices(schemas.CHANGE_SET_STATES)


class ApiModel(models.Model):
    """Base of the API models: read-only except for what the API allows."""

    api_resource: ClassVar[Resource]
    #: What the API can filter, sort and search for this model (``Run.api.sortable_fields``,
    #: ``Run.api.lookups``…): a :class:`~janitor_site_django.query.Capabilities`.
    api = CapabilitiesAttribute()

    objects = ApiManager()

    class Meta:
        abstract = True

    def _api_credentials(self) -> contextlib.AbstractContextManager[None]:
        """The token of the queryset that returned this object (``using_token()``), for its
        writes; never pickled."""
        from .client import user_token

        token: str | None = self.__dict__.get("_api_token")
        return contextlib.nullcontext() if token is None else user_token(token)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_api_token", None)
        return state

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError(
            f"{type(self).__name__} cannot be saved: the API does not allow it "
            "(runs: save(update_fields=['description']))."
        )

    async def asave(self, *args: Any, **kwargs: Any) -> None:
        self.save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(f"{type(self).__name__} cannot be deleted through the API.")

    async def adelete(self, *args: Any, **kwargs: Any) -> Any:
        return self.delete(*args, **kwargs)


class Codebase(ApiModel):
    """A codebase (v1 §4.1); lists show active codebases (``api_params(include_inactive=True)``)."""

    name = models.CharField(primary_key=True, max_length=255)
    url = models.TextField(null=True)
    branch = models.TextField(null=True)
    branch_url = models.TextField(null=True)
    subpath = models.TextField(null=True)
    vcs_type = models.CharField(max_length=16, null=True, choices=VCS_TYPES)
    vcs_last_revision = models.TextField(null=True)
    last_scanned = models.DateTimeField(null=True)
    web_url = models.TextField(null=True)
    value = models.IntegerField(null=True)
    inactive = models.BooleanField(default=False)
    hostname = models.TextField(null=True)

    api_resource: ClassVar[Resource] = resources.CODEBASE

    objects: ClassVar[ApiManager] = ApiManager()
    #: Inactive codebases too: what relations (``run.codebase``) resolve through.
    everything = ApiManager(include_inactive=True)

    class Meta:
        managed = False
        ordering = ["name"]
        default_manager_name = "objects"
        base_manager_name = "everything"

    def __str__(self) -> str:
        return self.name

    def publish(
        self, campaign: str, *, mode: str | None = None, requester: str | None = None
    ) -> schemas.PublishResult:
        """Publish this codebase's last unabsorbed run in ``campaign`` (needs the Admin role)."""
        from .client import get_client

        with self._api_credentials():
            return get_client().publish(campaign, self.name, mode=mode, requester=requester)

    async def apublish(
        self, campaign: str, *, mode: str | None = None, requester: str | None = None
    ) -> schemas.PublishResult:
        from .client import get_async_client

        with self._api_credentials():
            return await get_async_client().publish(
                campaign, self.name, mode=mode, requester=requester
            )


class RunFields(ApiModel):
    """The fields of a v1 Run (§4.2), shared by runs and ready runs."""

    run_id = models.CharField(primary_key=True, max_length=255)
    campaign = models.CharField(max_length=255)
    suite = models.CharField(max_length=255)
    command = models.TextField(null=True)
    description = models.TextField(null=True)
    result_code = models.CharField(max_length=255)
    failure_stage = models.TextField(null=True)
    failure_details = models.JSONField(null=True)
    failure_transient = models.BooleanField(null=True)
    start_time = models.DateTimeField(null=True)
    finish_time = models.DateTimeField(null=True)
    #: Seconds, as in v1.
    duration = models.FloatField(null=True)
    main_branch_revision = models.TextField(null=True)
    revision = models.TextField(null=True)
    context = models.TextField(null=True)
    instigated_context = models.TextField(null=True)
    result = models.JSONField(null=True)
    vcs_type = models.CharField(max_length=16, null=True, choices=VCS_TYPES)
    branch_url = models.TextField(null=True)
    subpath = models.TextField(null=True)
    target_branch_url = models.TextField(null=True)
    logfilenames = models.JSONField(default=list)
    publish_status = models.CharField(max_length=32, choices=PUBLISH_STATUSES)
    value = models.IntegerField(null=True)
    worker_name = models.TextField(null=True)
    worker_link = models.TextField(null=True)
    change_set = models.TextField()
    resume_from = models.TextField(null=True)
    result_branches = models.JSONField(default=list)
    result_tags = models.JSONField(default=list)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.campaign}/{self.codebase_id} {self.run_id}"  # type: ignore[attr-defined]


class Run(RunFields):
    """A finished run (v1 §4.2). ``codebase`` is a relation; its value is the codebase name."""

    codebase = models.ForeignKey(
        Codebase, models.DO_NOTHING, db_constraint=False, db_column="codebase", related_name="runs"
    )

    api_resource: ClassVar[Resource] = resources.RUN

    class Meta:
        managed = False
        ordering = ["-start_time", "run_id"]
        default_manager_name = "objects"
        base_manager_name = "objects"

    def save(self, *args: Any, update_fields: Any = None, **kwargs: Any) -> None:
        """Only ``save(update_fields=["description"])``, the API's update (needs QaReviewer)."""
        from .client import get_client

        description = self._description_update(update_fields)
        with self._api_credentials():
            self._refresh_from(get_client().update_run(self.run_id, description=description))

    async def asave(self, *args: Any, update_fields: Any = None, **kwargs: Any) -> None:
        from .client import get_async_client

        description = self._description_update(update_fields)
        with self._api_credentials():
            updated = await get_async_client().update_run(self.run_id, description=description)
        self._refresh_from(updated)

    def _description_update(self, update_fields: Any) -> str | None:
        if update_fields is None or list(update_fields) != ["description"]:
            raise NotSupportedError(
                "A run can only be saved with save(update_fields=['description']): the API "
                f"updates nothing else (got update_fields={update_fields!r})."
            )
        return self.description

    def _refresh_from(self, item: schemas.Run) -> None:
        from .query.rows import field_values

        self.__dict__.update(field_values(type(self), item))

    def reschedule(
        self,
        *,
        offset: int | None = None,
        refresh: bool | None = None,
        requester: str | None = None,
    ) -> schemas.ScheduleResult:
        """Queue this run's codebase and campaign again (needs the QaReviewer role)."""
        from .client import get_client

        with self._api_credentials():
            return get_client().reschedule_run(
                self.run_id, offset=offset, refresh=refresh, requester=requester
            )

    async def areschedule(
        self,
        *,
        offset: int | None = None,
        refresh: bool | None = None,
        requester: str | None = None,
    ) -> schemas.ScheduleResult:
        from .client import get_async_client

        with self._api_credentials():
            return await get_async_client().reschedule_run(
                self.run_id, offset=offset, refresh=refresh, requester=requester
            )


class ReadyRun(RunFields):
    """A run on a campaign's ready list (v1 §4.6): query with ``filter(campaign=...)``."""

    codebase = models.ForeignKey(
        Codebase,
        models.DO_NOTHING,
        db_constraint=False,
        db_column="codebase",
        related_name="ready_runs",
    )
    publish_policy = models.TextField()
    rate_limit_bucket = models.TextField(null=True)
    policy_command = models.TextField()
    change_set_state = models.CharField(max_length=16, choices=CHANGE_SET_STATES)
    unpublished_branches = models.JSONField(default=list)

    api_resource: ClassVar[Resource] = resources.READY_RUN

    class Meta:
        managed = False
        ordering = ["-value", "-start_time", "run_id"]
        default_manager_name = "objects"
        base_manager_name = "objects"


class MergeProposal(ApiModel):
    """A merge proposal (v1 §4.3); ``campaign`` and ``run_id`` are derived by the service."""

    url = models.CharField(primary_key=True, max_length=2000)
    status = models.CharField(max_length=16, null=True, choices=MERGE_PROPOSAL_STATUSES)
    codebase = models.ForeignKey(
        Codebase,
        models.DO_NOTHING,
        null=True,
        db_constraint=False,
        db_column="codebase",
        related_name="merge_proposals",
    )
    campaign = models.CharField(max_length=255, null=True)
    run_id = models.CharField(max_length=255, null=True)
    target_branch_url = models.TextField(null=True)
    revision = models.TextField(null=True)
    merged_by = models.TextField(null=True)
    merged_at = models.DateTimeField(null=True)
    last_scanned = models.DateTimeField(null=True)
    can_be_merged = models.BooleanField(null=True)
    rate_limit_bucket = models.TextField(null=True)

    api_resource: ClassVar[Resource] = resources.MERGE_PROPOSAL

    class Meta:
        managed = False
        ordering = ["-merged_at", "url"]
        default_manager_name = "objects"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return self.url


class QueueItem(ApiModel):
    """An item of the queue (v1 §4.4), in queue order by default."""

    id = models.BigIntegerField(primary_key=True)
    position = models.IntegerField()
    bucket = models.CharField(max_length=32, choices=QUEUE_BUCKETS)
    codebase = models.ForeignKey(
        Codebase,
        models.DO_NOTHING,
        db_constraint=False,
        db_column="codebase",
        related_name="queue_items",
    )
    campaign = models.CharField(max_length=255)
    suite = models.CharField(max_length=255)
    command = models.TextField(null=True)
    priority = models.BigIntegerField()
    context = models.TextField(null=True)
    #: Seconds.
    estimated_duration = models.FloatField(null=True)
    #: Seconds.
    wait_time = models.FloatField(null=True)
    refresh = models.BooleanField(default=False)
    requester = models.TextField(null=True)
    change_set = models.TextField(null=True)
    branch_url = models.TextField(null=True)

    api_resource: ClassVar[Resource] = resources.QUEUE_ITEM

    class Meta:
        managed = False
        ordering = ["position", "id"]
        default_manager_name = "objects"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"#{self.position} {self.campaign}/{self.codebase_id}"


class ActiveRun(ApiModel):
    """A run in progress (v1 §4.5)."""

    run_id = models.CharField(primary_key=True, max_length=255)
    queue_id = models.BigIntegerField(null=True)
    codebase = models.ForeignKey(
        Codebase,
        models.DO_NOTHING,
        db_constraint=False,
        db_column="codebase",
        related_name="active_runs",
    )
    campaign = models.CharField(max_length=255)
    suite = models.CharField(max_length=255)
    command = models.TextField(null=True)
    change_set = models.TextField(null=True)
    start_time = models.DateTimeField()
    #: Seconds since ``start_time`` when the service answered.
    current_duration = models.FloatField()
    #: Seconds.
    estimated_duration = models.FloatField(null=True)
    worker_name = models.TextField(null=True)
    worker_link = models.TextField(null=True)
    vcs_type = models.CharField(max_length=16, null=True, choices=VCS_TYPES)
    branch_url = models.TextField(null=True)
    subpath = models.TextField(null=True)
    instigated_context = models.TextField(null=True)
    resume_from = models.TextField(null=True)

    api_resource: ClassVar[Resource] = resources.ACTIVE_RUN

    class Meta:
        managed = False
        ordering = ["start_time", "run_id"]
        default_manager_name = "objects"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.campaign}/{self.codebase_id} {self.run_id}"
