"""A relying party of its own, run as real processes: several of them share one session store
and one cache, as a production site's workers do (``tests/oidc/test_refresh_single_flight.py``).

:func:`start_relying_party` runs ``python -m tests.relying_party.serve`` on a socket bound here
(no port race); ``settings.py`` reads its configuration from the ``RP_*`` environment variables.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPOSITORY = Path(__file__).resolve().parents[2]


class RelyingPartyError(RuntimeError):
    """The relying party did not start."""


@dataclasses.dataclass
class RelyingParty:
    """A running relying-party process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_relying_party(
    log_path: Path,
    environment: Mapping[str, str],
    *,
    create_tables: bool = False,
    startup_timeout: float = 60.0,
) -> RelyingParty:
    """Start one process with ``RP_*`` ``environment``; ``create_tables`` for the first one."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(environment)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.relying_party.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    command = [sys.executable, "-m", "tests.relying_party.serve", "--fd", str(listener.fileno())]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, *(["--create-tables"] if create_tables else [])],
            cwd=REPOSITORY,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    listener.close()
    party = RelyingParty(url=url, process=process, log_path=log_path)
    deadline = time.monotonic() + startup_timeout
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RelyingPartyError(
                    f"the relying party exited with status {process.returncode}:\n"
                    + party.log()[-3000:]
                )
            try:
                if client.get(f"{url}/ready/").status_code == 200:
                    return party
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    party.stop()
    raise RelyingPartyError(f"the relying party did not answer within {startup_timeout:g} s")
