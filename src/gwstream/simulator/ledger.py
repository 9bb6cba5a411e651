"""What the simulator served, per vendor: the source of Cognigy metrics and Genesys telemetry.

Append-only and ordered oldest first, so page offsets and cursors stay valid
while new calls arrive: paging to the end returns every call exactly once.
Positions are absolute (counted since start or the last clear); past
``max_entries`` the oldest calls are forgotten and their positions read as
empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Ledger", "ServedCall"]

_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class ServedCall:
    """One gateway call that got past auth, with its real token counts.

    ``completion_tokens`` counts what was actually delivered (a cut stream
    counts only the chunks sent); ``status`` is the HTTP status (499 if the
    client went away first).
    """

    request_id: str
    timestamp: datetime
    route: str
    model: str | None
    prompt_id: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    status: int
    streamed: bool


class Ledger:
    __slots__ = ("_dropped", "_entries", "_max")

    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: list[ServedCall] = []
        self._dropped = 0

    def __len__(self) -> int:
        """Calls recorded since start or the last clear (forgotten ones included)."""
        return self._dropped + len(self._entries)

    def record(self, call: ServedCall) -> None:
        self._entries.append(call)
        if len(self._entries) > self._max:
            half = self._max // 2
            del self._entries[:half]
            self._dropped += half

    def clear(self) -> None:
        self._entries.clear()
        self._dropped = 0

    def slice(self, start: int, stop: int) -> list[ServedCall]:
        """Calls at absolute positions ``start`` (inclusive) to ``stop`` (exclusive)."""
        lo = max(start - self._dropped, 0)
        hi = max(stop - self._dropped, 0)
        return self._entries[lo:hi]

    def scan(
        self, start: int, limit: int, keep: Callable[[ServedCall], bool]
    ) -> tuple[list[ServedCall], int | None]:
        """Up to ``limit`` kept calls from position ``start`` on, and the position to resume
        from: None when no kept call follows the last one returned."""
        found: list[ServedCall] = []
        position = max(start, self._dropped)
        end = len(self)
        while position < end:
            call = self._entries[position - self._dropped]
            if keep(call):
                if len(found) == limit:
                    return found, position
                found.append(call)
            position += 1
        return found, None
