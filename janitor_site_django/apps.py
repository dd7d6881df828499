"""Django application configuration."""

from __future__ import annotations

from django.apps import AppConfig


class JanitorSiteConfig(AppConfig):
    name = "janitor_site_django"
    verbose_name = "Janitor site"
