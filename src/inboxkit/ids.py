"""Time-sortable identifiers.

Ids are ULID-shaped: 48 bits of Unix milliseconds then 80 random bits, written as 26 Crockford
base32 characters. Sorting ids as strings sorts by creation time, so newest-first listing and
cursors are plain index scans on the primary key. Within one process, ids minted in the same
millisecond are strictly increasing (the random part is incremented), so arrival order is exact.
Written by hand because the standard library has no UUIDv7 before Python 3.14 and the format is
a few lines.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id", "id_at", "id_time_ms", "is_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id() -> str:
    """A new 26-character id, greater than every id this process minted before."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            rand = _last_rand + 1
            if rand >> _RANDOM_BITS:  # 2**80 ids in one millisecond: borrow the next one
                now += 1
                rand = int.from_bytes(os.urandom(10), "big") >> 1
        else:
            # The top bit is left clear so increments within a millisecond cannot overflow.
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms, _last_rand = now, rand
        return _encode((now << _RANDOM_BITS) | rand)


def id_at(unix_ms: int) -> str:
    """The smallest id of millisecond `unix_ms`: `id > id_at(t)` selects ids minted from t on."""
    return _encode(max(unix_ms, 0) << _RANDOM_BITS)


def id_time_ms(value: str) -> int:
    """The creation time (Unix ms) embedded in an id."""
    number = 0
    for char in value[:10]:
        number = (number << 5) | _ALPHABET.index(char)
    return number >> 2


def is_id(value: str) -> bool:
    return len(value) == 26 and all(char in _ALPHABET for char in value)
