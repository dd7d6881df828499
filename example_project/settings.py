"""Settings of the example project, filled from the environment with django-environ.

``make demo`` points it at the local emulator; for a real deployment set ``JANITOR_SITE_URL``,
``JANITOR_SITE_API_TOKEN``, ``SECRET_KEY``, ``DEBUG=false`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="example-project-development-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mozilla_django_oidc",
    "janitor_site_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "janitor_site_django.auth.middleware.OIDCTokenMiddleware",
    "janitor_site_django.middleware.ApiScopeMiddleware",
    "janitor_site_django.template.fragments.JanitorFragmentsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'data' / 'example.sqlite3'}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

# The Janitor site API v1 service (the emulator under ``make demo``).
JANITOR_SITE_URL = env.str("JANITOR_SITE_URL", default="http://127.0.0.1:8080")
JANITOR_SITE_API_TOKEN = env.str("JANITOR_SITE_API_TOKEN", default=None)

# OIDC login with the identity provider the service trusts (set OIDC_ISSUER to enable it;
# endpoint defaults follow django-oauth-toolkit's layout under the issuer URL).
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
LOGIN_ENABLED = bool(OIDC_ISSUER)
AUTHENTICATION_BACKENDS = [
    "janitor_site_django.auth.backends.OIDCAuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str(
    "OIDC_OP_AUTHORIZATION_ENDPOINT", default=f"{OIDC_ISSUER}/authorize/"
)
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default=f"{OIDC_ISSUER}/token/")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default=f"{OIDC_ISSUER}/userinfo/")
OIDC_OP_JWKS_ENDPOINT = env.str(
    "OIDC_OP_JWKS_ENDPOINT", default=f"{OIDC_ISSUER}/.well-known/jwks.json"
)
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_STORE_ACCESS_TOKEN = True
OIDC_STORE_ID_TOKEN = True
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
JANITOR_SITE_ADMIN_GROUP = env.str("JANITOR_SITE_ADMIN_GROUP", default="janitor-admins")
