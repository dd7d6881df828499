"""Settings of the relying-party processes, from the environment (set by ``start_relying_party``):

* ``RP_DATABASE``: ``sqlite:///<path>`` or ``postgresql://user@host:port/name``: the users and
  the sessions, shared by every process;
* ``RP_REDIS_URL`` and ``RP_CACHE_PREFIX``: the shared cache (Redis); unset, a per-process
  LocMem cache;
* ``RP_API_URL``: the emulator; ``RP_OIDC_*``: the identity provider's endpoints and client;
* ``RP_REFRESH_MARGIN``: ``JANITOR_SITE_OIDC_REFRESH_MARGIN``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

SECRET_KEY = "relying-party-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
    "janitor_site_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "janitor_site_django.auth.middleware.OIDCTokenMiddleware",
]
ROOT_URLCONF = "tests.relying_party.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Throwaway tables, created from the models (``migrate --run-syncdb``) by the first process.
MIGRATION_MODULES = {label: None for label in ("auth", "contenttypes", "sessions")}


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": parts.path,
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL"},
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": _database(os.environ["RP_DATABASE"])}
if os.environ.get("RP_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["RP_REDIS_URL"],
            "KEY_PREFIX": os.environ["RP_CACHE_PREFIX"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The identity provider runs on 127.0.0.1 too, and cookies ignore ports: names of our own.
SESSION_COOKIE_NAME = "rp_sessionid"
CSRF_COOKIE_NAME = "rp_csrftoken"

AUTHENTICATION_BACKENDS = ["janitor_site_django.auth.backends.OIDCAuthenticationBackend"]
OIDC_RP_CLIENT_ID = os.environ.get("RP_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("RP_OIDC_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("RP_OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("RP_OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("RP_OIDC_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("RP_OIDC_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_STORE_ACCESS_TOKEN = True
OIDC_STORE_ID_TOKEN = True
LOGIN_REDIRECT_URL = "/whoami/"

JANITOR_SITE_URL = os.environ.get("RP_API_URL", "http://127.0.0.1:9")
JANITOR_SITE_API_TOKEN = None
JANITOR_SITE_OIDC_REFRESH_MARGIN = float(os.environ.get("RP_REFRESH_MARGIN", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "janitor_site_django.auth": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
