"""Which offset of a partition may be committed.

Records of one partition finish out of order (different sessions run
concurrently), so the committable offset is that of the first record not yet
done, never ``max(done) + 1``: committing past an unfinished record would lose
it in a crash.
"""

from __future__ import annotations

import base64
import zlib
from collections import deque
from collections.abc import Iterable


class OffsetTracker:
    """Fetched offsets of one partition, in fetch order, with a done mark each.

    ``add`` and ``mark_done`` are O(1) amortised: finished records are popped
    from the front as soon as everything before them is finished too.
    """

    __slots__ = ("_done", "_next", "_pending")

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._next: int | None = None

    def add(self, offset: int) -> None:
        """Track a fetched record. Offsets must increase (gaps are fine)."""
        last = self._pending[-1] if self._pending else self._next
        if last is not None and offset < last + (1 if self._pending else 0):
            raise ValueError(f"offset {offset} fetched after {last}: offsets must increase")
        self._pending.append(offset)

    def mark_done(self, offset: int) -> None:
        """Mark a tracked record finished (its outputs are acknowledged)."""
        self._done.add(offset)
        pending, done = self._pending, self._done
        while pending and pending[0] in done:
            first = pending.popleft()
            done.discard(first)
            self._next = first + 1

    def done_above(self) -> set[int]:
        """Offsets finished above the first unfinished record (a copy)."""
        return set(self._done)

    def committable(self) -> int | None:
        """The offset to commit: the first unfinished record, or one past the last fetched."""
        return self._pending[0] if self._pending else self._next

    def __len__(self) -> int:
        """Records fetched and not yet committable (the backpressure measure)."""
        return len(self._pending)


# -- finished offsets above the commit point, carried in the commit's metadata --------
#
# Records finish out of order, so at any commit some records above the commit
# point are already done. A new owner would replay them; carrying their
# offsets in the commit metadata (as Confluent's Parallel Consumer does) lets
# it skip them. The form: ``gw1:<base>:<base64 of zlib of a bitmap>`` where
# bit i says offset base + i is done. Brokers cap metadata (Kafka: 4096
# bytes by default), so the bitmap is cut at the highest offsets to fit; a
# cut offset is merely replayed (and answered from state).

_META_PREFIX = "gw1"
MAX_METADATA_CHARS = 3_000


def encode_done(base: int, done: Iterable[int], max_chars: int = MAX_METADATA_CHARS) -> str:
    """Metadata naming the finished offsets at or above ``base`` ("" when none)."""
    offsets = sorted(o - base for o in done if o >= base)
    while offsets:
        bits = bytearray(offsets[-1] // 8 + 1)
        for o in offsets:
            bits[o >> 3] |= 1 << (o & 7)
        text = f"{_META_PREFIX}:{base}:{base64.b64encode(zlib.compress(bytes(bits))).decode()}"
        if len(text) <= max_chars:
            return text
        offsets = offsets[: len(offsets) * 3 // 4]
    return ""


def decode_done(committed: int, metadata: str) -> set[int]:
    """The finished offsets named by ``metadata`` for a commit at ``committed``.

    Anything unreadable, or written for another commit point, names nothing:
    those records are replayed, which is always safe.
    """
    parts = metadata.split(":", 2)
    if len(parts) != 3 or parts[0] != _META_PREFIX or parts[1] != str(committed):
        return set()
    try:
        bits = zlib.decompress(base64.b64decode(parts[2], validate=True))
    except (ValueError, zlib.error):
        return set()
    return {
        committed + (i << 3) + b
        for i, byte in enumerate(bits)
        if byte
        for b in range(8)
        if byte >> b & 1
    }
