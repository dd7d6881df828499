"""Browser tests: the real Django admin, served over HTTP by pytest-django's ``live_server``,
driven by Playwright in Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM_PATH``).

Every test in this directory is skipped, with the reason, when the ``playwright`` and
``pytest-playwright`` packages or the Chromium binary are missing; ``playwright install`` is
never needed (nor does it work on a closed network).

Fixtures and helpers:

* ``playwright``, ``browser_type``, ``launch_browser``, ``browser`` are pytest-playwright's, made
  package-scoped: Playwright's sync API keeps an asyncio loop "running" in the main thread while
  it is started, which would break every later test of the session (Django's ORM raises
  SynchronousOnlyOperation; async tests can't start their own loop). Here it lives only while
  this directory's tests run, with ``DJANGO_ALLOW_ASYNC_UNSAFE`` set for that time.
* ``browser_type_launch_args`` (session): pytest-playwright's launch options plus Chromium's path
  and the flags for a headless root run on a closed network.
* ``browser_context_args`` (package): a 1280x800 viewport and ``base_url`` = the live server, so
  ``page.goto("/admin/")`` works.
* ``admin_live`` : the live server URL with the API settings pointed at the ``janitor_emulator``
  (admin token) and a superuser in the test DB; ``.url``, ``.username``, ``.password``.
* ``login``: ``login(page)`` logs in through the admin login form and lands on the admin index.
* ``snap``: ``snap(page, name)`` saves a full-page PNG as ``test-artifacts/browser/<name>.png``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from janitor_site_django.testing.emulator import EmulatorServer

HERE = Path(__file__).resolve().parent
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = HERE.parent.parent / "test-artifacts" / "browser"
# As root, headless, on a machine whose network only reaches loopback and package registries.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_USERNAME = "browser-admin"
ADMIN_PASSWORD = "browser-admin-pass-123"


def _unavailable() -> str | None:
    """Why the browser tests can't run here, or None."""
    for package in ("playwright", "pytest-playwright"):
        if importlib.util.find_spec(package.replace("-", "_")) is None:
            return f"browser test needs the {package} package (pip install -e '.[dev]')"
    if not os.access(CHROMIUM_PATH, os.X_OK):
        return (
            f"browser test needs Chromium at {CHROMIUM_PATH} "
            "(apt-get install chromium fonts-liberation, or set CHROMIUM_PATH)"
        )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Called with every item of the session: mark only this directory's.
    reason = _unavailable()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def _django_allow_async_unsafe() -> Iterator[None]:
    # While Playwright runs, Django's ORM in this thread (the test's own, the test DB's set-up,
    # transactional_db's flush) would raise SynchronousOnlyOperation: it sees a running loop.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright(_django_allow_async_unsafe: None, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        # pytest-playwright's per-test tracing of playwright.request contexts (private API).
        contexts = request.getfixturevalue("_pw_api_request_contexts")
    except pytest.FixtureLookupError:
        contexts = None
    if contexts is not None:
        contexts.instrument(pw)
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: Any
) -> Callable[..., Any]:
    def launch(**kwargs: Any) -> Any:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Any]) -> Iterator[Any]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]
    return {**browser_type_launch_args, "executable_path": CHROMIUM_PATH, "args": args}


@pytest.fixture(scope="package")
def browser_context_args(
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
    playwright: Any,
    device: str | None,
    live_server: Any,
) -> dict[str, Any]:
    # pytest-playwright's own (session-scoped) version, for this package's Playwright.
    args: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
    if device:
        args.update(playwright.devices[device])
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = request.getfixturevalue("_pw_artifacts_folder").name
    args["base_url"] = live_server.url
    return args


@dataclasses.dataclass(frozen=True)
class LiveAdmin:
    url: str
    username: str
    password: str


@pytest.fixture
def admin_live(
    live_server: Any,
    transactional_db: None,
    settings: Any,
    janitor_emulator: EmulatorServer,
    django_user_model: Any,
) -> LiveAdmin:
    """The admin served for real at ``.url`` (the live server runs in a thread of this process,
    so these settings reach its requests), with a superuser to log in as."""
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["admin"]
    django_user_model.objects.create_superuser(
        username=ADMIN_USERNAME, email="browser-admin@example.test", password=ADMIN_PASSWORD
    )
    return LiveAdmin(url=live_server.url, username=ADMIN_USERNAME, password=ADMIN_PASSWORD)


@pytest.fixture
def login(admin_live: LiveAdmin) -> Callable[[Page], None]:
    """``login(page)``: log in through the real admin login form; ends on the admin index."""

    def login(page: Page) -> None:
        page.goto(f"{admin_live.url}/admin/login/?next=/admin/")
        page.fill("#id_username", admin_live.username)
        page.fill("#id_password", admin_live.password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{admin_live.url}/admin/")

    return login


@pytest.fixture
def snap() -> Callable[[Page, str], Path]:
    """``snap(page, name)``: a full-page screenshot at ``test-artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def snap(page: Page, name: str) -> Path:
        path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return snap
