"""A local app of the test project: database models that point at API models."""

from __future__ import annotations

from django.db import models

from janitor_site_django.fields import ApiForeignKey


class Bookmark(models.Model):
    codebase = ApiForeignKey("janitor_site_django.Codebase")
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        app_label = "testapp"


class RunNote(models.Model):
    run = ApiForeignKey("janitor_site_django.Run", related_name="notes")
    text = models.CharField(max_length=100)

    class Meta:
        app_label = "testapp"
