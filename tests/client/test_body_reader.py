"""``BodyReader``: what the client keeps of an answer's raw bytes (I/O-free)."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from janitor_site_django import exceptions
from janitor_site_django.client import operations as ops
from janitor_site_django.client._wire import BodyReader

OP = ops.list_codebases()
ENCODE = {
    None: lambda data: data,
    "identity": lambda data: data,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "GZip ": gzip.compress,  # codings are case-insensitive
}


def _read(raw: bytes, cuts: list[int], limit: int, encoding: str | None) -> bytes:
    reader = BodyReader(OP, limit, encoding)
    edges = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    for start, end in zip(edges, edges[1:], strict=False):
        reader.add(raw[start:end])
    return reader.content()


@given(
    data=st.binary(max_size=5000) | st.builds(lambda n: b" " * n, st.integers(0, 200_000)),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    limit=st.integers(1024, 300_000),
    encoding=st.sampled_from(list(ENCODE)),
)
def test_the_body_is_the_decoded_bytes_or_refused_past_the_limit(
    data: bytes, cuts: list[int], limit: int, encoding: str | None
) -> None:
    raw = ENCODE[encoding](data)
    if len(data) <= limit:
        assert _read(raw, cuts, limit, encoding) == data
    else:
        with pytest.raises(exceptions.ResponseTooLarge, match=f"longer than {limit} bytes"):
            _read(raw, cuts, limit, encoding)


@pytest.mark.parametrize(
    ("encoding", "raw", "message"),
    [
        ("br", b"...", "'br' was not asked for"),
        ("gzip, gzip", b"...", "'gzip, gzip' was not asked for"),
        ("gzip", b"not gzip at all", "undecodable"),
    ],
)
def test_an_encoding_not_asked_for_or_undecodable_is_a_validation_error(
    encoding: str, raw: bytes, message: str
) -> None:
    with pytest.raises(exceptions.ResponseValidationError, match=message) as info:
        _read(raw, [], 10_000, encoding)
    assert info.value.field == "Content-Encoding"
    assert not isinstance(info.value, exceptions.ResponseTooLarge)
