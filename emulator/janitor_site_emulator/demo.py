"""The development identities of ``--demo-tokens``: a service token and a few demo users.

For development and tests only: these tokens are public knowledge.
"""

from __future__ import annotations

from .config import StaticToken

ADMIN_GROUP = "janitor-admins"
QA_REVIEWER_GROUP = "janitor-qa"

SERVICE_TOKEN = StaticToken("dev-service-token", "janitor-site-django", ("janitor-service",))
DEMO_TOKENS = {
    "service": SERVICE_TOKEN,
    "admin": StaticToken("dev-admin-token", "alice", (ADMIN_GROUP, "staff")),
    "qa": StaticToken("dev-qa-token", "bob", (QA_REVIEWER_GROUP,)),
    "user": StaticToken("dev-user-token", "carol", ()),
}
