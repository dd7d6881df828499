"""Settings of the test identity provider: django-oauth-toolkit with OpenID Connect.

Environment (all set by :mod:`tests.oidc_support`; defaults suit a manual run):

* ``IDP_ISSUER``: the issuer URL, ``http://127.0.0.1:<port>/o``;
* ``IDP_DB``: the SQLite file (tables created at start, without migrations);
* ``IDP_KEY_FILE``: the RS256 signing key (PEM), generated on first use;
* ``ACCESS_TOKEN_EXPIRE_SECONDS``: access token lifetime (default 30 s);
* ``IDP_FAST_HASH``: when set, the MD5 password hasher (tests only);
* ``IDP_TOKEN_DELAY``: seconds the token endpoint waits before answering (default 0);
* ``IDP_CONTROL_TOKEN``: when set, enables ``POST /testing/redirect-uris/`` for that bearer token.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_STATE = Path(os.environ.get("IDP_STATE_DIR", tempfile.gettempdir()))

SECRET_KEY = "test-idp-only-not-secret"
DEBUG = bool(os.environ.get("IDP_DEBUG"))
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "tests.idp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.idp.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("IDP_DB", str(_STATE / "janitor-test-idp.sqlite3")),
        # Throwaway data: no fsync per commit (each request would wait for the disk).
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA synchronous=OFF"},
    }
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The database is a throwaway: create the tables straight from the models (``migrate
# --run-syncdb``, ~0.1 s) instead of running every migration (~1.6 s).
MIGRATION_MODULES = {
    label: None for label in ("auth", "contenttypes", "sessions", "messages", "oauth2_provider")
}
LOGIN_URL = "/accounts/login/"
# The relying party under test also runs on 127.0.0.1 and cookies ignore ports: distinct names.
SESSION_COOKIE_NAME = "idp_sessionid"
CSRF_COOKIE_NAME = "idp_csrftoken"
if os.environ.get("IDP_FAST_HASH"):
    # Tests only: PBKDF2 costs ~0.3 s per password or client-secret check.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}


def _signing_key() -> str:
    """The RS256 key: one file per IdP, so every process of that IdP signs alike."""
    key_file = Path(os.environ.get("IDP_KEY_FILE", str(_STATE / "janitor-test-idp-key.pem")))
    if not key_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key_file.touch(mode=0o600)
        key_file.write_bytes(pem)
    return key_file.read_text()


ISSUER = os.environ.get("IDP_ISSUER", "http://127.0.0.1:8001/o").rstrip("/")

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _signing_key(),
    "OIDC_ISS_ENDPOINT": ISSUER,
    "SCOPES": {"openid": "OpenID Connect", "email": "Email", "profile": "Profile"},
    "DEFAULT_SCOPES": ["openid"],
    "OAUTH2_VALIDATOR_CLASS": "tests.idp.validators.ClaimsValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESS_TOKEN_EXPIRE_SECONDS", "30")),
    # Defaults kept, stated for the reader: PKCE required, refresh tokens rotated, the old one
    # rejected at once after use.
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
}

#: Seconds the token endpoint waits before answering, as a remote identity provider takes.
IDP_TOKEN_DELAY = float(os.environ.get("IDP_TOKEN_DELAY") or 0)

#: The bearer token of the test-only control endpoint; None switches the endpoint off.
IDP_CONTROL_TOKEN = os.environ.get("IDP_CONTROL_TOKEN") or None
