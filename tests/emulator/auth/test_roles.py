"""Groups, roles, the requester and the v1 User object of a principal (§3.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from janitor_site_emulator.auth.roles import (
    groups_from_claims,
    make_principal,
    require_role,
    roles_for,
)
from janitor_site_emulator.config import EmulatorConfig
from janitor_site_emulator.errors import ApiError


def test_groups_from_arrays_and_strings() -> None:
    claims = {
        "groups": ["b", "a", 3, None, {"x": 1}, ["nested"], "a"],
        "memberOf": "c d,e , ,f,,g",
        "roles": "Admin admin",
        "authorities": ["h i"],
        "other": ["ignored"],
    }
    assert groups_from_claims(claims) == (
        "Admin",
        "a",
        "admin",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h i",
    )


@pytest.mark.parametrize("value", [None, 7, True, {"a": 1}, "", " , ", []])
def test_groups_ignore_other_shapes(value: Any) -> None:
    assert groups_from_claims({"groups": value}) == ()


@pytest.mark.parametrize(
    ("groups", "admin", "qa", "expected"),
    [
        ((), None, None, ("User", "QaReviewer", "Admin")),
        (("x",), "admins", None, ("User", "QaReviewer")),
        (("x",), None, "qa", ("User", "QaReviewer", "Admin")),
        (("admins",), "admins", "qa", ("User", "QaReviewer", "Admin")),
        (("qa",), "admins", "qa", ("User", "QaReviewer")),
        (("x",), "admins", "qa", ("User",)),
        (("Admins",), "admins", "qa", ("User",)),
    ],
)
def test_roles(
    groups: tuple[str, ...], admin: str | None, qa: str | None, expected: tuple[str, ...]
) -> None:
    assert roles_for(groups, admin, qa) == expected
    config = EmulatorConfig(admin_group=admin, qa_reviewer_group=qa)
    principal = make_principal({"sub": "s", "groups": list(groups)}, "bearer", config)
    assert principal.roles == expected
    assert principal.is_admin == ("Admin" in expected)
    assert principal.is_qa_reviewer == ("QaReviewer" in expected)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "s", "email": "e@x", "preferred_username": "p", "name": "n"}, "e@x"),
        ({"sub": "s", "preferred_username": "p", "name": "n"}, "p"),
        ({"sub": "s", "email": 5, "name": "n"}, "n"),
        ({"sub": "s", "email": "", "preferred_username": None}, "s"),
        ({"sub": "s"}, "s"),
    ],
)
def test_requester(claims: dict[str, Any], expected: str) -> None:
    assert make_principal(claims, "bearer", EmulatorConfig()).requester == expected


def test_user_json() -> None:
    config = EmulatorConfig(admin_group="janitor-admins", qa_reviewer_group="qa")
    claims = {
        "sub": "2c1f",
        "email": "alice@example.org",
        "name": "Alice",
        "preferred_username": "alice",
        "groups": ["staff", "janitor-admins", "staff"],
        "extra": True,
    }
    user = make_principal(claims, "bearer", config).user_json()
    assert json.dumps(user, separators=(",", ":")) == (
        '{"sub":"2c1f","email":"alice@example.org","name":"Alice","preferred_username":"alice",'
        '"groups":["janitor-admins","staff"],"roles":["User","QaReviewer","Admin"],'
        '"is_admin":true,"is_qa_reviewer":true,"auth_method":"bearer"}'
    )
    minimal = make_principal({"sub": "s", "email": ["x"]}, "session", config).user_json()
    assert minimal == {
        "sub": "s",
        "email": None,
        "name": None,
        "preferred_username": None,
        "groups": [],
        "roles": ["User"],
        "is_admin": False,
        "is_qa_reviewer": False,
        "auth_method": "session",
    }


def test_require_role() -> None:
    config = EmulatorConfig(admin_group="admins", qa_reviewer_group="qa")
    user = make_principal({"sub": "s", "groups": "qa"}, "bearer", config)
    require_role(user, "User")
    require_role(user, "QaReviewer")
    with pytest.raises(ApiError) as caught:
        require_role(user, "Admin")
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert caught.value.details == {"required_role": "Admin"}
    with pytest.raises(ApiError) as caught:
        require_role(None, "User")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}
    with pytest.raises(ValueError):
        require_role(user, "Superuser")
