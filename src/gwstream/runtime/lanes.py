"""Bookkeeping of assigned partitions: per-key lanes of waiting records, in-flight work.

Pure data; the processor (:mod:`gwstream.runtime.processor`) does the I/O.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import TopicPartition

from gwstream.errors import PoisonRecord
from gwstream.runtime.offsets import OffsetTracker
from gwstream.runtime.records import InRecord
from gwstream.runtime.state import StateStore

T = TypeVar("T")


@dataclass(slots=True)
class Work(Generic[T]):
    record: InRecord
    item: T | None
    poison: PoisonRecord | None
    #: Fetch order across all partitions: the ready queue serves the oldest first.
    order: int = 0
    abandoned: bool = False


class Partition:
    __slots__ = (
        "committed",
        "dropped",
        "idle",
        "in_flight",
        "lanes",
        "paused",
        "restoring",
        "revoked",
        "skip",
        "snapshot",
        "store",
        "tp",
        "tracker",
    )

    def __init__(self, tp: TopicPartition, store: StateStore | None) -> None:
        self.tp = tp
        self.tracker = OffsetTracker()
        self.lanes: dict[bytes | None, Lane[Any]] = {}
        self.in_flight: dict[asyncio.Task[Any], Work[Any]] = {}
        self.revoked = False  # draining or gone: start nothing new
        self.dropped = False  # gone: results no longer count toward commits
        self.paused = False
        self.restoring = store is not None
        self.committed: tuple[int, str] | None = None
        self.idle = asyncio.Event()
        self.idle.set()
        self.store = store
        self.snapshot: asyncio.Task[int] | None = None
        #: Offsets a previous owner finished above its commit point: not replayed.
        self.skip: set[int] = set()


class Lane(Generic[T]):
    __slots__ = ("key", "part", "queue", "scheduled")

    def __init__(self, part: Partition, key: bytes | None) -> None:
        self.part = part
        self.key = key
        self.queue: deque[Work[T]] = deque()
        self.scheduled = False
