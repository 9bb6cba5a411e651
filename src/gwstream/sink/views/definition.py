"""What a view is (:class:`View`, made with :func:`make_view`), and the SQL pieces
several views share."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class View:
    name: str
    """What the CLI and the API call it."""
    relation: str
    """Its name in the database file."""
    description: str
    query: str
    """Over ``costs``, ``audits`` and ``notices``."""
    order_by: str
    columns: tuple[str, ...]
    #: Columns holding money (Decimal), for renderers.
    money: frozenset[str] = frozenset()
    #: Rows a read returns when it names no limit (None: all).
    default_limit: int | None = None
    #: Costs are counted by the day the processor handled the turn (``produced_at``, the
    #: window budgets and limits count), so a date range narrows them by that day too.
    by_processing_day: bool = False


def make_view(
    name: str,
    relation: str,
    description: str,
    query: str,
    order_by: str,
    columns: Sequence[str],
    money: Collection[str] = (),
    default_limit: int | None = None,
    by_processing_day: bool = False,
) -> View:
    return View(
        name,
        relation,
        description,
        query,
        order_by,
        tuple(columns),
        frozenset(money),
        default_limit,
        by_processing_day,
    )


DAY = "CAST(timezone('UTC', occurred_at) AS DATE)"
AUDIT_DAY = "CAST(timezone('UTC', produced_at) AS DATE)"


def rfc3339(column: str) -> str:
    """SQL for a TIMESTAMPTZ ``column`` as the events write instants: RFC 3339 in UTC with a
    ``Z`` and microseconds (a plain VARCHAR cast gives ``2026-12-07 02:33:55.285943+00``)."""
    return f"strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%S.%fZ')"


#: A turn the gateway answered: a call was made and billed (not a cache hit, not refused
#: or failed). Older events without a status count when they have tokens.
ANSWERED = (
    "NOT cached AND (status IN ('ok', 'invalid_output') OR (status IS NULL AND input_tokens > 0))"
)
