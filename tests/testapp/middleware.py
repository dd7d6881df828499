"""A project's own subclass of the fragments middleware (the order check must see it)."""

from __future__ import annotations

from janitor_site_django.template.fragments import JanitorFragmentsMiddleware


class FragmentsSubclass(JanitorFragmentsMiddleware):
    pass
