"""Without DRF, django-filter and django-tables2 the package imports, and the integrations'
tests skip with a reason (each run in a fresh interpreter where those packages cannot import)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("rest_framework", "django_filters", "django_tables2")


def run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where importing ``blocked`` raises ImportError."""
    preamble = f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", preamble + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("blocked", "importable", "refused"),
    [
        (OPTIONAL, (), ("rest_framework", "django_filters", "tables2")),
        (("rest_framework",), ("django_filters", "tables2"), ("rest_framework",)),
        (("django_filters", "django_tables2"), ("rest_framework",), ("django_filters", "tables2")),
    ],
)
def test_the_package_imports_without_the_optional_packages(
    blocked: tuple[str, ...], importable: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    result = run_without(
        blocked,
        f"""
        import importlib, pkgutil
        import django
        django.setup()
        import janitor_site_django
        for module in pkgutil.walk_packages(janitor_site_django.__path__, "janitor_site_django."):
            if ".contrib." not in module.name and ".migrations" not in module.name:
                importlib.import_module(module.name)
        for name in {importable!r}:
            importlib.import_module("janitor_site_django.contrib." + name)
        for name in {refused!r}:
            try:
                importlib.import_module("janitor_site_django.contrib." + name)
            except ImportError:
                pass
            else:
                raise SystemExit(name + " imported without its package")
        print("imported")
        """,
    )
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr[-3000:]


def test_the_integrations_tests_skip_with_a_reason() -> None:
    tests = ["test_rest_framework.py", "test_drf_filters.py", "test_django_filters.py",
             "test_tables2.py"]  # fmt: skip
    result = run_without(
        OPTIONAL,
        f"""
        import pytest
        paths = ["tests/contrib/" + name for name in {tests!r}]
        raise SystemExit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *paths]))
        """,
    )
    # 5: no test collected, every module skipped
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4 skipped" in result.stdout
    for reason in ("djangorestframework is not installed (the [drf] extra)",
                   "django-filter is not installed (the [filters] extra)",
                   "django-tables2 is not installed (the [tables2] extra)"):  # fmt: skip
        assert reason in result.stdout, result.stdout
