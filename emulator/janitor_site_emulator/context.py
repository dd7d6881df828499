"""Per-request plumbing: the running emulator's parts and one API call's credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy.exc
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .auth import Principal, require_role
from .config import EmulatorConfig
from .errors import unavailable
from .params import QueryParams

if TYPE_CHECKING:
    from .auth import Authenticator
    from .render import TemplateSet

T = TypeVar("T")


@dataclasses.dataclass
class Emulator:
    """The parts of one running emulator, shared by every request."""

    config: EmulatorConfig
    engine: Engine
    authenticator: Authenticator
    templates: TemplateSet | None


class Call:
    """One API call: its request, its authenticated principal and database access."""

    def __init__(self, request: Request, principal: Principal | None) -> None:
        self.request = request
        self.principal = principal
        self.emulator: Emulator = request.app.state.emulator

    @classmethod
    async def begin(cls, request: Request, role: str | None = None) -> Call:
        """Validate the credential (401/502/503), then the role (401/403): §2.1 steps 2–3."""
        emulator: Emulator = request.app.state.emulator
        principal = await emulator.authenticator.authenticate(
            request.headers.get("authorization"), request.cookies.get("session_id")
        )
        if role is not None:
            require_role(principal, role)
        return cls(request, principal)

    @cached_property
    def params(self) -> QueryParams:
        return QueryParams(self.request.scope.get("query_string", b""))

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a connection in the thread pool."""
        return await run_in_threadpool(self._run, work, False)

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction in the thread pool."""
        return await run_in_threadpool(self._run, work, True)

    def _run(self, work: Callable[[Connection], T], transaction: bool) -> T:
        engine = self.emulator.engine
        try:
            with engine.begin() if transaction else engine.connect() as conn:
                return work(conn)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise unavailable("database", "The database is not available") from exc
