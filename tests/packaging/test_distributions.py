"""The two distributions, built and installed in fresh virtual environments.

``janitor-site-emulator`` installs and serves alone (no Django, pydantic or httpx);
``janitor-site-django`` installs with no extras and its app loads; the sdist carries the tests,
the docs and the licence. Slow (builds and installs from the package index): ``-m "not slow"``
skips it in the edit loop, never in CI.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both projects' sdist and wheel (each wheel built from its sdist, as ``build`` does)."""
    out = tmp_path_factory.mktemp("dist")
    for project in (ROOT, ROOT / "emulator"):
        _run(sys.executable, "-m", "build", "--outdir", out, project)
    return out


def _venv(path: Path) -> Path:
    _run(sys.executable, "-m", "venv", path)
    return path / "bin" / "python"


def _only(dist: Path, pattern: str) -> Path:
    [found] = dist.glob(pattern)
    return found


def test_the_emulator_installs_and_serves_alone(dist: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "-q", _only(dist, "janitor_site_emulator-*.whl"))
    present = _run(
        python, "-c",
        "import importlib.util as u; print(*[m for m in ('django', 'pydantic', 'httpx', "
        "'janitor_site_django') if u.find_spec(m)])",
        cwd=tmp_path,
    )  # fmt: skip
    assert present.strip() == ""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [python, "-m", "janitor_site_emulator", "--database", f"sqlite:///{tmp_path / 'e.db'}",
         "--seed", "demo", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health")
                break
            except httpx.TransportError:
                assert server.poll() is None, "the emulator exited"
                assert time.monotonic() < deadline, "the emulator did not answer"
                time.sleep(0.2)
        assert health.status_code == 200
        codebases = httpx.get(f"http://127.0.0.1:{port}/api/codebases", params={"limit": 3})
        assert len(codebases.json()["data"]) == 3
    finally:
        server.terminate()
        server.wait(10)


def test_the_app_installs_without_extras_and_loads(dist: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    wheel = _only(dist, "janitor_site_django-*.whl")
    _run(python, "-m", "pip", "install", "-q", wheel, "-c", ROOT / "constraints.txt")
    loaded = _run(
        python, "-c",
        "import importlib.util, django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django.contrib.auth', 'django.contrib.contenttypes',"
        " 'django.contrib.admin', 'django.contrib.sessions', 'django.contrib.messages',"
        " 'janitor_site_django'], JANITOR_SITE_URL='https://janitor.example.org')\n"
        "django.setup()\n"
        "from janitor_site_django import SiteClient, AsyncSiteClient, models, admin, paginator\n"
        "from janitor_site_django.templatetags import janitor_site\n"
        "print(models.Codebase.objects.filter(vcs_type='git').query.model.__name__,"
        " SiteClient.__name__, importlib.util.find_spec('janitor_site_emulator'))",
        cwd=tmp_path,
    )  # fmt: skip
    assert loaded.split() == ["Codebase", "SiteClient", "None"]


def test_the_sdists_carry_tests_docs_and_licence_and_the_wheels_only_code(dist: Path) -> None:
    with tarfile.open(_only(dist, "janitor_site_django-*.tar.gz")) as app:
        names = app.getnames()
    top = {name.split("/", 2)[1] for name in names if name.count("/") >= 1}
    assert {"LICENSE", "README.md", "tests", "docs", "janitor_site_django"} <= top
    assert any(name.endswith("/docs/contract/janitor-api-v1.md") for name in names)
    assert any(name.endswith("/tests/conftest.py") for name in names)
    with tarfile.open(_only(dist, "janitor_site_emulator-*.tar.gz")) as emulator:
        assert any(name.endswith("/LICENSE") for name in emulator.getnames())
    for wheel, package in [
        ("janitor_site_django-*.whl", "janitor_site_django"),
        ("janitor_site_emulator-*.whl", "janitor_site_emulator"),
    ]:
        with zipfile.ZipFile(_only(dist, wheel)) as archive:
            files = archive.namelist()
        assert {name.split("/")[0] for name in files} == {package, files[-1].split("/")[0]}
        assert any(name.endswith(".dist-info/licenses/LICENSE") for name in files)
    assert "janitor_site_emulator/templates/layout.html" in files
