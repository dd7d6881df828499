"""OIDC login (mozilla-django-oidc) whose access token is passed through to the API per request.

* :mod:`.backends` — ``OIDCAuthenticationBackend``: users and groups from claims, staff and
  superuser from configured groups, the refresh token kept (encrypted) in the session;
* :mod:`.middleware` — ``OIDCTokenMiddleware``: binds the session's access token to the
  client's context-local token for the request (refreshing it shortly before it expires,
  once per session across threads and processes), and turns the API's 401/403 into a login
  redirect / ``PermissionDenied``.

Needs the ``oidc`` extra: ``pip install "janitor-site-django[oidc]"``.
"""

from __future__ import annotations
