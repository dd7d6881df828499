"""Run the Django-facing tests on the other Django releases we support, one venv for each.

``make test`` runs the whole suite on Django 5.2 LTS (``.venv``). This runs the tests again on
each release in ``MATRIX``, in ``.venv-django<series>`` on the Python given there (Django 6
needs Python ≥ 3.12; the interpreter is looked for as ``python3.X`` on ``PATH``, then under
pyenv's ``versions/``), installed with ``constraints-django<series>.txt`` whenever pyproject.toml,
emulator/pyproject.toml or that file changes. Left out: ``tests/emulator/`` (the emulator's own
suite imports no Django) and ``tests/packaging/`` (it builds both distributions and installs
them in fresh environments pinned to Django 5.2 by constraints.txt, whatever venv it runs in).

``python scripts/django_matrix.py [SERIES ...] [-- PYTEST_ARGS ...]`` runs the named series (all
by default), prints each run's pytest summary and times, and exits 1 if any run failed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Release:
    """One Django series to test, the Python to test it on, and the tests known to fail there."""

    django: str
    python: str
    #: pytest node ids (or their prefixes) left out on this release, and why: each a divergence
    #: to fix, not to keep.
    known_failures: tuple[str, ...] = ()
    why: str = ""

    @property
    def venv(self) -> Path:
        return ROOT / f".venv-django{self.django}"

    @property
    def constraints(self) -> Path:
        return ROOT / f"constraints-django{self.django}.txt"


#: The newest Django release and the one before it (5.2 LTS is ``make test``'s).
MATRIX = (
    Release("6.0", "3.12"),
    Release("6.1", "3.13"),
)
#: What the Django-facing tests leave out of ``tests/`` (see the module docstring).
IGNORED = ("tests/emulator", "tests/packaging")
#: The files an environment is installed from: a change to any reinstalls it.
INPUTS = ("pyproject.toml", "emulator/pyproject.toml")
#: pytest's closing line, "=== 1331 passed, 13 skipped in 574.60s (0:09:34) ===" (-q: no "=").
SUMMARY = re.compile(r"^=* ?(\d+ \w+.* in [\d.]+s\b.*?) ?=*$")


def find_python(version: str) -> str:
    """The path of a Python ``version`` ("3.12") interpreter, or exit saying where we looked."""
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    found = shutil.which(f"python{version}")
    installed = sorted(
        glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"),
        key=lambda path: [int(n) for n in re.findall(r"\d+", Path(path).parents[1].name)],
        reverse=True,
    )
    for candidate in ([found] if found else []) + installed:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    sys.exit(
        f"Python {version} not found: no working python{version} on PATH nor in "
        f"{pyenv}/versions/{version}.*/bin/"
    )


def fingerprint(release: Release) -> str:
    """A digest of what the release's environment is installed from."""
    digest = hashlib.sha256(release.python.encode())
    for path in (*[ROOT / name for name in INPUTS], release.constraints):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install(release: Release) -> None:
    """Install the release's venv afresh, unless it was installed from the same files."""
    stamp = release.venv / ".installed"
    wanted = fingerprint(release)
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    shutil.rmtree(release.venv, ignore_errors=True)
    subprocess.run([find_python(release.python), "-m", "venv", release.venv], check=True)
    pip = [str(release.venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run(
        [*pip, "-e", "./emulator", "-e", ".[emulator,oidc,dev]", "-c", str(release.constraints)],
        check=True,
        cwd=ROOT,
    )
    stamp.write_text(wanted)


def run_tests(release: Release, pytest_args: list[str]) -> tuple[int, str]:
    """Run the Django-facing tests in the release's venv: the exit code and pytest's summary."""
    command = [
        str(release.venv / "bin" / "python"),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests",
        *[f"--ignore={path}" for path in IGNORED],
        *[f"--deselect={node}" for node in release.known_failures],
        *pytest_args,
    ]
    summary = "no pytest summary"
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if match := SUMMARY.match(line.strip()):
                summary = match.group(1)
    return process.returncode, summary


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    names, pytest_args = argv[:split], argv[split + 1 :]
    known = {release.django: release for release in MATRIX}
    unknown = [name for name in names if name not in known]
    if unknown:
        sys.exit(f"unknown Django series {', '.join(unknown)}; the matrix has {', '.join(known)}")
    results = []
    for release in [known[name] for name in names] or MATRIX:
        print(
            f"\n=== Django {release.django} on Python {release.python} ({release.venv.name})",
            flush=True,
        )
        started = time.monotonic()
        install(release)
        installed = time.monotonic()
        code, summary = run_tests(release, pytest_args)
        results.append((release, code, summary, installed - started, time.monotonic() - installed))
    print("\n=== The Django-facing tests by Django release")
    for release, code, summary, install_seconds, test_seconds in results:
        status = "ok" if code == 0 else f"FAILED (pytest exit {code})"
        print(
            f"Django {release.django} / Python {release.python}: {status}: {summary}; "
            f"install {install_seconds:.0f} s, tests {test_seconds:.0f} s"
        )
        if release.known_failures:
            print(
                f"  left out, known to fail ({release.why}):", *release.known_failures, sep="\n    "
            )
    return 0 if all(code == 0 for _, code, *_ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
