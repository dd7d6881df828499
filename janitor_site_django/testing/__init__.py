"""Test helpers for projects using janitor-site-django (a pytest plugin with a live emulator)."""

from __future__ import annotations
