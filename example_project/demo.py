"""``make demo``: the emulator on :8080 and the example project on :8000; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from janitor_site_django.testing.emulator import DEMO_TOKENS, start_emulator

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
EMULATOR_PORT = 8080
SITE_ADDRESS = "127.0.0.1:8000"


def main() -> None:
    DATA.mkdir(exist_ok=True)
    emulator = start_emulator(
        f"sqlite:///{DATA / 'emulator.sqlite3'}",
        port=EMULATOR_PORT,
        extra_args=["--log-level", "info"],
    )
    environment = {
        **os.environ,
        "JANITOR_SITE_URL": emulator.url,
        "JANITOR_SITE_API_TOKEN": DEMO_TOKENS["service"],
    }
    site = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", SITE_ADDRESS, "--noreload"],
        env=environment,
    )
    print(f"\nJanitor site API emulator: {emulator.url}/api/status", flush=True)
    print(f"Example project:           http://{SITE_ADDRESS}/", flush=True)
    print(
        "Development tokens:",
        ", ".join(f"{name}={token}" for name, token in emulator.tokens.items()),
    )
    print("Press Ctrl-C to stop both.\n", flush=True)
    try:
        site.wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.send_signal(signal.SIGINT)
        try:
            site.wait(10)
        except subprocess.TimeoutExpired:
            site.kill()
        emulator.stop()
        print("Stopped.")


if __name__ == "__main__":
    main()
