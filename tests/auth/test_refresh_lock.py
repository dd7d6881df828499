"""The refresh's locks: per process (freed after use, so memory does not grow with the sessions)
and in the shared cache (taken by one owner, released by it only, expiring when it died), and
what a request does while another process refreshes its session.

"Another process" is played here by writes to the session store and to the cache, made as that
process would make them; the IdP is a closed port, so any refresh that reaches it fails the test.
Two real processes against the real IdP are in ``tests/oidc/test_refresh_single_flight.py``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import secrets
import socket
import time
import uuid
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.core.cache import caches
from django.http import HttpRequest
from django.test import Client, RequestFactory

from janitor_site_django.auth import middleware
from janitor_site_django.auth import session as tokens
from janitor_site_django.auth.middleware import RefreshFailed, _SharedLock, refresh
from janitor_site_django.conf import setting
from janitor_site_django.testing.emulator import EmulatorServer


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def no_idp(settings: Any) -> None:
    """An identity provider nobody answers at: a refresh that reaches it fails."""
    settings.OIDC_OP_TOKEN_ENDPOINT = f"http://127.0.0.1:{_closed_port()}/o/token/"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:9/o/authorize/"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "rp", "rp-secret"


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def lock_cache(request: pytest.FixtureRequest, settings: Any) -> str:
    """The lock's cache: this process's LocMem, or Redis (under a prefix of this test's own)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {
            **settings.CACHES,
            "locks": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"jsd-test-{uuid.uuid4().hex}",
            },
        }
    else:
        settings.CACHES = {
            **settings.CACHES,
            "locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
    settings.JANITOR_SITE_OIDC_LOCK_CACHE = "locks"
    return "locks"


def _store() -> Any:
    return import_module(django_settings.SESSION_ENGINE).SessionStore


def stored_session(token: str, *, refresh_token: str | None = "r", expires_in: float = 10) -> str:
    """A new session saved in the store with ``token``; its key."""
    session = _store()(session_key=secrets.token_hex(16))  # one read of urandom, not 32
    info: dict[str, Any] = {"access_token": token, "expires_in": expires_in}
    if refresh_token is not None:
        info["refresh_token"] = refresh_token
    tokens.store(session, info)
    session.save(must_create=True)
    return str(session.session_key)


def request_for(session_key: str) -> HttpRequest:
    """A request whose session is read now (its in-memory copy, as a request holds it)."""
    request = RequestFactory().get("/")
    request.session = _store()(session_key=session_key)
    tokens.access_token(request.session)  # loaded now: later writes to the store are not seen
    return request


def another_process_refreshed(session_key: str, token: str) -> None:
    """What the winner of the refresh does in its process: save the new token in the store."""
    session = _store()(session_key=session_key)
    tokens.store(session, {"access_token": token, "refresh_token": "r2", "expires_in": 60})
    session.save()


def another_process_holds_the_lock(session_key: str, seconds: int = 30) -> str:
    """Take the session's lock in the shared cache as another process would; its key."""
    key = _SharedLock(session_key, 1.0).key
    assert caches[setting("JANITOR_SITE_OIDC_LOCK_CACHE")].add(key, "another-owner", seconds)
    return key


def _token_data(token: str, *, refresh_token: str | None, expires_in: float) -> dict[str, Any]:
    data: dict[str, Any] = {}
    info = {"access_token": token, "expires_in": expires_in, "refresh_token": refresh_token}
    tokens.store(data, {k: v for k, v in info.items() if v is not None})
    return data


def _write_sessions(sessions: dict[str, dict[str, Any]]) -> None:
    """Write sessions to the cache session store at once, as its ``save()`` stores each one (the
    dict under ``cache_key_prefix`` + key): 20,000 ``save()`` calls would take most of the test."""
    prefix = CacheSessionStore.cache_key_prefix
    caches[django_settings.SESSION_CACHE_ALIAS].set_many(
        {prefix + key: data for key, data in sessions.items()}, timeout=3600
    )


def test_20000_sessions_refreshes_leave_no_locks_behind(settings: Any, no_idp: None) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},  # every session stays
        }
    }
    old = _token_data("old", refresh_token="r", expires_in=10)
    adopting = [secrets.token_hex(16) for _ in range(10_000)]
    failing = [secrets.token_hex(16) for _ in range(10_000)]
    _write_sessions({key: old for key in adopting})
    _write_sessions({key: {**old, tokens.REFRESH: None} for key in failing})
    requests = {key: request_for(key) for key in adopting + failing}
    assert all(request.session.session_key for request in requests.values())  # all stored
    new = _token_data("new", refresh_token="r2", expires_in=60)
    # Another process refreshed these: the tokens it stored are adopted.
    _write_sessions({key: {**new, tokens.ACCESS: f"new-{key}"} for key in adopting})
    for key in adopting:
        assert refresh(requests[key]) == f"new-{key}"
    for key in failing:  # no refresh token: the refresh fails, and frees its locks all the same
        with pytest.raises(RefreshFailed, match="no refresh token"):
            refresh(requests[key])
    assert len(middleware._locks) == 0
    lock_keys = [_SharedLock(key, 1.0).key for key in requests]
    assert len(set(lock_keys)) == 20_000 and caches["default"].get_many(lock_keys) == {}


@pytest.mark.django_db(transaction=True)
def test_waiting_requests_adopt_the_token_another_process_stored(
    settings: Any, no_idp: None, lock_cache: str
) -> None:
    key = stored_session("old")
    lock = another_process_holds_the_lock(key)
    requests = [request_for(key) for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        waiting = [pool.submit(refresh, request) for request in requests]
        time.sleep(0.5)
        assert not any(future.done() for future in waiting)  # they wait for the other process
        assert len(middleware._locks) == 1  # one lock for the one session, threads queued on it
        another_process_refreshed(key, "new")
        caches[lock_cache].delete(lock)
        assert [future.result(timeout=10) for future in waiting] == ["new"] * 8
    assert [tokens.access_token(request.session) for request in requests] == ["new"] * 8
    assert len(middleware._locks) == 0


@pytest.mark.django_db
def test_a_lock_whose_owner_died_expires(settings: Any, no_idp: None, lock_cache: str) -> None:
    settings.JANITOR_SITE_TIMEOUT = 5.0
    key = stored_session("old", refresh_token=None)
    another_process_holds_the_lock(key, seconds=1)  # and dies: nobody deletes it
    started = time.monotonic()
    with pytest.raises(RefreshFailed, match="no refresh token"):  # it got the lock, then tried
        refresh(request_for(key))
    assert 0.9 < time.monotonic() - started < 4.0


@pytest.mark.django_db
def test_waiting_is_bounded_by_the_timeout(settings: Any, no_idp: None, lock_cache: str) -> None:
    settings.JANITOR_SITE_TIMEOUT = 0.5
    key = stored_session("old")
    another_process_holds_the_lock(key)  # and never stores a token
    started = time.monotonic()
    assert refresh(request_for(key)) is None
    assert time.monotonic() - started < 2.0
    assert len(middleware._locks) == 0


def test_only_the_owner_releases_the_lock(settings: Any, lock_cache: str) -> None:
    cache = caches[lock_cache]
    mine, theirs = _SharedLock("session-1", 1.0), _SharedLock("session-1", 1.0)
    assert mine.key == theirs.key and "session-1" not in mine.key  # the session key is hashed
    assert mine.acquire() and not theirs.acquire()
    theirs.release()
    assert cache.get(mine.key) == mine.owner
    mine.release()
    assert cache.get(mine.key) is None
    assert theirs.acquire()
    theirs.release()

    expired = _SharedLock("session-2", 1.0)
    assert expired.acquire()
    cache.set(expired.key, "a-successor", 30)  # it expired and another process took it
    expired.release()
    assert cache.get(expired.key) == "a-successor"


def test_a_lock_held_nearly_to_its_expiry_is_left_to_expire(settings: Any, lock_cache: str) -> None:
    cache = caches[lock_cache]
    lock = _SharedLock("session-3", 0.1)
    assert lock.ttl == 3  # 0.1 s to the IdP, 1 s watching after invalid_grant, rounded up, +1
    assert lock.acquire()
    time.sleep(2.05)  # past ttl - 1: by the time it is deleted it may be another's
    lock.release()
    assert cache.get(lock.key) == lock.owner
    time.sleep(1.2)
    assert cache.get(lock.key) is None  # it expired by itself


@pytest.mark.django_db
def test_a_failing_cache_does_not_stop_the_refresh(
    settings: Any, no_idp: None, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("redis", reason="the redis package is not installed")
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
        },
    }
    settings.JANITOR_SITE_OIDC_LOCK_CACHE = "down"
    key = stored_session("old")
    request = request_for(key)
    another_process_refreshed(key, "new")
    with caplog.at_level(logging.WARNING, "janitor_site_django.auth"):
        assert refresh(request) == "new"
    assert "refresh lock's cache failed (ConnectionError)" in caplog.text


@pytest.fixture
def site(settings: Any, janitor_emulator: EmulatorServer, no_idp: None) -> EmulatorServer:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = None
    return janitor_emulator


def logged_in(token: str, expires_in: float) -> Client:
    client = Client()
    client.force_login(User.objects.get_or_create(username="someone")[0])
    session = client.session
    tokens.store(session, {"access_token": token, "refresh_token": "r", "expires_in": expires_in})
    session.save()
    return client


@pytest.mark.django_db(transaction=True)
def test_a_request_that_cannot_wait_longer_keeps_the_session(
    settings: Any, site: EmulatorServer
) -> None:
    settings.JANITOR_SITE_TIMEOUT = 2.0
    client = logged_in(site.tokens["qa"], expires_in=10)  # inside the 30 s margin
    locks = [another_process_holds_the_lock(client.session.session_key or "")]
    response = client.get("/whoami/")  # no new token in time: the one it has is still valid
    assert response.status_code == 200 and response.json() == {"user": "bob"}
    assert "_auth_user_id" in client.session

    client = logged_in(site.tokens["qa"], expires_in=-1)  # expired already
    locks.append(another_process_holds_the_lock(client.session.session_key or ""))
    response = client.get("/whoami/")
    assert response.status_code == 302 and response["Location"].startswith("/oidc/authenticate/")
    assert "_auth_user_id" in client.session  # sent to log in again, but not logged out
    caches["default"].delete_many(locks)
