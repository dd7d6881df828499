from __future__ import annotations

from django.apps import AppConfig


class ReplicasConfig(AppConfig):
    """Ordinary SQL models mirroring ``janitor_site_django.models`` field for field."""

    name = "tests.replicas"
    label = "replicas"
    default_auto_field = "django.db.models.BigAutoField"
