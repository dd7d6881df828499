"""Shared fixtures: PostgreSQL availability for the suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRESQL_URL = os.environ.get(
    "JANITOR_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


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


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards (skips without one)."""
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
