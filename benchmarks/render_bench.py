"""Render overhead: a mid-size page (50 runs) rendered by the service through
``JanitorTemplates`` vs the same page rendered locally by Django's own engine (``make bench``).

Both get the same 50 runs (fetched once, outside the timing). The service's cost includes
serialising the context to JSON, the POST on loopback, and MiniJinja rendering in the emulator.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE_TEMPLATES = ROOT / "tests" / "template" / "service_templates"
DJANGO_PAGE = """<!doctype html><title>{{ title }}</title><h1>{{ title }}</h1>
<p>path={{ request.path }} user={{ request.user.username }} csrf={{ csrf_token }}</p>
<ul>{% for run in runs %}<li>{{ run.run_id }} {{ run.codebase }}</li>{% endfor %}</ul>
"""


def main(rounds: int = 200) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.template import engines
    from django.test import RequestFactory

    from janitor_site_django.client import get_client
    from janitor_site_django.template.context import serialise
    from janitor_site_django.testing.emulator import start_emulator

    with tempfile.TemporaryDirectory() as directory:
        database = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        extra = ["--templates", str(SERVICE_TEMPLATES)]
        with start_emulator(database, extra_args=extra) as server:
            settings.JANITOR_SITE_URL = server.url
            settings.JANITOR_SITE_API_TOKEN = server.tokens["service"]
            settings.TEMPLATES = [
                {
                    "NAME": "janitor",
                    "BACKEND": "janitor_site_django.template.backends.JanitorTemplates",
                },
                {"NAME": "django", "BACKEND": "django.template.backends.django.DjangoTemplates"},
            ]
            runs = serialise({"runs": get_client().list_runs(limit=50).items})["runs"]
            request = RequestFactory().get("/runs/")
            request.user = AnonymousUser()
            context = {"title": "Recent runs", "runs": runs}
            service = engines["janitor"].get_template("page.html")
            local = engines["django"].from_string(DJANGO_PAGE)

            def timed(render: object) -> list[float]:
                times = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    render.render(context, request)  # type: ignore[attr-defined]
                    times.append((time.perf_counter() - started) * 1000)
                return times

            timed(service), timed(local)  # warm up
            service_ms = statistics.median(timed(service))
            local_ms = statistics.median(timed(local))
    print(f"mid-size page (50 runs), {rounds} rounds, medians:")
    print(f"  Django's own engine, local        {local_ms:7.3f} ms")
    print(f"  JanitorTemplates (service render) {service_ms:7.3f} ms")
    overhead = service_ms - local_ms
    print(f"  overhead                          {overhead:7.3f} ms ({service_ms / local_ms:.1f}x)")


if __name__ == "__main__":
    main()
