"""The stored-bytes codec on its own: compressed only when it pays, byte-exact both ways, and
never fooled by bytes that look like its own format."""

from __future__ import annotations

import os

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxkit.store import rawcodec
from inboxkit.store.rawcodec import IDENTITY, ZSTD, CorruptContent

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

TEXT_MAIL = (
    b"From: billing@example.com\r\nTo: someone@inboxkit.localhost\r\nSubject: Your invoice\r\n"
    b"\r\n" + b"Line item: one widget, quantity 1, price 10.00 EUR\r\n" * 80
)


def test_compressible_mail_is_stored_as_a_zstd_frame_and_decodes_exactly():
    stored = rawcodec.encode(TEXT_MAIL)
    assert stored.encoding == ZSTD
    assert len(stored.data) < len(TEXT_MAIL) // 5
    assert rawcodec.decode(stored.encoding, stored.data, len(TEXT_MAIL)) == TEXT_MAIL


def test_tiny_and_incompressible_bytes_are_stored_as_received():
    tiny = b"Subject: x\r\n\r\nhi\r\n"
    noise = b"Subject: noise\r\n\r\n" + os.urandom(20_000)
    for raw in (tiny, noise, b""):
        stored = rawcodec.encode(raw)
        assert stored.encoding == IDENTITY and stored.data == raw
        assert rawcodec.decode(IDENTITY, stored.data, len(raw)) == raw


def test_bytes_that_start_with_zstds_magic_number_are_never_taken_for_a_frame():
    # A complete, valid zstd frame of something else, received as a message: kept as it is
    # (too small to compress) and read back as those very bytes, not as what it decompresses to.
    frame = zstandard.ZstdCompressor().compress(b"not what was received")
    assert frame.startswith(ZSTD_MAGIC)
    stored = rawcodec.encode(frame)
    assert stored.encoding == IDENTITY
    assert rawcodec.decode(stored.encoding, stored.data, len(frame)) == frame

    # The same bytes leading a large compressible message: compressed, and decoded exactly.
    raw = frame + TEXT_MAIL
    stored = rawcodec.encode(raw)
    assert stored.encoding == ZSTD
    assert rawcodec.decode(stored.encoding, stored.data, len(raw)) == raw


def test_a_frame_that_does_not_decode_to_the_recorded_size_is_refused():
    stored = rawcodec.encode(TEXT_MAIL)
    with pytest.raises(CorruptContent):
        rawcodec.decode(ZSTD, stored.data, len(TEXT_MAIL) - 1)
    with pytest.raises(CorruptContent):
        rawcodec.decode(ZSTD, stored.data[:-8], len(TEXT_MAIL))
    with pytest.raises(CorruptContent):
        rawcodec.decode(7, stored.data, len(TEXT_MAIL))


def test_a_frame_without_a_content_size_cannot_make_decoding_allocate_past_the_recorded_size():
    streamed = zstandard.ZstdCompressor(write_content_size=False).compress(b"A" * 10_000_000)
    with pytest.raises(CorruptContent):
        rawcodec.decode(ZSTD, streamed, 1000)


def test_attachments_are_encoded_one_by_one_and_already_compressed_types_are_not_tried():
    csv = b"date,amount,currency\r\n" + b"2026-01-01,10.00,EUR\r\n" * 500
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000  # compressible bytes, but typed as a PNG
    blob, layout = rawcodec.encode_parts(
        [("text/csv", csv), ("image/png", png), ("application/octet-stream", os.urandom(3000))]
    )
    assert layout is not None
    assert [encoding for encoding, _ in layout] == [ZSTD, IDENTITY, IDENTITY]
    assert layout[1][1] == len(png) and layout[2][1] == 3000
    assert sum(length for _, length in layout) == len(blob)
    first = blob[: layout[0][1]]
    assert rawcodec.decode(ZSTD, first, len(csv)) == csv
    assert blob[layout[0][1] : layout[0][1] + len(png)] == png


def test_attachments_none_of_which_compress_keep_the_plain_layout():
    parts = [("application/pdf", b"%PDF-1.7" + b"0" * 4000), ("text/plain", b"short")]
    blob, layout = rawcodec.encode_parts(parts)
    assert layout is None
    assert blob == b"".join(data for _, data in parts)


@pytest.mark.parametrize(
    ("content_type", "tried"),
    [
        ("text/plain; charset=utf-8", True),
        ("application/octet-stream", True),
        ("image/svg+xml", True),
        ("IMAGE/JPEG", False),
        ("application/zip", False),
        ("application/pdf", False),
        ("video/mp4", False),
    ],
)
def test_only_types_that_may_compress_are_tried(content_type: str, tried: bool):
    assert rawcodec.worth_trying(content_type) is tried


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=40))
def test_any_bytes_round_trip_exactly(data: bytes, repeat: int):
    raw = data * repeat + data
    stored = rawcodec.encode(raw)
    assert rawcodec.decode(stored.encoding, stored.data, len(raw)) == raw
