"""The ``vcs_diff`` rows of the demo data: diffs of the main branches of successful runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timezone
from email.utils import format_datetime

from .draw import REFERENCE_TIME, Draw, Row
from .runs import Runs


def make_diffs(draw: Draw, runs: Runs, n: int) -> list[Row]:
    """Diffs of the main branch of every ready run and of other successful runs, ``n`` in all;
    the first is Latin-1, not UTF-8."""
    by_id = {run["id"]: run for run in runs.rows}
    with_vcs = [by_id[run_id] for run_id in runs.branches if by_id[run_id]["vcs_type"]]
    chosen = [run for run in with_vcs if run["id"] in runs.ready]
    others = [run for run in with_vcs if run["id"] not in runs.ready]
    chosen += draw.rng.sample(others, max(0, min(n - len(chosen), len(others))))
    rows = []
    for index, run in enumerate(chosen):
        main = runs.branches[run["id"]][0]
        text = _diff_text(draw, run)
        if index == 0:
            latin1 = text.replace("Debian Janitor", "François Janitor")
            diff = latin1.encode("latin-1", errors="replace")
        else:
            diff = text.encode()
        rows.append(
            {
                "codebase": run["codebase"],
                "revision": main["revision"],
                "base_revision": main["base_revision"],
                "diff": diff,
            }
        )
    return rows


def _diff_text(draw: Draw, run: Row) -> str:
    name = run["codebase"]
    version = json.loads(run["result"]).get("upstream_version") or draw.version()
    when = format_datetime((run["finish_time"] or REFERENCE_TIME).replace(tzinfo=timezone.utc))
    return (
        _DIFF_HUNKS.get(run["suite"], _no_hunk)(name)
        + "--- a/debian/changelog\n+++ b/debian/changelog\n@@ -1,3 +1,9 @@\n"
        f"+{name} ({version}-1) UNRELEASED; urgency=medium\n+\n"
        f"+  * {run['description'] or 'Automated changes.'}\n+\n"
        f"+ -- Debian Janitor <janitor@jelmer.uk>  {when}\n+\n"
        f" {name} (0.1-1) unstable; urgency=medium\n \n   * Initial release.\n"
    )


def _control_hunk(old: Sequence[str], new: Sequence[str]) -> Callable[[str], str]:
    """A debian/control hunk replacing the lines ``old`` with ``new``, in 5 lines of context."""
    changes = "".join(f"-{line}\n" for line in old) + "".join(f"+{line}\n" for line in new)

    def hunk(name: str) -> str:
        return (
            "--- a/debian/control\n+++ b/debian/control\n"
            f"@@ -1,{5 + len(old)} +1,{5 + len(new)} @@\n"
            f" Source: {name}\n Section: misc\n Priority: optional\n"
            f"{changes} Build-Depends: debhelper-compat (= 13)\n"
            f" Vcs-Git: https://salsa.debian.org/debian/{name}.git\n"
        )

    return hunk


def _no_hunk(name: str) -> str:
    return ""


_DIFF_HUNKS: dict[str, Callable[[str], str]] = {
    "lintian-fixes": _control_hunk(["Standards-Version: 4.5.0"], ["Standards-Version: 4.7.0"]),
    "multiarch-fixes": _control_hunk(["Multi-Arch: same"], ["Multi-Arch: foreign"]),
    "scrub-obsolete": _control_hunk(["Depends: dpkg (>= 1.15)"], ["Depends: dpkg"]),
    "debianize": _control_hunk([], ["Rules-Requires-Root: no"]),
}
