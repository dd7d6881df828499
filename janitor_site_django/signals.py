"""Django signals sent by janitor-site-django."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after every API call (successful or not), by the client class. Keyword arguments:
#: ``call`` (a :class:`janitor_site_django.client.ApiCall`).
api_call = Signal()
