"""Fixtures of the auth tests: a real OIDC provider on loopback, a fake clock, an authenticator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from janitor_site_emulator.auth import Authenticator
from janitor_site_emulator.config import EmulatorConfig, StaticToken

from .support import FakeClock, Keys, Provider, provider_app, serve


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="package")
def keys() -> Keys:
    return Keys(
        main=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        other=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_key=ec.generate_private_key(ec.SECP256R1()),
    )


@pytest.fixture(scope="package")
def oidc_server() -> Iterator[Provider]:
    """The provider, served on loopback for the whole package."""
    provider = Provider()
    with serve(provider_app(provider)) as url:
        provider.issuer = url
        yield provider


@pytest.fixture
def provider(oidc_server: Provider, keys: Keys) -> Provider:
    oidc_server.reset(keys.jwks())
    return oidc_server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def authenticator(provider: Provider, clock: FakeClock) -> Authenticator:
    config = EmulatorConfig(
        oidc_issuer_url=provider.issuer,
        static_tokens=(StaticToken("static-admin", "root", ("admins", "ops")),),
        admin_group="admins",
        qa_reviewer_group="qa",
        service_timeout=2.0,
    )
    return Authenticator(config, clock=clock)
