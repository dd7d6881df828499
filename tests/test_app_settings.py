"""The app-level settings (admin, OIDC, fragments) go through ``conf``; the middleware order is
checked; the package imports light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from janitor_site_django.checks import check_middleware, check_oidc_refresh, check_settings
from janitor_site_django.conf import DEFAULTS, SiteConfig, setting

ROOT = Path(__file__).resolve().parents[1]
URL = {"JANITOR_SITE_URL": "https://janitor.example.org"}
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
TOKEN = "janitor_site_django.auth.middleware.OIDCTokenMiddleware"
SCOPE = "janitor_site_django.middleware.ApiScopeMiddleware"
FRAGMENTS = "janitor_site_django.template.fragments.JanitorFragmentsMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JANITOR_SITE_ADMIN", "yes", "JANITOR_SITE_ADMIN must be True or False, not 'yes'"),
        ("JANITOR_SITE_ADMIN_GROUP", 7, "JANITOR_SITE_ADMIN_GROUP must be a string or None"),
        ("JANITOR_SITE_SUPERUSER_GROUP", ["root"], "JANITOR_SITE_SUPERUSER_GROUP must be a str"),
        ("JANITOR_SITE_OIDC_REFRESH_MARGIN", -1, "must be a number of seconds >= 0, not -1"),
        ("JANITOR_SITE_OIDC_REFRESH_MARGIN", "30", "must be a number of seconds >= 0, not '30'"),
        (
            "JANITOR_SITE_OIDC_LOCK_CACHE",
            "",
            "JANITOR_SITE_OIDC_LOCK_CACHE must be an alias of CACHES (a non-empty string), not ''",
        ),
        (
            "JANITOR_SITE_FRAGMENT_ERRORS",
            "raise",
            "JANITOR_SITE_FRAGMENT_ERRORS must be one of 'inline', 'empty' or None, not 'raise'",
        ),
    ],
)
def test_bad_app_settings_name_the_setting_and_what_is_allowed(
    settings: Any, name: str, value: Any, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        SiteConfig.from_values({**URL, name: value})
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        setting(name)
    [error] = check_settings()
    assert error.id == "janitor_site_django.E002" and message in error.msg


def test_app_settings_are_read_at_access_time(settings: Any) -> None:
    assert setting("JANITOR_SITE_OIDC_REFRESH_MARGIN") == 30.0
    settings.JANITOR_SITE_OIDC_REFRESH_MARGIN = 5
    settings.JANITOR_SITE_ADMIN_GROUP = "staff"
    assert setting("JANITOR_SITE_OIDC_REFRESH_MARGIN") == 5.0
    settings.JANITOR_SITE_OIDC_LOCK_CACHE = "locks"
    config = SiteConfig.from_settings()
    assert (config.oidc_refresh_margin, config.admin_group) == (5.0, "staff")
    assert config.oidc_lock_cache == setting("JANITOR_SITE_OIDC_LOCK_CACHE") == "locks"
    assert config.superuser_group is None and config.fragment_errors is None


def test_one_setting_does_not_need_the_others(settings: Any) -> None:
    del settings.JANITOR_SITE_URL  # the app's ready() must not fail where checks report E001
    settings.JANITOR_SITE_ADMIN = True
    assert setting("JANITOR_SITE_ADMIN") is True
    assert [m.id for m in check_settings()] == ["janitor_site_django.E001"]


def test_from_env_reads_the_app_settings() -> None:
    config = SiteConfig.from_env(
        {**URL, "JANITOR_SITE_ADMIN": "yes", "JANITOR_SITE_OIDC_REFRESH_MARGIN": "12.5"}
    )
    assert config.admin is True and config.oidc_refresh_margin == 12.5


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(JANITOR_SITE_[A-Z_]+)` \|", readme, re.MULTILINE))
    assert documented == set(DEFAULTS)


@pytest.mark.parametrize(
    ("middleware", "errors"),
    [
        ([SESSIONS, AUTH, TOKEN, SCOPE, FRAGMENTS], []),
        ([SESSIONS, AUTH, FRAGMENTS], []),
        ([SESSIONS, TOKEN, AUTH, FRAGMENTS], ["janitor_site_django.E004"]),
        ([SESSIONS, TOKEN], ["janitor_site_django.E004"]),
        ([SESSIONS, AUTH, FRAGMENTS, SCOPE, TOKEN], ["janitor_site_django.E005"]),
        ([SESSIONS, FRAGMENTS, TOKEN], ["janitor_site_django.E004", "janitor_site_django.E005"]),
        (
            [SESSIONS, AUTH, "tests.testapp.middleware.FragmentsSubclass", TOKEN],
            ["janitor_site_django.E005"],
        ),
    ],
)
def test_middleware_order(settings: Any, middleware: list[str], errors: list[str]) -> None:
    settings.MIDDLEWARE = middleware
    messages = check_middleware()
    assert [m.id for m in messages] == errors
    assert all("MIDDLEWARE" in m.msg and m.hint for m in messages)


def test_the_test_settings_pass_the_middleware_check() -> None:
    assert check_middleware() == []


def test_importing_the_package_loads_neither_the_client_nor_django() -> None:
    code = (
        "import sys, janitor_site_django as j\n"
        "heavy = [m for m in ('django', 'httpx', 'pydantic', 'janitor_site_django.client')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert j.SiteClient.__name__ == 'SiteClient' and j.exceptions.JanitorSiteError\n"
        "assert 'SiteClient' in dir(j)\n"
        "try:\n    j.nothing\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "module 'janitor_site_django' has no attribute 'nothing'"


def test_the_service_token_is_in_no_repr_of_the_config() -> None:
    secret = "service-token-4f1c"
    config = SiteConfig.from_values({**URL, "JANITOR_SITE_API_TOKEN": secret})
    assert config.api_token == secret
    assert secret not in repr(config) and secret not in str(config)
    assert secret not in repr(config.replace(timeout=3.0))


class ProcessLocalCache(LocMemCache):
    """A project's own LocMem cache: still seen by one process only."""


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
DATABASE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}
REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x:6379"}
OWN = {"BACKEND": "tests.test_app_settings.ProcessLocalCache"}
W003 = "janitor_site_django.W003"


@pytest.mark.parametrize(
    ("caches", "alias", "expected"),
    [
        ({"default": LOCMEM}, None, [W003]),
        ({"default": DUMMY}, None, [W003]),
        ({"default": OWN}, None, [W003]),
        ({"default": REDIS}, None, []),
        ({"default": DATABASE}, None, []),
        ({"default": LOCMEM, "shared": REDIS}, "shared", []),
        ({"default": REDIS, "local": LOCMEM}, "local", [W003]),
        ({"default": REDIS}, "missing", ["janitor_site_django.E006"]),
    ],
)
def test_refresh_on_a_process_local_cache_warns(
    settings: Any, caches: dict[str, Any], alias: str | None, expected: list[str]
) -> None:
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example.org/o/token/"
    settings.CACHES = caches
    if alias is not None:
        settings.JANITOR_SITE_OIDC_LOCK_CACHE = alias
    messages = check_oidc_refresh()
    assert [m.id for m in messages] == expected
    assert all(m.hint and len(m.msg) < 80 and "\n" not in m.msg for m in messages)
    if expected == [W003]:
        assert "single-flight per process only" in messages[0].msg
        assert (alias or "default") in messages[0].hint


def test_no_refresh_no_warning(settings: Any) -> None:
    settings.CACHES = {"default": LOCMEM}
    assert check_oidc_refresh() == []  # no token endpoint: the middleware never refreshes
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example.org/o/token/"
    settings.MIDDLEWARE = [SESSIONS, AUTH]
    assert check_oidc_refresh() == []  # no OIDCTokenMiddleware: nothing refreshes
    settings.MIDDLEWARE = [SESSIONS, AUTH, TOKEN]
    assert [m.id for m in check_oidc_refresh()] == [W003]
    settings.JANITOR_SITE_OIDC_LOCK_CACHE = 7
    assert check_oidc_refresh() == []  # E002 from check_settings says it
    assert [m.id for m in check_settings()] == ["janitor_site_django.E002"]


def test_the_refresh_check_is_registered(settings: Any) -> None:
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example.org/o/token/"
    assert W003 in [m.id for m in run_checks(databases=[])]  # the test settings: LocMem
