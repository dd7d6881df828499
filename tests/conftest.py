"""Shared fixtures: PostgreSQL and Redis availability for the suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRESQL_URL = os.environ.get(
    "JANITOR_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JANITOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _postgresql_error() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(POSTGRESQL_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRESQL_URL} is not reachable: {exc}"


def _fresh_postgresql_database() -> Iterator[str]:
    error = _postgresql_error()
    if error is not None:
        pytest.skip(error)
    import psycopg

    name = f"jsd_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRESQL_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRESQL_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRESQL_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards (skips without one)."""
    yield from _fresh_postgresql_database()


@pytest.fixture
def own_postgresql_database() -> Iterator[str]:
    """Like ``postgresql_database``, but one for this test alone."""
    yield from _fresh_postgresql_database()


def _redis_error() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install -e '.[dev]')"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3) as r:
            r.ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of the Redis server (skips without one). It may be shared: prefix every key."""
    error = _redis_error()
    if error is not None:
        pytest.skip(error)
    return REDIS_URL
