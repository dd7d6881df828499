"""``manage.py janitor_emulator`` serves the emulator with the same options as ``python -m``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_manage_py_janitor_emulator_serves_the_demo(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, str(ROOT / "manage.py"), "janitor_emulator",
        "--database", f"sqlite:///{tmp_path / 'e.sqlite3'}", "--seed", "demo",
        "--host", "127.0.0.1", "--port", str(port), "--token", "t0k3n:dana:janitor-admins",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/codebases", params={"limit": 5, "sort": "-name"}
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the emulator did not answer")
        page = response.json()
        assert len(page["data"]) == 5 and page["pagination"]["total"] > 5
        user = httpx.get(
            f"http://127.0.0.1:{port}/api/user", headers={"Authorization": "Bearer t0k3n"}
        )
        assert user.json()["data"]["preferred_username"] == "dana"
    finally:
        process.terminate()
        process.wait(10)
