"""``gwstream send`` and ``gwstream tail``: publish turns, read what the topics carry.

So that trying gwstream needs no Kafka client of one's own (librdkafka-based ones do
not work reliably with the embedded broker). ``send`` publishes turns as gwstream's
own tools do: validated by :class:`~gwstream.events.TurnEvent` before anything is
sent, keyed ``tenant_id:session_id``, with the CloudEvents headers. ``tail`` prints a
topic's records as JSON lines on stdout, everything else on stderr.

Neither ever echoes a turn's text in an error: a rejected line is named by its number
and its fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import IO, Annotated, Any

import orjson
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gwstream.cli.shared import (
    ConfigOpt,
    _fail,
    _require_cluster,
    _run,
    _settings_or_exit,
    app,
    err,
)
from gwstream.config import KafkaSettings, Settings
from gwstream.errors import BrokerError, GwstreamError, TopicError
from gwstream.events import DeadLetter, TurnEvent, turn_headers, utcnow
from gwstream.problems import closest, plain_message
from gwstream.runtime.publish import SCRUBBED_HEADER

#: Problems a rejected ``--file`` lists before it summarises the rest.
_LINES_SHOWN = 10

#: Where each field of a turn comes from in ``gwstream send TEXT``.
_OPTIONS = {
    "text": "TEXT",
    "tenant_id": "--tenant",
    "session_id": "--session",
    "seq": "--seq",
    "turn_id": "--turn-id",
    "channel": "--channel",
    "language": "--language",
    "gateway": "--gateway",
    "model": "--model",
    "metadata": "--metadata",
}


@app.command()
def send(
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="TEXT", help="What the customer said (with --tenant and --session)."
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant_id of the turn.")] = None,
    session: Annotated[str | None, typer.Option(help="session_id of the turn.")] = None,
    seq: Annotated[
        int | None,
        typer.Option(
            help="The turn's position in its session: 0, then 1, 2, ... for its next turns "
            "(default 0)."
        ),
    ] = None,
    turn_id: Annotated[
        str | None,
        typer.Option(
            help="Unique across all tenants (default: a new UUID); reuse one only to "
            "republish that turn."
        ),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="chat (default), voice, email or sms.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="The turn's language, such as en.")] = None,
    gateway: Annotated[
        str | None, typer.Option(help="Gateway to call (default: the tenant's).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model override.")] = None,
    metadata: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, repeatable.", show_default=False)
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            help="JSON lines, one turn each (the fields of gw.turns.v1); - for stdin.",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Publish turns (one from TEXT, or JSON lines), validated first; print turn_id, key, seq."""
    fields: dict[str, Any] = {
        "text": text,
        "tenant_id": tenant,
        "session_id": session,
        "seq": seq,
        "turn_id": turn_id,
        "channel": channel,
        "language": language,
        "gateway": gateway,
        "model": model,
        "metadata": metadata,
    }
    settings = _settings_or_exit(config)
    try:
        _require_cluster(settings)
        if file is not None:
            given = [_OPTIONS[k] for k, v in fields.items() if v is not None]
            if given:
                raise GwstreamError(
                    f"--file takes every field from its lines: drop {', '.join(given)}"
                )
            turns = _turns_from_file(file)
        else:
            turns = [_turn_from_options(fields)]
    except GwstreamError as exc:
        _fail(exc, 2)

    topic = settings.topics.turns
    _run(lambda stop: _publish(settings.kafka, topic, turns))
    for turn in turns:
        print(f"{turn.turn_id}\t{turn.key}\t{turn.seq}")
    err.print(f"sent {len(turns)} turn(s) to {topic}", markup=False, highlight=False)


def _turn_from_options(given: dict[str, Any]) -> TurnEvent:
    """The turn of ``gwstream send TEXT``: now, a new turn id and seq 0 unless given."""
    if given["text"] is None:
        raise GwstreamError("give the turn's TEXT (with --tenant and --session), or --file")
    missing = [_OPTIONS[k] for k in ("tenant_id", "session_id") if given[k] is None]
    if missing:
        raise GwstreamError(f"{' and '.join(missing)} required with TEXT")
    fields = {k: v for k, v in given.items() if v is not None}
    fields.setdefault("turn_id", str(uuid.uuid4()))
    fields.setdefault("seq", 0)
    fields["occurred_at"] = utcnow()
    fields["metadata"] = _metadata(given["metadata"] or [])
    try:
        return TurnEvent.model_validate(fields)
    except ValidationError as exc:
        raise GwstreamError(_describe(exc.errors(include_url=False), _OPTIONS)) from None


def _metadata(items: list[str]) -> dict[str, str]:
    pairs = {}
    for n, item in enumerate(items, 1):
        key, sep, value = item.partition("=")
        if not sep or not key:
            # Not echoed: a value may be personal.
            raise GwstreamError(f"--metadata takes KEY=VALUE; item {n} has no KEY=")
        pairs[key] = value
    return pairs


def _turns_from_file(file: str) -> list[TurnEvent]:
    """Every turn of ``file`` (``-``: stdin), or GwstreamError naming each bad line's fields."""
    try:
        source: IO[bytes] = sys.stdin.buffer if file == "-" else open(file, "rb")
    except OSError as exc:
        raise GwstreamError(f"cannot read {file}: {exc.strerror or exc}") from None
    name = "stdin" if file == "-" else file
    turns: list[TurnEvent] = []
    bad: list[str] = []
    with source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                turns.append(TurnEvent.model_validate_json(line))
            except ValidationError as exc:
                bad.append(f"line {number}: {_line_problem(line, exc)}")
    if bad:
        more = len(bad) - _LINES_SHOWN
        shown = bad[:_LINES_SHOWN] + ([f"and {more} more lines"] if more > 0 else [])
        noun = "a turn" if len(bad) == 1 else "turns"
        raise GwstreamError(
            f"{name} has {noun} gwstream would reject; nothing was sent:\n  " + "\n  ".join(shown)
        )
    if not turns:
        raise GwstreamError(f"{name} holds no turns: write one JSON object per line")
    return turns


def _line_problem(line: bytes, exc: ValidationError) -> str:
    """Why ``line`` is no turn, in the words of its fields; never a value from it."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 at byte {e.start}"
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return f"not JSON: {e.msg} at position {e.pos}"
    return _describe(exc.errors(include_url=False), {f: f for f in TurnEvent.model_fields})


def _describe(errors: list[ErrorDetails], names: Mapping[str, str]) -> str:
    """Each error as ``field: what is wrong``, the field as the user gave it.

    A metadata key is masked (it is the publisher's data); an unknown field is named,
    with the closest field of a turn, since it is a spelling to fix.
    """
    out = []
    for e in errors:
        loc = e["loc"]
        head = str(loc[0]) if loc else ""
        if e["type"] == "extra_forbidden":
            guess = closest(head, list(TurnEvent.model_fields))
            hint = f" (did you mean {guess}?)" if guess else ""
            out.append(f"{head!r} is not a field of a turn{hint}")
            continue
        if not loc:
            out.append("must be a JSON object" if e["type"] == "model_type" else e["msg"])
            continue
        where = names.get(head, head) + "".join(
            f"[{p}]" if isinstance(p, int) else ".<key>" for p in loc[1:]
        )
        out.append(f"{where}: {_message(e)}")
    return "; ".join(out)


def _message(e: ErrorDetails) -> str:
    if e["type"] == "missing":
        return "missing"
    if e["type"] == "string_pattern_mismatch":
        return "may hold only ASCII letters, digits, '.', '_' and '-'"
    return plain_message(e)


async def _publish(kafka: KafkaSettings, topic: str, turns: list[TurnEvent]) -> int:
    from gwstream.kafkaio import make_producer, send_all, start_client

    producer = make_producer(kafka)
    await start_client(producer, kafka)
    try:
        await _require_topic(producer, topic)
        records = [(topic, t.key.encode(), t.to_json(), turn_headers(t)) for t in turns]
        return await send_all(producer, records)
    except KafkaError as exc:
        raise BrokerError(
            f"{topic} did not acknowledge every turn ({type(exc).__name__}), so some may "
            "have been published and some not: check the broker, then send them again"
        ) from None
    finally:
        await producer.stop()


async def _require_topic(producer: AIOKafkaProducer, topic: str) -> None:
    """TopicError unless the cluster lists ``topic``: a broker that creates topics on
    first use (the embedded one does) would otherwise take a misspelt name silently.
    A topic created a moment ago has :data:`~gwstream.kafkaio.ABSENT_GRACE_S` to appear."""
    from gwstream.kafkaio import ABSENT_GRACE_S

    deadline = time.monotonic() + ABSENT_GRACE_S
    while topic not in (await producer.client.fetch_all_metadata()).topics():
        if time.monotonic() > deadline:
            raise TopicError(
                f"topic {topic} does not exist: run `gwstream topics apply`, or check "
                "topics.turns (GWSTREAM_TOPICS__TURNS)"
            )
        await asyncio.sleep(0.1)


class TailTopic(StrEnum):
    responses = "responses"
    costs = "costs"
    audit = "audit"
    dlq = "dlq"
    turns = "turns"


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
        value = _json_value(record.value)
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
        return raw.decode("utf-8", "backslashreplace")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
