"""Turn ids that more than one session uses, noticed and logged.

A turn's output events take their ids from its turn id (so that a replay
yields the same ids and every consumer can dedupe on them), which makes turn
ids a contract: unique across sessions, not numbered within each. A platform
that numbers turns per conversation ("1", "2", ... in every session) would
otherwise lose costs without a word: the second session's turn "1" is called
and billed, but its cost event has the first's id and the sink drops it as a
duplicate. The processor cannot see every turn id ever used; it remembers
which session used each of the last :data:`KEPT` turn ids it handled and
logs a warning when another session uses one of them (the first time, then
at every power of ten, so a platform that numbers turns per session cannot
flood the log).
"""

from __future__ import annotations

import logging

from gwstream.events import TurnEvent
from gwstream.logs import turn_fields

log = logging.getLogger(__name__)

#: Turn ids remembered (about 2 MB for ids of 36 characters).
KEPT = 20_000


class TurnIdWatch:
    """Which session used each of the last :data:`KEPT` turn ids; ``reused`` counts the
    turns whose id another session had used."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._sessions: dict[str, str] = {}
        self.reused = 0

    def see(self, turn: TurnEvent) -> None:
        sessions = self._sessions
        key = turn.key
        before = sessions.get(turn.turn_id)
        if before is None:
            if len(sessions) >= self._kept:
                del sessions[next(iter(sessions))]  # the oldest
            sessions[turn.turn_id] = key
            return
        if before == key:
            return  # delivered again, or republished by its own session: answered from state
        sessions[turn.turn_id] = key
        self.reused += 1
        if _power_of_ten(self.reused):
            log.warning(
                "turn id %s was used by session %s and now by session %s: turn ids must be "
                "unique across sessions, since output event ids derive from them (the sink "
                "keeps only the first turn's cost); %d turns so far reused an id",
                turn.turn_id,
                before,
                key,
                self.reused,
                extra=turn_fields(turn),
            )


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1
