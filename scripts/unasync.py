"""Write the sync client, ``client/_sync.py``, from the async one, ``client/_async.py``.

``python scripts/unasync.py`` rewrites ``_sync.py``; ``python scripts/unasync.py --check`` writes
nothing and exits 1 with a diff when ``_sync.py`` is out of date. Token replacements in the
manner of httpcore's ``scripts/unasync.py``, plus one for loops that only ``yield`` each item.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parent.parent / "janitor_site_django" / "client"
SOURCE = CLIENT / "_async.py"
TARGET = CLIENT / "_sync.py"
HEADER = (
    "# Generated from janitor_site_django/client/_async.py by scripts/unasync.py: do not edit.\n"
    "# Change _async.py, then run `python scripts/unasync.py`.\n"
)

#: ``for x in y: yield x`` (async generators cannot ``yield from``) → ``yield from y``.
YIELD_EACH = re.compile(r"^( *)(?:async )?for (\w+) in (.+):\n\1    yield \2\n", re.MULTILINE)
SUBS = [
    ("import asyncio", "import time"),
    ("asyncio.sleep", "time.sleep"),
    ("Async([A-Z][A-Za-z0-9_]*)", r"\2"),
    ("async def", "def"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    ("aclose", "close"),
    ("aget", "get"),
    ("aset", "set"),
    ("aread", "read"),
    ("anext", "next"),
    ("enter_async_context", "enter_context"),
    ("aiter_bytes", "iter_bytes"),
    ("aiter_raw", "iter_raw"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
]
COMPILED_SUBS = [(re.compile(r"(^|\b)" + regex + r"($|\b)"), repl) for regex, repl in SUBS]


def unasync(source: str) -> tuple[str, list[str]]:
    """The sync module for ``source``, and the replacements it did not use."""
    text = YIELD_EACH.sub(r"\1yield from \3\n", source)
    unused = []
    for (pattern, repl), (regex, _) in zip(COMPILED_SUBS, SUBS, strict=True):
        text, count = pattern.subn(repl, text)
        if not count:
            unused.append(regex)
    return HEADER + text, unused


def main(argv: list[str]) -> int:
    generated, unused = unasync(SOURCE.read_text())
    if unused:
        print(f"{SOURCE.name}: replacements never used: {', '.join(unused)}", file=sys.stderr)
        return 1
    current = TARGET.read_text() if TARGET.exists() else ""
    if "--check" not in argv:
        if current != generated:
            TARGET.write_text(generated)
            print(f"wrote {TARGET}")
        return 0
    if current == generated:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        generated.splitlines(keepends=True),
        f"{TARGET.name} (on disk)",
        f"{TARGET.name} (from {SOURCE.name})",
    )
    sys.stdout.writelines(diff)
    print(f"{TARGET} is out of date: run `python scripts/unasync.py`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
