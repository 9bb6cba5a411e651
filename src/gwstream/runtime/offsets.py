"""Which offset of a partition may be committed.

Records of one partition finish out of order (different sessions run
concurrently), so the committable offset is that of the first record not yet
done, never ``max(done) + 1``: committing past an unfinished record would lose
it in a crash.
"""

from __future__ import annotations

from collections import deque


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

    def committable(self) -> int | None:
        """The offset to commit: the first unfinished record, or one past the last fetched."""
        return self._pending[0] if self._pending else self._next

    def __len__(self) -> int:
        """Records fetched and not yet committable (the backpressure measure)."""
        return len(self._pending)
