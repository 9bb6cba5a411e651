"""A long wait for partitions is reported once, and its end too; a fatal error that names
no cause is explained (no broker needed)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, UnknownError

from gwstream.config import KafkaSettings
from gwstream.runtime.processor import LONG_JOIN_S, Processor
from gwstream.runtime.publish import Fatal


def processor() -> Processor[Any]:
    return Processor(
        KafkaSettings(group_id="g-test", session_timeout_ms=6_000, heartbeat_interval_ms=1_000),
        input_topic="turns",
        dlq_topic="dlq",
        handler=None,  # type: ignore[arg-type]  # never called: nothing is fetched
    )


async def test_a_long_join_is_warned_once_and_its_end_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p = processor()
    with caplog.at_level("WARNING", logger="gwstream.runtime.processor"):
        p._report_long_join()
        assert caplog.records == []  # just started: a join takes seconds
        p._joining_since = time.monotonic() - LONG_JOIN_S - 1
        p._report_long_join()
        p._report_long_join()
        await p._on_assigned(set())
        p._report_long_join()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("still joining group g-test after 61s")
    assert "session_timeout_ms 6000" in messages[0]
    assert messages[1].startswith("joined group g-test after 61s")


@pytest.mark.parametrize(
    ("error", "hinted"), [(UnknownError(), True), (KafkaConnectionError("refused"), False)]
)
def test_a_broker_error_that_names_no_cause_is_explained(error: Exception, hinted: bool) -> None:
    p = processor()
    p._halt(error, "taking partitions")
    with pytest.raises(Fatal) as info:
        p._check_health()
    assert ("restart the broker, run `gwstream topics apply`" in str(info.value)) is hinted


async def test_partitions_assigned_while_stopping_are_not_taken_nor_logged_as_a_rejoin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aiokafka import TopicPartition

    p = processor()
    await p.stop()  # nothing started: the stop only marks it
    with caplog.at_level("INFO", logger="gwstream.runtime.processor"):
        await p._on_assigned({TopicPartition("turns", 0), TopicPartition("turns", 1)})
    assert p.stats.assigned == []
    assert not [r for r in caplog.records if "assigned partitions" in r.getMessage()]
