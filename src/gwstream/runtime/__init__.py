"""The stream runtime: fetch loop, per-key lanes, offset tracking, commits, dead letters.

It knows nothing of LLMs: a :class:`RecordHandler` decodes records and turns
them into output records; the runtime guarantees per-key order, bounded
concurrency and at-least-once delivery around it.
"""

from __future__ import annotations

from gwstream.runtime.offsets import OffsetTracker
from gwstream.runtime.processor import Processor
from gwstream.runtime.records import InRecord, OutRecord, RecordHandler, RuntimeStats
from gwstream.runtime.state import KeyState, StateStore

__all__ = [
    "InRecord",
    "KeyState",
    "OffsetTracker",
    "OutRecord",
    "Processor",
    "RecordHandler",
    "RuntimeStats",
    "StateStore",
]
