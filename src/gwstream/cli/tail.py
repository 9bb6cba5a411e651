"""``gwstream tail``: print what a topic carries as JSON lines (stdout), the rest on stderr.

With :mod:`gwstream.cli.turns` (``gwstream send``), trying gwstream needs no
Kafka client of one's own (librdkafka-based ones do not work reliably with the
embedded broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError

from gwstream.cli.shared import (
    ConfigOpt,
    _fail,
    _require_cluster,
    _run,
    _settings_or_exit,
    app,
    err,
)
from gwstream.config import Settings
from gwstream.errors import BrokerError, GwstreamError, TopicError
from gwstream.events import DeadLetter
from gwstream.runtime.publish import SCRUBBED_HEADER


class TailTopic(StrEnum):
    responses = "responses"
    costs = "costs"
    audit = "audit"
    dlq = "dlq"
    turns = "turns"
    webhooks_dlq = "webhooks_dlq"


@app.command()
def tail(
    topic: Annotated[
        TailTopic,
        typer.Argument(
            help="The configured topic to read. A record prints as its value (a JSON string "
            "if that is no JSON); a dlq record as an object of its key, its gw_dlq_* reasons "
            "and its value. Without --from-beginning, what is published after the 'reading' "
            "line on stderr."
        ),
    ],
    session: Annotated[
        str | None,
        typer.Option(help="Only this session's records (their key, TENANT:SESSION)."),
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest record, not the newest.")
    ] = False,
    count: Annotated[
        int | None, typer.Option(min=1, help="Stop after N records (exit 1 if fewer came).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.0, help="Stop once S seconds pass without a (matching) record."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Print a topic's records as JSON lines (stdout), until --count, --timeout or Ctrl-C."""
    settings = _settings_or_exit(config)
    try:
        _require_cluster(settings)
        if session is not None and ":" not in session:
            raise GwstreamError(f"--session takes TENANT:SESSION (the record key), not {session!r}")
    except GwstreamError as exc:
        _fail(exc, 2)
    name = str(getattr(settings.topics, topic.value))
    tailer = _Tailer(settings, name, topic is TailTopic.dlq, session, count, timeout)
    raise typer.Exit(_run(lambda stop: tailer.run(from_beginning, stop)))


class _Tailer:
    def __init__(
        self,
        settings: Settings,
        topic: str,
        dlq: bool,
        session: str | None,
        count: int | None,
        timeout: float | None,
    ) -> None:
        self._kafka = settings.kafka
        self._topic = topic
        self._dlq = dlq
        self._key = session.encode() if session is not None else None
        self._count = count
        self._timeout = timeout
        self.printed = 0

    async def run(self, from_beginning: bool, stop: asyncio.Event) -> int:
        """Print records until done; the exit code (1: --count not reached)."""
        from gwstream.kafkaio import make_consumer, partitions_of, start_client

        consumer = make_consumer(self._kafka, group_id=None)
        await start_client(consumer, self._kafka)
        try:
            try:
                partitions = await partitions_of(consumer, self._topic, 15.0)
            except TimeoutError as exc:
                raise TopicError(f"{exc}: run `gwstream topics apply`") from None
            consumer.assign(partitions)
            if from_beginning:
                await consumer.seek_to_beginning(*partitions)
            else:
                await self._seek_to_end(consumer)
            where = "the beginning" if from_beginning else "the end"
            err.print(
                f"reading {self._topic} ({len(partitions)} partitions) from {where}",
                markup=False,
                highlight=False,
            )
            await self._follow(consumer, stop)
        except KafkaError as exc:
            raise BrokerError(f"reading {self._topic} failed ({type(exc).__name__})") from None
        finally:
            await consumer.stop()
        if self._count is not None and self.printed < self._count:
            why = "interrupted" if stop.is_set() else f"none for {self._timeout:g} s"
            err.print(
                f"[red]error:[/] {self.printed} of {self._count} records from {self._topic}, "
                f"then {why}",
                highlight=False,
            )
            return 1
        return 0

    async def _seek_to_end(self, consumer: AIOKafkaConsumer) -> None:
        """Position every partition after its last record.

        ``seek_to_end`` alone is not enough: the embedded broker answers the end offset
        short of the last batch. The records between it and the high watermark of a
        fetch are read and dropped, as spendview does when it catches up.
        """
        partitions = consumer.assignment()
        await consumer.seek_to_end(*partitions)
        deadline = time.monotonic() + self._kafka.request_timeout_ms / 1000
        while True:
            await consumer.getmany(timeout_ms=100, max_records=10_000)
            behind = [
                tp
                for tp in partitions
                if (high := consumer.highwater(tp)) is None or await consumer.position(tp) < high
            ]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"could not find the end of {self._topic}: partitions "
                    f"{sorted(tp.partition for tp in behind)} answered no fetch in time"
                )

    async def _follow(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        out = sys.stdout
        last = time.monotonic()
        while not stop.is_set():
            if self._count is not None and self.printed >= self._count:
                return
            if self._timeout is not None and time.monotonic() - last > self._timeout:
                return
            batches = await consumer.getmany(timeout_ms=200, max_records=1_000)
            for records in batches.values():
                for record in records:
                    if self._key is not None and record.key != self._key:
                        continue
                    if self._count is not None and self.printed >= self._count:
                        break
                    try:
                        out.write(self._line(record) + "\n")
                    except BrokenPipeError:  # the reader has gone (| head): done
                        _silence_stdout()
                        return
                    self.printed += 1
                    last = time.monotonic()
            try:
                out.flush()
            except BrokenPipeError:
                _silence_stdout()
                return

    def _line(self, record: ConsumerRecord[bytes, bytes]) -> str:
        try:
            return self._encode(record, _json_value(record.value))
        except TypeError:  # JSON nested deeper than orjson writes (255): the value as a string
            return self._encode(record, _text(record.value))

    def _encode(self, record: ConsumerRecord[bytes, bytes], value: Any) -> str:
        if not self._dlq:
            return orjson.dumps(value).decode()
        key = record.key.decode("utf-8", "backslashreplace") if record.key is not None else None
        headers = {k: v.decode("utf-8", "backslashreplace") for k, v in record.headers}
        try:
            why: dict[str, Any] = DeadLetter.from_headers(record.headers).model_dump(mode="json")
        except ValueError:  # not one of gwstream's own: its headers as they are
            n = len(DeadLetter.HEADER_PREFIX)
            why = {k[n:]: v for k, v in headers.items() if k.startswith(DeadLetter.HEADER_PREFIX)}
        scrubbed = (
            {"scrubbed": headers[SCRUBBED_HEADER] == "true"} if SCRUBBED_HEADER in headers else {}
        )
        return orjson.dumps({"key": key, **why, **scrubbed, "value": value}).decode()


def _json_value(raw: bytes | None) -> Any:
    """The value parsed as JSON; a string of it when it is not JSON (so one line each)."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _text(raw)


def _text(raw: bytes | None) -> str | None:
    return raw.decode("utf-8", "backslashreplace") if raw is not None else None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
