"""Run the emulator as a real HTTP server on loopback, for tests (yours and ours)."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx

#: Tokens accepted by an emulator started with ``--demo-tokens`` (public, development only).
DEMO_TOKENS = {
    "service": "dev-service-token",
    "admin": "dev-admin-token",
    "qa": "dev-qa-token",
    "user": "dev-user-token",
}


class EmulatorStartError(RuntimeError):
    """The emulator process exited or did not answer in time."""


@dataclasses.dataclass
class EmulatorServer:
    """A running emulator process: its base URL, database and development tokens."""

    url: str
    database_url: str
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_emulator(
    database_url: str,
    *,
    seed: str = "demo",
    port: int = 0,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 120.0,
) -> EmulatorServer:
    """Start ``python -m janitor_site_emulator`` on 127.0.0.1 (``port`` 0: a free one).

    The socket is bound here and handed to the child, so there is no port race. Returns once
    ``GET /api/health`` answers 200 (after seeding, which happens before serving).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    port = listener.getsockname()[1]
    command = [
        sys.executable, "-m", "janitor_site_emulator",
        "--database", database_url,
        "--seed", seed,
        "--fd", str(listener.fileno()),
        "--demo-tokens",
        "--log-level", "warning",
        *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(command, pass_fds=(listener.fileno(),))
    listener.close()
    server = EmulatorServer(f"http://127.0.0.1:{port}", database_url, dict(DEMO_TOKENS), process)
    try:
        _wait_until_healthy(server, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_healthy(server: EmulatorServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise EmulatorStartError(
                    f"the emulator exited with status {server.process.returncode}"
                )
            try:
                if client.get(server.url + "/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise EmulatorStartError(f"the emulator did not answer within {timeout:g} s")
