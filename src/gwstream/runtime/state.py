"""Per-partition key state, as bytes: the bookkeeping half of the state store.

The runtime keeps one :class:`StateStore` per assigned input partition. It
knows nothing of what a value means (the pipeline decides that); it knows
when each key last changed, how many changes were written since the last
snapshot, and which keys have been idle long enough to expire. The changelog
I/O lives in :mod:`gwstream.runtime.changelog`; this module does no I/O, so it
is tested by moving clocks.
"""

from __future__ import annotations

from collections.abc import Iterator


class KeyState:
    """One key's state as a handler sees it while it processes a record.

    ``value`` is the state before the record (None: the key has none). A
    handler calls :meth:`set` or :meth:`delete` to change it; the runtime
    writes the change to the changelog with the record's outputs, and the
    record only counts as done once the broker acknowledged both.
    """

    __slots__ = ("changed", "value")

    def __init__(self, value: bytes | None) -> None:
        self.value = value
        self.changed = False

    def set(self, value: bytes) -> None:
        self.value = value
        self.changed = True

    def delete(self) -> None:
        self.value = None
        self.changed = True


class StateStore:
    """Key -> value bytes for one partition, with each key's last change time.

    Times are seconds on the wall clock (the changelog records' timestamps
    carry them across restarts), passed in by the caller.
    """

    __slots__ = ("_touched", "_values", "changes_since_snapshot")

    def __init__(self) -> None:
        self._values: dict[bytes, bytes] = {}
        self._touched: dict[bytes, float] = {}
        #: Change records written or read since the last snapshot began.
        self.changes_since_snapshot = 0

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: bytes) -> bool:
        return key in self._values

    def get(self, key: bytes) -> bytes | None:
        return self._values.get(key)

    def keys(self) -> list[bytes]:
        """A copy of the live keys (safe to iterate while the store changes)."""
        return list(self._values)

    def apply(self, key: bytes, value: bytes | None, at: float) -> None:
        """Apply one change, written by us or read back from the changelog."""
        if value is None:
            self._values.pop(key, None)
            self._touched.pop(key, None)
        else:
            self._values[key] = value
            self._touched[key] = at
        self.changes_since_snapshot += 1

    def bytes_held(self) -> int:
        """Bytes of values held (keys and dict overhead not included)."""
        return sum(len(v) for v in self._values.values())

    def idle(self, now: float, max_idle_s: float) -> Iterator[bytes]:
        """Keys unchanged for more than ``max_idle_s`` seconds."""
        cutoff = now - max_idle_s
        return (k for k, t in list(self._touched.items()) if t < cutoff)

    def snapshot_due(self, min_changes: int, ratio: float) -> bool:
        """Whether a snapshot would shorten a restore enough to be worth writing.

        A restore reads the last snapshot plus the changes after it; once those
        changes outnumber ``ratio`` times the live keys (and ``min_changes``),
        a new snapshot keeps restore time proportional to live keys.
        """
        return self.changes_since_snapshot >= max(min_changes, ratio * len(self._values))
