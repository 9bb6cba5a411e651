"""Small aiokafka helpers shared by the processor, the sink, the demo and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, KafkaTimeoutError, for_code
from aiokafka.partitioner import murmur2
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String
from aiokafka.structs import OffsetAndMetadata

from gwstream.config import KafkaSettings
from gwstream.errors import BrokerError

log = logging.getLogger(__name__)


class _Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def start_client(client: _Startable, kafka: KafkaSettings) -> None:
    """Start an aiokafka client; on failure close it and raise a BrokerError naming the servers."""
    try:
        await client.start()
    except KafkaError as exc:
        with contextlib.suppress(Exception):
            await client.stop()
        secured = ""
        if kafka.security_protocol != "PLAINTEXT":
            # A listener that speaks another protocol (or SASL mechanism) looks unreachable
            # too; aiokafka's own error line just before this one names the cause.
            secured = (
                f", and that its listener speaks {kafka.security_protocol}"
                + (f" with {kafka.sasl_mechanism}" if kafka.sasl_mechanism else "")
                + " (kafka.security_protocol, kafka.sasl_mechanism; the client's error above "
                "says what it answered)"
            )
        raise BrokerError(
            f"cannot reach Kafka at {kafka.bootstrap_servers!r} ({type(exc).__name__}): "
            "check kafka.bootstrap_servers (GWSTREAM_KAFKA__BOOTSTRAP_SERVERS) and that the "
            f"broker is up{secured}"
        ) from None
    except BaseException:
        with contextlib.suppress(Exception):
            await client.stop()
        raise


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def key_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """Kafka's default (murmur2) key partitioning, with the hash cached per key.

    aiokafka computes murmur2 in pure Python; each turn writes several records
    with one key, and sessions send many turns, so the cache pays for itself.
    """
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[key_partition(key, len(all_partitions))]


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of ``partitions`` that Kafka's default partitioner gives ``key``."""
    return _key_hash(key) % partitions


def make_producer(kafka: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas, never idempotent (Tansu rejects it)."""
    opts: dict[str, Any] = {
        **kafka.client_options(),
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "request_timeout_ms": kafka.request_timeout_ms,
        "partitioner": key_partitioner,
        "compression_type": None if kafka.compression_type == "none" else kafka.compression_type,
    }
    opts.update(overrides)
    return AIOKafkaProducer(**opts)


def make_consumer(
    kafka: KafkaSettings, *topics: str, group_id: str | None, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that never auto-commits: gwstream commits what it has finished."""
    opts: dict[str, Any] = {
        **kafka.client_options(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": kafka.session_timeout_ms,
        "heartbeat_interval_ms": kafka.heartbeat_interval_ms,
        "max_poll_interval_ms": 300_000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
    }
    opts.update(overrides)
    return AIOKafkaConsumer(*topics, **opts)


async def fetch(
    consumer: AIOKafkaConsumer, stop: asyncio.Event, *, timeout_ms: int, max_records: int
) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    """``consumer.getmany``, returning nothing as soon as ``stop`` is set.

    aiokafka's getmany ignores its timeout while the group rebalances (it waits
    for the new assignment), so a join the broker holds open (for a member that
    died, up to the group's rebalance timeout) would hold a stop signal with it.
    """
    if stop.is_set():
        return {}
    getting = asyncio.ensure_future(
        consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
    )
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((getting, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not getting.done():
            getting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getting
    return getting.result() if not getting.cancelled() else {}


async def close_consumer(consumer: AIOKafkaConsumer, kafka: KafkaSettings) -> None:
    """``consumer.stop()`` (leave the group, close), bounded by ``kafka.close_timeout_s``.

    aiokafka lets a group join already sent finish before it leaves, and the
    broker may hold a join open for minutes. Past the bound the consumer closes
    without leaving: the broker drops the member after ``session_timeout_ms``,
    as it would a crashed one, and nothing committed is lost.
    """
    try:
        await asyncio.wait_for(consumer.stop(), kafka.close_timeout_s)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are cancelled (a second signal): stop now
        # aiokafka's stop() lets out the cancellation of its own fetch task when the broker
        # is gone, which would end a clean stop as if by a second signal (exit 130).
        log.warning(
            "closing the consumer of group %s ended early (the broker is away): what was not "
            "committed is replayed by the next owner, once the broker drops this member",
            kafka.group_id,
        )
        await _close_connections(consumer)
    except TimeoutError:
        log.warning(
            "leaving consumer group %s took over %.0fs (the broker did not answer, or held a "
            "group join open); closed without leaving: the group rebalances once the broker "
            "drops this member after kafka.session_timeout_ms",
            kafka.group_id,
            kafka.close_timeout_s,
        )
        await _close_connections(consumer)


async def close_producer(producer: AIOKafkaProducer, kafka: KafkaSettings) -> None:
    """``producer.stop()`` (deliver what it holds, close), bounded by
    ``kafka.close_timeout_s``.

    With the broker away, aiokafka's stop waits for each request held to time
    out (``request_timeout_ms``, maybe more than once): a clean stop that took
    over a minute, past any grace period. Past the bound the producer closes
    with its records undelivered: they belong to turns not committed, which the
    next owner processes again (answering from state what had been answered).
    """
    try:
        await asyncio.wait_for(producer.stop(), kafka.close_timeout_s)
    except TimeoutError:
        log.warning(
            "the producer could not deliver what it held within %.0fs (the broker does not "
            "answer); closed without it: those turns were not committed and are processed "
            "again by the next owner",
            kafka.close_timeout_s,
        )
        # aiokafka's sender, cancelled, still waits for its requests in flight: closing
        # the connections first fails them, so it ends at once.
        sender = getattr(getattr(producer, "_sender", None), "sender_task", None)
        if sender is not None:
            sender.cancel()
        with contextlib.suppress(Exception):
            await producer.client.close()
        if sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, kafka.close_timeout_s)


async def _close_connections(consumer: AIOKafkaConsumer) -> None:
    """Close the connections a ``stop()`` that did not finish left open."""
    client = getattr(consumer, "_client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.close()


async def read_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float = 30.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning of every partition until ``until(records)`` holds.

    Uses manual assignment, no group. Raises TimeoutError with what was read
    when the condition does not hold in time. (End offsets are not used: the
    embedded broker reports them short.)
    """
    consumer = make_consumer(kafka, group_id=None)
    await start_client(consumer, kafka)
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = await partitions_of(consumer, topic, timeout_s)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout_s
        while not until(records):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"read {len(records)} records from {topic}; condition not met in {timeout_s}s"
                )
            batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


#: How long a topic the cluster does not list may take to appear (a topic created a
#: moment ago reaches every broker's metadata within this) before it counts as missing.
ABSENT_GRACE_S = 2.0


async def partitions_of(
    consumer: AIOKafkaConsumer, topic: str, timeout_s: float
) -> list[TopicPartition]:
    """The partitions of ``topic``, waiting for metadata; TimeoutError if it has none.

    A topic the cluster does not list fails after :data:`ABSENT_GRACE_S`, not
    after ``timeout_s``: an operator who forgot ``gwstream topics apply`` hears so
    at once."""
    started = time.monotonic()
    deadline = started + timeout_s
    absent_deadline = started + min(ABSENT_GRACE_S, timeout_s)
    # Fresh metadata of every topic each time, never the client's cached metadata (it may
    # describe a broker that since lost its topics: an in-memory broker restarted), and
    # never a request naming the topic: a broker that auto-creates topics would create
    # it then, with its default partitions. Read into a copy of its own: updating the
    # consumer's own during a rebalance callback stalls its fetches.
    while True:
        metadata = await consumer._client.fetch_all_metadata()
        parts = metadata.partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"topic {topic} has no partitions")
        if now > absent_deadline and topic not in metadata.topics():
            raise TimeoutError(f"topic {topic} does not exist")
        await asyncio.sleep(0.05)


def describe(partitions: Iterable[TopicPartition]) -> str:
    """Partitions for a log line, per topic: ``gw.costs.v1[0, 1, 2], gw.audit.v1[0]``."""
    by_topic: dict[str, list[int]] = {}
    for tp in partitions:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return ", ".join(f"{t}{sorted(ps)}" for t, ps in sorted(by_topic.items())) or "none"


def lost_topics(topic: str, have: int, missing: Sequence[int], consequence: str) -> BrokerError:
    """The error for partitions of ``topic`` a broker no longer has (it has ``have``): it
    lost or recreated its topics (an in-memory broker restarted, or one auto-created them
    with its defaults)."""
    return BrokerError(
        f"topic {topic} has {have} partitions, none numbered {list(missing)}: the broker "
        f"lost or recreated its topics (an in-memory broker restarted?), so {consequence}; "
        "create the topics again (`gwstream topics apply`; on the embedded broker, restart "
        "it first) and restart"
    )


async def check_held(client: Any, held: Iterable[TopicPartition], consequence: str) -> None:
    """Raise :func:`lost_topics` when fresh metadata from ``client`` (an aiokafka client)
    lacks a partition in ``held``: its broker lost or recreated the topics, and a group
    member's stale metadata can keep handing out partitions that never deliver."""
    metadata = await client.fetch_all_metadata()
    wanted: dict[str, set[int]] = {}
    for tp in held:
        wanted.setdefault(tp.topic, set()).add(tp.partition)
    for topic, partitions in sorted(wanted.items()):
        have = metadata.partitions_for_topic(topic) or set()
        if missing := sorted(partitions - have):
            raise lost_topics(topic, len(have), missing, consequence)


async def commit_within(
    consumer: AIOKafkaConsumer,
    offsets: Mapping[TopicPartition, OffsetAndMetadata],
    timeout_s: float,
) -> None:
    """``consumer.commit(offsets)``, given up after ``timeout_s`` (KafkaTimeoutError): the
    client retries a commit for partitions the broker no longer has (it restarted empty)
    for as long as it is let, and a service stopping must not wait on it for ever."""
    try:
        await asyncio.wait_for(consumer.commit(dict(offsets)), timeout_s)
    except TimeoutError:
        # aiokafka shields the commit request's own task from our cancellation: it goes on,
        # and when it fails (the broker never answers) nobody would read its error, which
        # asyncio then logs as "Task exception was never retrieved" with a traceback.
        for task in asyncio.all_tasks():
            if getattr(task.get_coro(), "__qualname__", "").endswith("._do_commit_offsets"):
                task.add_done_callback(_abandoned_commit_ended)
        raise KafkaTimeoutError(f"offset commit unanswered after {timeout_s:g}s") from None


def _abandoned_commit_ended(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.info("an offset commit given up on ended later: %r", exc)


async def require_partitions(
    consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 15.0
) -> list[TopicPartition]:
    """:func:`partitions_of`, with a missing topic a BrokerError that says what to run."""
    try:
        return await partitions_of(consumer, topic, timeout_s)
    except TimeoutError:
        raise BrokerError(f"topic {topic} does not exist: run `gwstream topics apply`") from None


async def settle(futures: Sequence[asyncio.Future[Any]]) -> list[Any]:
    """Wait for every future; then raise the first failure, if any.

    Stopping at the first failure would leave the others' exceptions never
    retrieved (asyncio logs them) and their records in an unknown state.
    """
    results = await asyncio.gather(*futures, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


async def send_all(
    producer: AIOKafkaProducer,
    records: Iterable[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]],
) -> int:
    """Send (topic, key, value, headers) records and wait until the broker acknowledged all."""
    futures = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for topic, key, value, headers in records
    ]
    await settle(futures)
    return len(futures)


async def publish(
    kafka: KafkaSettings,
    records: Iterable[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]],
) -> int:
    """Publish records with a short-lived producer; return once all are acknowledged."""
    producer = make_producer(kafka)
    await start_client(producer, kafka)
    try:
        return await send_all(producer, records)
    finally:
        await producer.stop()


class _IncrementalAlterConfigsResponseV0(Response):  # type: ignore[misc]
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "responses",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
            ),
        ),
    )


class _IncrementalAlterConfigsRequestV0(RequestStruct):  # type: ignore[misc]
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = _IncrementalAlterConfigsResponseV0
    SCHEMA = Schema(
        (
            "resources",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                (
                    "configs",
                    Array(
                        ("name", String("utf-8")),
                        ("config_operation", Int8),
                        ("value", String("utf-8")),
                    ),
                ),
            ),
        ),
        ("validate_only", Boolean),
    )


class _IncrementalAlterConfigs(Request[_IncrementalAlterConfigsRequestV0]):  # type: ignore[misc]
    API_KEY = 44

    def __init__(self, resources: list[tuple[int, str, list[tuple[str, int, str]]]]) -> None:
        self._resources = resources

    def build(self, request_struct_class: type[Any]) -> Any:
        return request_struct_class(self._resources, False)


_TOPIC_RESOURCE = 2
_SET = 0


async def set_topic_configs(
    admin: AIOKafkaAdminClient, configs: Mapping[str, Mapping[str, str]]
) -> dict[str, str | None]:
    """Set the given configs of topics (topic -> name -> value), leaving their others alone.

    IncrementalAlterConfigs, which aiokafka lacks: its AlterConfigs replaces a
    topic's whole set, resetting every override not named to the broker's
    default. Returns topic -> None when set, else the broker's error. Raises
    IncompatibleBrokerVersion when the broker does not support the request.
    """
    request = _IncrementalAlterConfigs(
        [
            (_TOPIC_RESOURCE, topic, [(name, _SET, value) for name, value in entries.items()])
            for topic, entries in configs.items()
        ]
    )
    client = admin._client  # aiokafka's admin client has no public way to send a request
    response = await client.send(client.get_random_node(), request)
    out: dict[str, str | None] = {}
    for code, message, _type, name in response.responses:
        out[name] = None if code == 0 else f"{for_code(code).__name__}: {message or ''}".rstrip()
    return out
