"""Session cookies (§3.3): ``site_session`` rows in both formats, expiry, failures."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from janitor_site_emulator.auth import Authenticator
from janitor_site_emulator.auth.sessions import session_claims
from janitor_site_emulator.config import EmulatorConfig, StaticToken
from janitor_site_emulator.schema import create_engine, create_schema, site_session

from .support import FakeClock, Provider, assert_invalid_token, expect_error

pytestmark = pytest.mark.anyio


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'sessions.sqlite3'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def add_session(engine: Engine, session_id: str, age: dt.timedelta, userinfo: Any) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    text = userinfo if isinstance(userinfo, str) or userinfo is None else json.dumps(userinfo)
    with engine.begin() as connection:
        connection.execute(
            site_session.insert().values(id=session_id, timestamp=now - age, userinfo=text)
        )


@pytest.fixture
def session_auth(engine: Engine) -> Authenticator:
    return Authenticator(EmulatorConfig(admin_group="admins", qa_reviewer_group="qa"), engine)


async def test_session_python_format(engine: Engine, session_auth: Authenticator) -> None:
    claims = {"sub": "u-9", "email": "py@example.org", "groups": ["qa"]}
    add_session(engine, "s-py", dt.timedelta(hours=1), claims)
    principal = await session_auth.authenticate(None, "s-py")
    assert principal is not None
    assert principal.auth_method == "session"
    assert principal.email == "py@example.org"
    assert principal.roles == ("User", "QaReviewer")


async def test_session_rust_format(engine: Engine, session_auth: Authenticator) -> None:
    userinfo = {
        "user": {"sub": "u-8", "preferred_username": "rusty", "groups": "admins staff"},
        "created_at": "2024-01-01T00:00:00Z",
        "last_activity": "2024-01-01T00:00:00Z",
    }
    add_session(engine, "s-rs", dt.timedelta(days=6, hours=23), userinfo)
    principal = await session_auth.authenticate(None, "s-rs")
    assert principal is not None
    assert principal.user_json()["preferred_username"] == "rusty"
    assert principal.groups == ("admins", "staff")
    assert principal.is_admin


async def test_session_expired_unknown_or_broken_is_anonymous(
    engine: Engine, session_auth: Authenticator
) -> None:
    add_session(engine, "old", dt.timedelta(days=7, minutes=1), {"sub": "u"})
    add_session(engine, "garbage", dt.timedelta(0), "{not json")
    add_session(engine, "null", dt.timedelta(0), None)
    add_session(engine, "no-sub", dt.timedelta(0), {"user": {"email": "x@y"}})
    add_session(engine, "list", dt.timedelta(0), [1, 2])
    for cookie in ("old", "garbage", "null", "no-sub", "list", "unknown", ""):
        assert await session_auth.authenticate(None, cookie) is None


async def test_session_clock_is_injectable(engine: Engine, clock: FakeClock) -> None:
    add_session(engine, "s", dt.timedelta(0), {"sub": "u"})
    authenticator = Authenticator(EmulatorConfig(), engine, clock=clock)
    assert await authenticator.authenticate(None, "s") is not None
    clock.advance(7 * 86400 + 60)
    assert await authenticator.authenticate(None, "s") is None


async def test_bearer_wins_over_cookie(
    engine: Engine, session_auth: Authenticator, provider: Provider
) -> None:
    add_session(engine, "s-ok", dt.timedelta(0), {"sub": "cookie-user"})
    config = EmulatorConfig(static_tokens=(StaticToken("tok", "token-user"),))
    authenticator = Authenticator(config, engine)
    principal = await authenticator.authenticate("Bearer tok", "s-ok")
    assert principal is not None and principal.auth_method == "bearer"
    assert principal.sub == "token-user"
    assert_invalid_token(await expect_error(authenticator, "Basic abc", "s-ok"))
    assert_invalid_token(await expect_error(authenticator, "", "s-ok"))


async def test_session_without_engine_is_anonymous() -> None:
    authenticator = Authenticator(EmulatorConfig())
    assert await authenticator.authenticate(None, "anything") is None


async def test_session_database_failure_is_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no schema
    authenticator = Authenticator(EmulatorConfig(), engine)
    error = await expect_error(authenticator, None, "s")
    assert (error.status, error.details) == (503, {"service": "database"})
    engine.dispose()


def test_session_claims() -> None:
    assert session_claims('{"sub":"a"}') == {"sub": "a"}
    assert session_claims('{"user":{"sub":"b"},"created_at":1}') == {"sub": "b"}
    assert session_claims('{"user":"x","sub":"c"}') == {"user": "x", "sub": "c"}
    assert session_claims("") is None
    assert session_claims("[]") is None
