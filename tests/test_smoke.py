from __future__ import annotations

import janitor_site_django


def test_version_is_a_string() -> None:
    assert janitor_site_django.__version__.count(".") == 2
