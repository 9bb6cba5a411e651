from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from gwstream.kafkaio import key_partitioner


def test_key_partitioner_matches_kafkas_default_partitioner() -> None:
    parts = list(range(12))
    default = DefaultPartitioner()
    for i in range(500):
        key = f"tenant-{i % 7}:session-{i}".encode()
        assert key_partitioner(key, parts, parts) == default(key, parts, parts)


def test_unkeyed_records_go_to_an_available_partition() -> None:
    assert key_partitioner(None, [0, 1, 2], [2]) == 2
