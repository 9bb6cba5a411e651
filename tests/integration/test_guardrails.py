"""No raw PII leaves gwstream: the PII part of the corpus through `gwstream run` and the cost
sink on the embedded broker, then every topic it writes (responses, costs, audit, the
session changelog, dead letters: values and headers), the processor's log and the DuckDB
file searched for the raw values."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import duckdb
import orjson
import pytest
from tests.conftest import wait_for
from tests.integration.helpers import (
    T0,
    ProcessorProcess,
    distinct_turns,
    processor_env,
    settings_for,
    turn_records,
)

from gwstream.app import run_processor
from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.events import TurnEvent
from gwstream.kafkaio import publish, read_topic
from gwstream.pipeline.session import stored_json
from gwstream.runtime.changelog import CONTROL_KEY
from gwstream.runtime.publish import SCRUBBED_HEADER
from gwstream.simulator import GatewaySimulator
from gwstream.sink.consumer import CostSink

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "guardrails" / "corpus.jsonl"
SESSIONS = 40


def _pii_items() -> list[dict]:  # type: ignore[type-arg]
    items = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines()]
    return [i for i in items if i["category"] == "pii"]


def _forms(value: str) -> set[str]:
    """A value as written, and compact (no spaces, dashes or dots), lower case."""
    compact = "".join(c for c in value if c not in " -.()")
    return {value.lower(), compact.lower()} - {""}


async def test_no_raw_pii_reaches_a_topic_the_log_or_duckdb(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=1)
    items = _pii_items()
    assert len(items) >= 400
    values = {
        v for i in items for e in i["entities"] for v in _forms(i["text"][e["start"] : e["end"]])
    }
    turns = [
        TurnEvent(
            turn_id=f"pii-{n}",
            tenant_id="acme",
            session_id=f"s{n % SESSIONS}",
            seq=n // SESSIONS,
            occurred_at=T0,
            text=item["text"],
        )
        for n, item in enumerate(items)
    ]
    attached = "6011 1111 1111 1117"  # written attached to a word: "visa-6011..."
    text = f"visa-{attached.replace(' ', '')} refund"
    turns.append(turns[0].model_copy(update={"turn_id": "pii-x", "seq": len(items), "text": text}))
    values |= _forms(attached)
    card, mail = "4111 1111 1111 1111", "jane.poison@example.com"
    key_mail, header_card = "key.holder@example.com", "5555 5555 5555 4444"
    poison = [  # dead-lettered, with PII in them (in a key and a header too)
        (topic_names.turns, b"acme:p1", f'{{"text": "card {card}" not json'.encode(), []),
        (topic_names.turns, b"acme:p2", json.dumps({"text": f"mail {mail}"}).encode(), []),
        (
            topic_names.turns,
            f"acme:{key_mail}".encode(),
            b"not json: card 4012 8888 8888 1881",
            [("x-note", f"card-{header_card.replace(' ', '')}".encode())],  # attached
        ),
        (  # PII written with JSON escapes, and an e-mail address as a header's name
            topic_names.turns,
            b"acme:p4",
            json.dumps({"seq": "1", "text": "card 4111\u00a01111\u00a01111\u00a01111"})
            .replace("card", "mail escaped.mail\\u0040example.com, card")
            .encode(),
            [("header.name@example.com", b"v")],
        ),
    ]
    values |= _forms(card) | _forms(mail) | _forms(key_mail) | _forms(header_card)
    values |= _forms("4012 8888 8888 1881")
    await publish(kafka, [*turn_records(topic_names.turns, turns), *poison])

    log = tmp_path / "processor.log"
    processor = ProcessorProcess(processor_env(kafka, topic_names, sim.url, log_level="DEBUG"), log)
    processes.append(processor)
    database = tmp_path / "costs.duckdb"
    sink = CostSink(
        kafka.model_copy(update={"group_id": f"{kafka.group_id}-sink"}),
        topic_names,
        SinkSettings(database=database, batch_timeout_ms=100),
    )
    stop = asyncio.Event()

    async def run_sink() -> None:
        async with sink:
            await sink.run(stop)

    sink_task = asyncio.create_task(run_sink())
    try:
        responses = await read_topic(
            kafka,
            topic_names.responses,
            until=lambda rs: len(distinct_turns(rs)) == len(turns),
            timeout_s=120,
        )
        await wait_for(lambda: sink.stats.rows_inserted >= len(turns) or sink_task.done(), 60)
    finally:
        stop.set()
        await sink_task
    assert await processor.stop(signal.SIGTERM) == 0

    answers = [orjson.loads(r.value or b"") for r in responses]
    assert sum(a["redacted"] for a in answers) >= len(items) * 0.99  # PII found in them
    dead = await read_topic(kafka, topic_names.dlq, until=lambda rs: len(rs) == len(poison))
    assert all(dict(r.headers).get(SCRUBBED_HEADER) == b"true" for r in dead)
    # One record's parts are numbered together: two cards are two placeholders.
    [keyed] = [r for r in dead if (r.key or b"").startswith(b"acme:[EMAIL")]
    assert (keyed.key, keyed.value) == (b"acme:[EMAIL_1]", b"not json: card [CARD_1]")
    assert dict(keyed.headers)["x-note"] == b"card-[CARD_2]"
    [escaped] = [r for r in dead if r.key == b"acme:p4"]
    assert orjson.loads(escaped.value or b"")["text"] == "mail [EMAIL_1], card [CARD_1]"
    assert escaped.headers[0] == ("[EMAIL_2]", b"v")

    searched: dict[str, str] = {}
    for topic in (topic_names.responses, topic_names.costs, topic_names.audit, topic_names.dlq):
        records = await read_topic(kafka, topic, until=lambda rs: len(rs) > 0)
        searched[topic] = "\n".join(
            (r.key or b"").decode("utf-8", "replace")
            + (r.value or b"").decode("utf-8", "replace")
            + "".join(f"{k}={v.decode('utf-8', 'replace')}" for k, v in r.headers)
            for r in records
        )
    changes = await read_topic(kafka, topic_names.sessions, until=lambda rs: len(rs) > 0)
    searched[topic_names.sessions] = "\n".join(
        stored_json(r.value).decode() for r in changes if r.value and r.key != CONTROL_KEY
    )
    searched["processor log"] = log.read_text()
    with duckdb.connect(str(database), read_only=True) as db:
        rows = db.execute("SELECT * FROM cost_events").fetchall()
    searched["duckdb rows"] = "\n".join(map(str, rows))
    searched["duckdb file"] = database.read_bytes().decode("latin-1")
    assert len(rows) == len(turns)

    leaks = {
        where: sorted(v for v in values if v in text.lower()) for where, text in searched.items()
    }
    assert all(not found for found in leaks.values()), {w: f[:5] for w, f in leaks.items() if f}
    assert "[CARD_1]" in searched[topic_names.sessions]  # the history kept the placeholders
    # ...and their hashes, with a salt but not the key that would test a guess against them.
    stored = [
        orjson.loads(line)["placeholders"]
        for line in searched[topic_names.sessions].splitlines()
        if '"placeholders"' in line
    ]
    assert stored and all(set(p) == {"salt", "known"} for p in stored)


async def test_a_turn_asking_for_json_gets_invalid_output_when_the_gateway_answers_prose(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=1)
    base = TurnEvent(
        turn_id="j-1", tenant_id="acme", session_id="s1", seq=0, occurred_at=T0, text="Status?"
    )
    turns = [
        base.model_copy(update={"response_format": "json"}),
        base.model_copy(update={"turn_id": "j-2", "seq": 1}),
    ]
    await publish(kafka, turn_records(topic_names.turns, turns))
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings_for(kafka, topic_names, sim.url), stop))
    try:
        records = await read_topic(
            kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == 2
        )
    finally:
        stop.set()
        await task
    by_turn = {e["turn_id"]: e for e in map(orjson.loads, (r.value or b"" for r in records))}
    assert (by_turn["j-1"]["status"], by_turn["j-1"]["reason"]) == (
        "invalid_output",
        "invalid_json",
    )
    assert by_turn["j-2"]["status"] == "ok"
