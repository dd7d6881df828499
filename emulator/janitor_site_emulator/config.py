"""Emulator configuration: one immutable object built by the CLI or by tests."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

#: The other Janitor services the emulator plays itself, unless disabled.
BUILTIN_SERVICES = ("runner", "publisher", "vcs")

#: The template set shipped with the emulator.
DEFAULT_TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclasses.dataclass(frozen=True)
class StaticToken:
    """A development bearer token standing for a user with the given groups."""

    token: str
    username: str
    groups: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> StaticToken:
        """Parse ``TOKEN:username:group1,group2`` (the groups part is optional)."""
        token, sep, rest = spec.partition(":")
        username, _, groups = rest.partition(":")
        if not token or not sep or not username:
            raise ValueError(
                f"invalid token spec {spec!r}: expected TOKEN:username[:group1,group2]"
            )
        return cls(token, username, tuple(group for group in groups.split(",") if group))


@dataclasses.dataclass(frozen=True)
class EmulatorConfig:
    """Everything the running emulator needs to know."""

    database_url: str = "sqlite:///janitor-emulator.sqlite3"
    static_tokens: tuple[StaticToken, ...] = ()
    #: OIDC issuer whose userinfo endpoint validates bearer tokens; None: only static tokens.
    oidc_issuer_url: str | None = None
    admin_group: str | None = None
    qa_reviewer_group: str | None = None
    #: None disables the template endpoints (503 ``templates``).
    templates_dir: Path | None = DEFAULT_TEMPLATES_DIR
    #: Built-in services switched off, answering as "not configured" (503): runner, publisher, vcs.
    disabled_services: frozenset[str] = frozenset()
    #: Timeout for calls to other services (identity provider), in seconds.
    service_timeout: float = 10.0
    version: str = "0.1.0"

    def to_json(self) -> str:
        """This configuration as JSON (handed to worker processes)."""
        values = dataclasses.asdict(self)
        values["templates_dir"] = None if self.templates_dir is None else str(self.templates_dir)
        values["disabled_services"] = sorted(self.disabled_services)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> EmulatorConfig:
        values = json.loads(text)
        values["static_tokens"] = tuple(
            StaticToken(t["token"], t["username"], tuple(t["groups"]))
            for t in values["static_tokens"]
        )
        if values["templates_dir"] is not None:
            values["templates_dir"] = Path(values["templates_dir"])
        values["disabled_services"] = frozenset(values["disabled_services"])
        return cls(**values)
