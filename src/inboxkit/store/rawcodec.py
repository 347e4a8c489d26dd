"""How a message's bytes are kept in `contents`: zstd-compressed when that pays, else as they are.

Every write of raw bytes or prepared attachment bytes goes through `encode` (or `encode_parts`)
and every read through `decode` (or `decode_off_loop`), so there is one place that knows the
formats. The encoding is a column of its own (`contents.raw_encoding`, and per attachment in
`contents.attachment_layout`), never guessed from the bytes: a received message may start with
zstd's magic number like any other four bytes, and must come back exactly as it arrived.

- `IDENTITY` (0): the bytes as received. Rows stored before compression existed have it (the
  column's default), so they are read without being rewritten.
- `ZSTD` (1): one zstd frame at `LEVEL`, with its content size, and no dictionary (a trained
  dictionary was measured and did not pay: docs/benchmarks.md, "Storage").

Compressed bytes are kept only when they save at least `MIN_SAVING` of the size: mail that is
mostly base64 of JPEG, ZIP or PDF gains a few percent at most, and storing it as received then
costs no CPU on every read. Messages under `MIN_BYTES` are never compressed (the frame header
and the call cost more than they could save). Attachments of types that are compressed already
are not even tried.

Decoding is bounded: the stored size of the original is known (`contents.size`, or the
attachment's `size`), the frame must decode to exactly that many bytes, and no more is ever
allocated. zstandard releases the GIL while it works, so big payloads are (de)compressed in a
worker thread without holding up the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import zstandard

__all__ = [
    "IDENTITY",
    "LEVEL",
    "MIN_BYTES",
    "ZSTD",
    "CorruptContent",
    "Encoded",
    "decode",
    "decode_off_loop",
    "encode",
    "encode_off_loop",
    "encode_parts",
    "worth_trying",
]

IDENTITY = 0
ZSTD = 1
ENCODINGS = frozenset({IDENTITY, ZSTD})

# Level 3 (zstd's default): levels 1-6 store within a few percent of each other on mail, while
# the CPU per message grows several-fold past 3 (docs/benchmarks.md, "Storage").
LEVEL = 3
MIN_BYTES = 256
# Keep the compressed form only when it is at most 90% of the original.
MIN_SAVING = 0.10
# From this size on, (de)compression runs in a worker thread: compressing 64 KiB of mail takes
# about 0.25 ms of CPU at level 3 (decompressing a quarter of that), well over what the hop to a
# thread costs; below it, the hop would cost more than the work.
OFF_LOOP_BYTES = 64 * 1024

# Attachment types whose bytes are compressed already: zstd would spend CPU to save nothing.
_PACKED_TYPES = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/java-archive",
        "application/epub+zip",
    }
)
# Media that is compressed by its format; uncompressed bitmaps and SVG are the exceptions.
_PACKED_PREFIXES = ("image/", "audio/", "video/", "font/woff")
_UNPACKED_MEDIA = frozenset({"image/bmp", "image/x-ms-bmp", "image/svg+xml", "image/tiff"})


class CorruptContent(Exception):
    """Stored bytes that do not decode to what was stored: an unknown encoding, a damaged frame,
    or a length other than the recorded one. Never expected; raised rather than serving
    anything but the exact original."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """Bytes as they are stored, and how to read them back."""

    encoding: int
    data: bytes


# zstandard's compressor and decompressor objects are not safe to share between threads, and
# building one allocates its working memory: one of each per thread, made on first use.
_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    compressor: zstandard.ZstdCompressor | None = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(
            level=LEVEL, write_content_size=True, write_checksum=False
        )
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def encode(data: bytes) -> Encoded:
    """`data` as it should be stored: compressed when that saves at least `MIN_SAVING`."""
    if len(data) < MIN_BYTES:
        return Encoded(IDENTITY, data)
    packed = _compressor().compress(data)
    if len(packed) <= len(data) * (1 - MIN_SAVING):
        return Encoded(ZSTD, packed)
    return Encoded(IDENTITY, data)


async def encode_off_loop(data: bytes) -> Encoded:
    """`encode`, in a worker thread when `data` is big enough to hold up the event loop."""
    if len(data) < OFF_LOOP_BYTES:
        return encode(data)
    return await asyncio.to_thread(encode, data)


def decode(encoding: int, data: bytes, size: int) -> bytes:
    """The original bytes (exactly `size` of them) of something stored as `encoding`."""
    if encoding == IDENTITY:
        original = data
    elif encoding == ZSTD:
        try:
            # The frame records its content size; `max_output_size` bounds a frame that does
            # not, so a damaged row can never make us allocate more than the original's size.
            original = _decompressor().decompress(data, max_output_size=max(size, 1))
        except zstandard.ZstdError as exc:
            raise CorruptContent(f"a stored zstd frame does not decode: {exc}") from None
    else:
        raise CorruptContent(f"unknown stored encoding {encoding}")
    if len(original) != size:
        raise CorruptContent(f"stored bytes decode to {len(original)} bytes, not {size}")
    return original


async def decode_off_loop(encoding: int, data: bytes, size: int) -> bytes:
    """`decode`, in a worker thread when the result is big enough to hold up the event loop."""
    if encoding == IDENTITY or size < OFF_LOOP_BYTES:
        return decode(encoding, data, size)
    return await asyncio.to_thread(decode, encoding, data, size)


def worth_trying(content_type: str) -> bool:
    """Whether an attachment of this type may be compressible (not an archive, PDF or
    compressed media)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in _PACKED_TYPES:
        return False
    return kind in _UNPACKED_MEDIA or not kind.startswith(_PACKED_PREFIXES)


def encode_parts(parts: Sequence[tuple[str, bytes]]) -> tuple[bytes, list[list[int]] | None]:
    """Each attachment's `(content_type, decoded bytes)` encoded on its own and concatenated:
    (the stored bytes, each part's `[encoding, stored length]`). The layout is None when no
    part was compressed: the stored bytes are then the plain concatenation, whose offsets
    follow from the attachments' sizes as they always did.

    Parts are compressed separately so a download reads and decodes its own slice only."""
    stored = [
        encode(data) if worth_trying(content_type) else Encoded(IDENTITY, data)
        for content_type, data in parts
    ]
    blob = b"".join(item.data for item in stored)
    if all(item.encoding == IDENTITY for item in stored):
        return blob, None
    return blob, [[item.encoding, len(item.data)] for item in stored]
