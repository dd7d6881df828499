"""Unit tests of the pure template helpers (API v1 §6.3–6.5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from janitor_site_emulator import template_helpers as helpers
from janitor_site_emulator.template_helpers import HelperError

NOW = datetime(2025, 6, 8, 12, 0, 0, tzinfo=timezone.utc)


# --- format_duration (§6.5) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (59, "59s"),
        (59.999, "59s"),
        (-90, "-90s"),
        (-90.9, "-90s"),
        (-0.5, "0s"),
        (-3600, "-3600s"),
        (60, "1m"),
        (90, "1m30s"),
        (80.123456, "1m20s"),
        (3599, "59m59s"),
        (3600, "1h"),
        (3659, "1h"),
        (7200, "2h"),
        (7500, "2h5m"),
        (7559.9, "2h5m"),
        (86399, "23h59m"),
        (86400, "1d"),
        (3 * 86400, "3d"),
        (3 * 86400 + 3599, "3d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (3 * 86400 + 4 * 3600 + 59 * 60 + 59, "3d4h"),
        (400 * 86400, "400d"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert helpers.format_duration(seconds) == expected


@pytest.mark.parametrize("value", [None, True, "90", [90], float("nan"), float("inf")])
def test_format_duration_rejects_non_numbers(value: Any) -> None:
    with pytest.raises(HelperError):
        helpers.format_duration(value)


# --- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-08T10:50:50Z", datetime(2025, 6, 8, 10, 50, 50, tzinfo=timezone.utc)),
        ("2025-06-08t10:50:50z", datetime(2025, 6, 8, 10, 50, 50, tzinfo=timezone.utc)),
        (
            "2025-06-08T10:50:50.1Z",
            datetime(2025, 6, 8, 10, 50, 50, 100000, tzinfo=timezone.utc),
        ),
        (
            "2025-06-08T10:50:50.123456789+00:00",
            datetime(2025, 6, 8, 10, 50, 50, 123456, tzinfo=timezone.utc),
        ),
        (
            "2025-06-08T10:50:50+02:00",
            datetime(2025, 6, 8, 10, 50, 50, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2025-06-08T10:50:50-05:30",
            datetime(2025, 6, 8, 10, 50, 50, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = helpers.parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2025-06-08",
        "2025-06-08T10:50:50",
        "2025-06-08 10:50:50Z",
        "2025-13-08T10:50:50Z",
        "2025-02-30T10:50:50Z",
        "2025-06-08T24:00:00Z",
        "2025-06-08T10:50:50+24:00",
        "2025-06-08T10:50:50.Z",
        "2025-06-08T10:50:50Z ",
        "not a timestamp",
    ],
)
def test_parse_timestamp_rejects(text: str) -> None:
    assert helpers.parse_timestamp(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-08T10:50:50Z", "2025-06-08 10:50"),
        ("2025-06-08T10:50:50.999999Z", "2025-06-08 10:50"),
        ("2025-06-08T23:30:00-02:00", "2025-06-08 23:30"),
        ("0987-01-02T03:04:05Z", "0987-01-02 03:04"),
        ("yesterday", "yesterday"),
        (5, 5),
        (None, None),
    ],
)
def test_format_timestamp(value: Any, expected: Any) -> None:
    assert helpers.format_timestamp(value) == expected


def test_format_utc() -> None:
    assert helpers.format_utc(NOW) == "2025-06-08T12:00:00Z"
    assert helpers.format_utc(NOW.replace(microsecond=5)) == "2025-06-08T12:00:00.000005Z"
    local = datetime(2025, 6, 8, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert helpers.format_utc(local) == "2025-06-08T12:00:00Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-08T11:58:30Z", "1m30s"),
        ("2025-06-08T13:58:30+02:00", "1m30s"),
        ("2025-06-08T12:01:30Z", "-90s"),
        ("2025-06-08T12:01:30.5Z", "-90s"),
        ("2025-06-05T08:00:00Z", "3d4h"),
        ("soon", "soon"),
        (42, 42),
        (None, None),
    ],
)
def test_timeago(value: Any, expected: Any) -> None:
    assert helpers.timeago(value, NOW) == expected


# --- string filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a/b/", "b"),
        ("a/b/.", "b"),
        ("/", "/"),
        ("x", "x"),
        ("", ""),
        ("./.", "./."),
        ("a/..", "a/.."),
        ("/srv/logs/worker.log", "worker.log"),
        ("https://example.com/x/merge_requests/42", "42"),
    ],
)
def test_basename(value: str, expected: str) -> None:
    assert helpers.basename(value) == expected


@pytest.mark.parametrize("value", [None, 5, ["a"]])
def test_basename_rejects_non_strings(value: Any) -> None:
    with pytest.raises(HelperError):
        helpers.basename(value)


@pytest.mark.parametrize(
    ("value", "length", "expected"),
    [
        ("abc", 3, "abc"),
        ("abcd", 3, "abc..."),
        ("ééé", 2, "éé..."),
        ("abc", 0, "..."),
        ("", 0, ""),
        ("a" * 100, 100, "a" * 100),
        ("a" * 101, 100, "a" * 100 + "..."),
        ("a" * 101, -1, "a" * 100 + "..."),
        ("a" * 101, "5", "a" * 100 + "..."),
        ("a" * 101, 5.0, "a" * 100 + "..."),
        ("a" * 101, True, "a" * 100 + "..."),
        ("a" * 101, None, "a" * 100 + "..."),
    ],
)
def test_summarize(value: str, length: Any, expected: str) -> None:
    assert helpers.summarize(value, length) == expected


def test_summarize_default_length_and_type_check() -> None:
    assert helpers.summarize("b" * 150) == "b" * 100 + "..."
    with pytest.raises(HelperError):
        helpers.summarize(12)


# --- tojson ------------------------------------------------------------------------------------


def test_to_json_compact_sorted_and_html_safe() -> None:
    value = {"b": 1, "a": "<&>'\"é", "c": [1, 2.5, None, True, {"z": 0, "y": []}]}
    assert helpers.to_json(value) == (
        '{"a":"\\u003c\\u0026\\u003e\\u0027\\"é","b":1,"c":[1,2.5,null,true,{"y":[],"z":0}]}'
    )


def test_to_json_indent() -> None:
    value = {"b": [1, {}], "a": None}
    assert helpers.to_json(value, 2) == '{\n  "a": null,\n  "b": [\n    1,\n    {}\n  ]\n}'
    assert helpers.to_json(value, 1) == '{\n "a": null,\n "b": [\n  1,\n  {}\n ]\n}'


@pytest.mark.parametrize("indent", [0, -2, "2", 2.0, True, None])
def test_to_json_invalid_indent_is_compact(indent: Any) -> None:
    assert helpers.to_json({"b": 1, "a": [2]}, indent) == '{"a":[2],"b":1}'


def test_to_json_scalars() -> None:
    assert helpers.to_json("x") == '"x"'
    assert helpers.to_json(None) == "null"
    assert helpers.to_json(False) == "false"


# --- classify_result_code ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "transient", "expected"),
    [
        ("success", None, "success"),
        ("success", True, "success"),
        ("nothing-to-do", None, "nothing-to-do"),
        ("nothing-new-to-do", False, "nothing-new-to-do"),
        ("worker-failure", None, "bug"),
        ("worker-killed", None, "bug"),
        ("worker-killed", False, "bug"),
        ("chroot-not-found", True, "bug"),
        ("worker-timeout", None, "transient-failure"),
        ("branch-temporarily-unavailable", None, "transient-failure"),
        ("worker-timeout", False, "failure"),
        ("build-failed", None, "failure"),
        ("build-failed", True, "transient-failure"),
        ("build-failed", "yes", "transient-failure"),
        ("build-failed", 1, "transient-failure"),
        ("build-failed", [0], "transient-failure"),
        ("worker-timeout", 0, "failure"),
        ("worker-timeout", 0.0, "failure"),
        ("worker-timeout", "", "failure"),
        ("worker-timeout", [], "failure"),
        ("worker-timeout", {}, "failure"),
    ],
)
def test_classify_result_code(code: str, transient: Any, expected: str) -> None:
    assert helpers.classify_result_code(code, transient) == expected


def test_classify_result_code_lists() -> None:
    assert len(helpers.BUG_RESULT_CODES) == 6
    assert len(helpers.TRANSIENT_RESULT_CODES) == 27
    for code in helpers.TRANSIENT_RESULT_CODES - helpers.BUG_RESULT_CODES:
        assert helpers.classify_result_code(code) == "transient-failure"
    with pytest.raises(HelperError):
        helpers.classify_result_code(None)


# --- functions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("index", "/"),
        ("about", "/about"),
        ("pkg_list", "/pkg"),
        ("api_health", "/api/health"),
        ("run", "/run"),
        ("lintian-fixes", "/lintian-fixes"),
    ],
)
def test_url_for(endpoint: str, expected: str) -> None:
    assert helpers.url_for(endpoint) == expected


def test_url_for_rejects_non_strings() -> None:
    with pytest.raises(HelperError):
        helpers.url_for(None)


def test_enumerate_array() -> None:
    assert helpers.enumerate_array(["a", "b"]) == [{"0": 0, "1": "a"}, {"0": 1, "1": "b"}]
    assert helpers.enumerate_array(["a"], 5) == [{"0": 5, "1": "a"}]
    assert helpers.enumerate_array([]) == []
    for bad_start in (-1, "1", 1.5, True, None):
        assert helpers.enumerate_array(["a"], bad_start) == [{"0": 0, "1": "a"}]
    for not_array in (None, "ab", {"a": 1}, 3):
        with pytest.raises(HelperError):
            helpers.enumerate_array(not_array)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://worker.example.org/logs", True),
        ("http://172.17.0.1:8080/", True),
        ("http://192.168.1.10:8080/", False),
        ("http://10.0.0.1/", False),
        ("http://172.16.4.2/", False),
        ("http://localhost:9000/", False),
        ("http://LOCALHOST/", False),
        ("http://127.0.0.1/", False),
        ("http://user@127.0.0.1:80/", False),
        ("not a url", False),
        ("http://", False),
        ("http://[::1/", False),
        ("", False),
        ("HTTPS://worker.example.org/", True),
        ("javascript://worker.example.org/%0aalert(1)", False),
        ("ftp://worker.example.org/", False),
        ("data://worker.example.org/,x", False),
    ],
)
def test_worker_link_is_global(url: str, expected: bool) -> None:
    assert helpers.worker_link_is_global(url) is expected


def test_worker_link_is_global_rejects_non_strings() -> None:
    with pytest.raises(HelperError):
        helpers.worker_link_is_global(None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://salsa.debian.org/jelmer/dulwich", "https://salsa.debian.org/jelmer/dulwich"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("  http://example.org/a b \n", "  http://example.org/a b \n"),
        ("javascript:alert(1)", "#"),
        ("javascript://example.org/%0aalert(1)", "#"),
        (" JavaScript:alert(1)", "#"),
        ("data:text/html,<script>alert(1)</script>", "#"),
        ("vbscript:msgbox(1)", "#"),
        ("//example.org/path", "#"),
        ("/relative/path", "#"),
        ("http://", "#"),
        ("http:///path", "#"),
        ("http://[::1", "#"),
        ("", "#"),
        (None, "#"),
        (42, "#"),
        (["https://example.org"], "#"),
    ],
)
def test_safe_url(value: object, expected: str) -> None:
    assert helpers.safe_url(value) == expected


def test_get_flashed_messages() -> None:
    assert helpers.get_flashed_messages() == []


def test_is_number() -> None:
    assert helpers.is_number(1) and helpers.is_number(1.5)
    assert not helpers.is_number(True)
    assert not helpers.is_number("1")
    assert not helpers.is_number(None)
