"""A real OIDC identity provider on loopback, a fake clock and helpers for the auth tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from janitor_site_emulator.auth import Authenticator
from janitor_site_emulator.errors import ApiError


@dataclasses.dataclass
class Provider:
    """State of the test identity provider; reset for every test."""

    issuer: str = ""
    opaque: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    jwks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    calls: dict[str, int] = dataclasses.field(default_factory=dict)
    seen_authorization: list[str] = dataclasses.field(default_factory=list)
    #: path -> (status, raw body) answered instead of the normal response
    override: dict[str, tuple[int, bytes]] = dataclasses.field(default_factory=dict)
    #: path -> seconds to wait before answering
    delay: dict[str, float] = dataclasses.field(default_factory=dict)
    discovery_omit: tuple[str, ...] = ()

    def reset(self, jwks: list[dict[str, Any]]) -> None:
        self.opaque = {}
        self.jwks = list(jwks)
        self.calls = {}
        self.seen_authorization = []
        self.override = {}
        self.delay = {}
        self.discovery_omit = ()


def provider_app(provider: Provider) -> Starlette:
    async def answer(request: Request, normal: Any) -> Response:
        path = request.url.path
        provider.calls[path] = provider.calls.get(path, 0) + 1
        if path in provider.delay:
            await asyncio.sleep(provider.delay[path])
        if path in provider.override:
            status, body = provider.override[path]
            return Response(body, status_code=status, media_type="application/json")
        return normal if isinstance(normal, Response) else JSONResponse(normal)

    async def discovery(request: Request) -> Response:
        document = {
            "issuer": provider.issuer,
            "userinfo_endpoint": provider.issuer + "/userinfo",
            "jwks_uri": provider.issuer + "/jwks",
        }
        for name in provider.discovery_omit:
            document.pop(name)
        return await answer(request, document)

    async def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        provider.seen_authorization.append(header)
        claims = provider.opaque.get(header.removeprefix("Bearer "))
        if claims is None:
            return await answer(request, JSONResponse({"error": "invalid_token"}, 401))
        return await answer(request, claims)

    async def jwks(request: Request) -> Response:
        return await answer(request, {"keys": provider.jwks})

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/userinfo", userinfo),
            Route("/jwks", jwks),
        ]
    )


@dataclasses.dataclass(frozen=True)
class Keys:
    main: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey

    def jwks(self) -> list[dict[str, Any]]:
        rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.main.public_key(), as_dict=True)
        ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        return [{**rsa_jwk, "kid": "k1", "use": "sig"}, {**ec_jwk, "kid": "ec1"}]

    def other_jwk(self, kid: str) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.other.public_key(), as_dict=True)
        return {**jwk, "kid": kid}


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a background thread; its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive()


@contextlib.contextmanager
def raw_server(reply: bytes) -> Iterator[str]:
    """A loopback TCP server answering each connection with ``reply`` (not HTTP); its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                connection.recv(65536)
                connection.sendall(reply)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
        assert not thread.is_alive()


class FakeClock:
    """An injectable wall clock that only moves when told."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def expect_error(
    authenticator: Authenticator, header: str | None, cookie: str | None = None
) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await authenticator.authenticate(header, cookie)
    return caught.value


def assert_invalid_token(error: ApiError) -> None:
    assert (error.status, error.code) == (401, "invalid_token")
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert error.details is None


def sign(key: Any, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = "k1") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def jwt_claims(provider: Provider, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    claims = {
        "iss": provider.issuer,
        "sub": "u-1",
        "exp": int(clock.now) + 300,
        "iat": int(clock.now),
        "email": "alice@example.org",
        "groups": ["staff"],
    }
    claims.update(extra)
    return {key: value for key, value in claims.items() if value is not None}


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
