"""Test helpers for projects using janitor-site-django.

* :func:`capture_api_calls` / :func:`assert_num_api_calls`: count API calls like
  ``assertNumQueries`` counts SQL;
* :func:`start_emulator`: a live emulator on loopback (the ``janitor_emulator`` pytest fixture
  of the plugin this package registers uses it).
"""

from __future__ import annotations

from .calls import CapturedCalls, assert_num_api_calls, capture_api_calls
from .emulator import EmulatorServer, start_emulator

__all__ = [
    "CapturedCalls",
    "EmulatorServer",
    "assert_num_api_calls",
    "capture_api_calls",
    "start_emulator",
]
