"""What the runtime exchanges with its handler, and the counters it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from gwstream.runtime.state import KeyState

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InRecord:
    """An input record as the handler sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class OutRecord:
    """A record to publish before the input record counts as done."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class RecordHandler(Protocol[T]):
    """What the runtime calls; the stages live behind it.

    ``decode`` runs in the fetch loop, so it must be quick and must not block;
    it raises :class:`PoisonRecord` for input that can never be processed.
    ``handle`` runs in a worker, one record of a key at a time, and returns the
    records to publish; it may change the key's ``state`` (which the runtime
    then writes to the changelog with the outputs). An exception from it
    dead-letters the record (``handler_error``), its state unchanged, rather
    than stopping the partition.
    """

    def decode(self, record: InRecord) -> T: ...

    async def handle(self, item: T, record: InRecord, state: KeyState) -> Sequence[OutRecord]: ...


@dataclass(slots=True)
class RuntimeStats:
    """Counters for progress displays and benchmarks (single event loop, no locks)."""

    fetched: int = 0
    processed: int = 0
    dead_lettered: int = 0
    handler_errors: int = 0
    outputs: int = 0
    in_flight: int = 0
    #: The adaptive bound on in_flight (see runtime.limiter) and the loop lag it last saw.
    in_flight_limit: int = 0
    #: Times the broker stopped answering (dispatch paused, readiness false).
    broker_outages: int = 0
    #: Whether the broker answers (False from an outage noticed until it answers again).
    broker_available: bool = True
    loop_lag_s: float = 0.0
    queued: int = 0
    commits: int = 0
    pauses: int = 0
    rebalances: int = 0
    draining: int = 0
    assigned: list[int] = field(default_factory=list)
    paused: set[int] = field(default_factory=set)
    handle_seconds: float = 0.0
    skipped: int = 0
    restored_keys: int = 0
    restored_records: int = 0
    expired: int = 0
    snapshots: int = 0
    state_keys: int = 0
    #: Times a key arrived on a partition that Kafka's default (murmur2) partitioning does
    #: not give it, with no record of it waiting there: a producer partitions otherwise, and
    #: a key on two partitions has two states.
    misplaced_keys: int = 0
