"""``gwstream send``: publish turns, validated, as gwstream's own tools do.

So that trying gwstream needs no Kafka client of one's own (librdkafka-based ones do
not work reliably with the embedded broker); ``gwstream tail``
(:mod:`gwstream.cli.tail`) reads what comes back. ``send`` publishes turns
validated by :class:`~gwstream.events.TurnEvent` before anything is sent, keyed
``tenant_id:session_id``, with the CloudEvents headers. It never echoes a turn's
text in an error: a rejected line is named by its number and its fields.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import IO, Annotated, Any

import orjson
import typer
from aiokafka import AIOKafkaProducer
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
from gwstream.config import KafkaSettings
from gwstream.errors import BrokerError, GwstreamError, TopicError
from gwstream.events import TurnEvent, turn_headers, utcnow
from gwstream.problems import closest, plain_message

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
            turns = _turns_from_file(file, settings.runtime.max_record_bytes)
        else:
            turns = [_turn_from_options(fields)]
            problem = _oversized(turns[0], settings.runtime.max_record_bytes)
            if problem is not None:
                raise GwstreamError(f"the turn {problem}; nothing was sent")
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


def _oversized(turn: TurnEvent, max_bytes: int) -> str | None:
    """Why the processor would dead-letter ``turn`` as oversized, or None."""
    size = len(turn.to_json()) + len(turn.key.encode())
    if size <= max_bytes:
        return None
    return (
        f"would be a record of {size} bytes, over runtime.max_record_bytes ({max_bytes}), "
        "which the processor dead-letters as oversized"
    )


def _turns_from_file(file: str, max_bytes: int) -> list[TurnEvent]:
    """Every turn of ``file`` (``-``: stdin), or GwstreamError naming each bad line's fields
    (or its size, over ``max_bytes``)."""
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
                turn = TurnEvent.model_validate_json(line)
            except ValidationError as exc:
                bad.append(f"line {number}: {_line_problem(line, exc)}")
                continue
            if turn.occurred_at.utcoffset():  # the same instant, written in UTC
                turn = turn.model_copy(update={"occurred_at": turn.occurred_at.astimezone(UTC)})
            problem = _oversized(turn, max_bytes)
            if problem is not None:
                bad.append(f"line {number}: {problem}")
            turns.append(turn)
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

    A metadata key is masked (it is the publisher's data); an unknown field is named
    only when it is close to a field of a turn (a spelling to fix, named with that field):
    any other name is data, perhaps an e-mail address, and is not shown.
    """
    out = []
    for e in errors:
        loc = e["loc"]
        head = str(loc[0]) if loc else ""
        if e["type"] == "extra_forbidden":
            guess = closest(head, list(TurnEvent.model_fields))
            out.append(
                f"{head!r} is not a field of a turn (did you mean {guess}?)"
                if guess
                else "a field that is not a turn's (not named: a name is data too)"
            )
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
