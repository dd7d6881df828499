"""The emulator loads with its own dependencies only: no httpx, Django, pydantic or client."""

from __future__ import annotations

import json
import subprocess
import sys

FOREIGN = ("httpx", "httpcore", "django", "pydantic", "janitor_site_django")


def test_app_and_cli_load_no_foreign_package() -> None:
    script = (
        "import json, sys\n"
        "import janitor_site_emulator.app, janitor_site_emulator.cli\n"
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert "janitor_site_emulator" in loaded
    assert loaded.isdisjoint(FOREIGN)
