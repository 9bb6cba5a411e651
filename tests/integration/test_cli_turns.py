"""`gwstream send` and `gwstream tail` as a user runs them: subprocesses against the
test broker, with a `gwstream run` processor and the gateway simulator where answers
are needed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from tests.integration.helpers import ProcessorProcess, distinct_turns, processor_env

from gwstream.broker import free_port
from gwstream.config import KafkaSettings, TopicNames
from gwstream.events import TurnEvent
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration

NO_GATEWAY = "http://127.0.0.1:9"  # for tests that run no processor

TURNS = [
    {
        "turn_id": "t-1001",
        "tenant_id": "acme",
        "session_id": "s-7",
        "seq": 0,
        "occurred_at": "2026-12-01T09:30:00Z",
        "text": "Hi, I need to change my delivery address.",
    },
    {
        "turn_id": "t-1002",
        "tenant_id": "acme",
        "session_id": "s-7",
        "seq": 1,
        "occurred_at": "2026-12-01T09:30:20+01:00",
        "text": "It is for order 5521.",
        "channel": "chat",
        "language": "en",
        "metadata": {"queue": "billing"},
    },
    {
        "turn_id": "t-1003",
        "tenant_id": "globex",
        "session_id": "c-9",
        "seq": 0,
        "occurred_at": "2026-12-01T09:31:00Z",
        "text": "Where is my parcel?",
    },
]


def _jsonl(turns: list[dict[str, object]]) -> str:
    return "".join(json.dumps(t) + "\n" for t in turns)


async def gwstream(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``gwstream ARGS`` to its end, off the event loop (the simulator runs on it)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gwstream", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
    )


def sent_ids(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The turn ids `gwstream send` printed (turn_id, key, seq per line)."""
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.split("\t")[0] for line in done.stdout.splitlines()]


def turn_ids(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
    return [TurnEvent.model_validate_json(r.value or b"").turn_id for r in records]


async def test_a_turn_sent_from_options_is_answered_and_tail_shows_its_sessions_answer(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    env = processor_env(kafka, topic_names, sim.url)
    processes.append(ProcessorProcess(env, tmp_path / "run.log"))

    other = await gwstream(env, "send", "--tenant", "acme", "--session", "s2", "Hello?")
    done = await gwstream(
        env, "send", "--tenant", "acme", "--session", "s1", "--seq", "0", "Where is my order?"
    )
    [turn_id] = sent_ids(done)
    assert done.stdout == f"{turn_id}\tacme:s1\t0\n"
    tail = await gwstream(
        env,
        "tail",
        "responses",
        "--session",
        "acme:s1",
        "--from-beginning",
        "--count",
        "1",
        "--timeout",
        "60",
    )
    assert tail.returncode == 0, tail.stderr[-2000:]
    [line] = tail.stdout.splitlines()
    answer = json.loads(line)
    assert answer["turn_id"] == turn_id and answer["session_id"] == "s1"
    assert answer["status"] == "ok" and answer["text"]

    # Once the other session is answered too, only acme:s1's answer passes the filter.
    both = {turn_id, *sent_ids(other)}
    await read_topic(kafka, topic_names.responses, until=lambda rs: distinct_turns(rs) == both)
    tail = await gwstream(
        env,
        "tail",
        "responses",
        "--session",
        "acme:s1",
        "--from-beginning",
        "--count",
        "2",
        "--timeout",
        "1",
    )
    assert [json.loads(x)["turn_id"] for x in tail.stdout.splitlines()] == [turn_id]
    assert tail.returncode == 1


@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
async def test_send_file_publishes_every_turn_keyed_by_its_session_with_turn_headers(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path, from_stdin: bool
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    path = tmp_path / "turns.jsonl"
    path.write_text(_jsonl(TURNS))
    if from_stdin:
        done = await gwstream(env, "send", "--file", "-", stdin=_jsonl(TURNS))
    else:
        done = await gwstream(env, "send", "--file", str(path))
    assert sent_ids(done) == ["t-1001", "t-1002", "t-1003"]
    assert "sent 3 turn(s)" in done.stderr

    records = await read_topic(kafka, topic_names.turns, until=lambda rs: len(rs) == 3)
    by_id = {TurnEvent.model_validate_json(r.value or b"").turn_id: r for r in records}
    for sent in TURNS:
        record = by_id[str(sent["turn_id"])]
        assert record.key == f"{sent['tenant_id']}:{sent['session_id']}".encode()
        assert TurnEvent.model_validate_json(record.value or b"") == TurnEvent.model_validate(sent)
        headers = dict(record.headers)
        assert headers["ce_type"] == b"com.gwstream.turn.v1"
        assert headers["ce_id"] == headers["ce_subject"] == str(sent["turn_id"]).encode()
    # The same instant, written in UTC (README: `send` publishes the canonical form).
    assert b'"occurred_at":"2026-12-01T08:30:20Z"' in (by_id["t-1002"].value or b"")


async def test_a_file_with_an_invalid_line_sends_nothing_and_names_line_and_field_not_text(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    bad = dict(TURNS[1], seq="1", text="my card is 4111 1111 1111 1111, PRIVATE-7731")
    path = tmp_path / "turns.jsonl"
    path.write_text(_jsonl([TURNS[0], bad, TURNS[2]]))

    done = await gwstream(env, "send", "--file", str(path))
    assert done.returncode == 2
    assert "line 2: seq: must be an integer" in done.stderr
    assert "nothing was sent" in done.stderr
    assert "PRIVATE-7731" not in done.stderr + done.stdout
    assert "4111" not in done.stderr + done.stdout

    # A turn sent afterwards is the first and only record: the file sent nothing.
    after = await gwstream(env, "send", "--tenant", "acme", "--session", "s9", "Later.")
    [later] = sent_ids(after)
    records = await read_topic(kafka, topic_names.turns, until=lambda rs: later in turn_ids(rs))
    assert turn_ids(records) == [later]


async def test_a_turn_the_processor_would_dead_letter_as_oversized_is_not_sent(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    # Text within its own bound; metadata pushes the record over runtime.max_record_bytes.
    env = processor_env(kafka, topic_names, NO_GATEWAY, RUNTIME__MAX_RECORD_BYTES="4096")
    big = dict(TURNS[1], metadata={"notes": "y" * 5_000})
    path = tmp_path / "turns.jsonl"
    path.write_text(_jsonl([TURNS[0], big]))

    done = await gwstream(env, "send", "--file", str(path))
    assert done.returncode == 2, done.stderr
    assert "line 2: would be a record of" in done.stderr
    assert "over runtime.max_record_bytes (4096)" in done.stderr
    assert "nothing was sent" in done.stderr
    one = await gwstream(
        env, "send", "--tenant", "acme", "--session", "s9", "--metadata", f"n={'y' * 5000}", "Hi"
    )
    assert one.returncode == 2 and "max_record_bytes (4096)" in one.stderr, one.stderr

    after = await gwstream(env, "send", "--tenant", "acme", "--session", "s9", "Later.")
    [later] = sent_ids(after)
    records = await read_topic(kafka, topic_names.turns, until=lambda rs: later in turn_ids(rs))
    assert turn_ids(records) == [later]


async def test_tail_prints_only_what_is_published_after_it_says_it_is_reading(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    # Old turns of one session, one batch in one partition: the embedded broker reports
    # that partition's end offset short of them.
    path = tmp_path / "old.jsonl"
    path.write_text(_jsonl([dict(TURNS[0], turn_id=f"old-{i}", seq=i) for i in range(3)]))
    assert sent_ids(await gwstream(env, "send", "--file", str(path))) == ["old-0", "old-1", "old-2"]

    tail = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gwstream",
        "tail",
        "turns",
        "--count",
        "1",
        "--timeout",
        "30",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert tail.stderr is not None
    try:
        line = b""
        while b"reading" not in line:
            line = await asyncio.wait_for(tail.stderr.readline(), 30)
            assert line, "tail ended before it was reading"
        assert b"from the end" in line
        new = await gwstream(env, "send", "--tenant", "acme", "--session", "s-7", "New one")
        [new_id] = sent_ids(new)
        out, _ = await asyncio.wait_for(tail.communicate(), 60)
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()
    assert tail.returncode == 0
    assert [json.loads(x)["turn_id"] for x in out.decode().splitlines()] == [new_id]


async def test_tail_exits_1_when_count_is_not_reached_before_the_timeout(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    started = time.monotonic()
    done = await gwstream(env, "tail", "responses", "--count", "1", "--timeout", "1")
    assert done.returncode == 1
    assert time.monotonic() - started >= 1
    assert done.stdout == ""
    assert f"0 of 1 records from {topic_names.responses}, then none for 1 s" in done.stderr


async def test_tail_reads_the_webhook_dead_letters(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    env = processor_env(
        kafka, topic_names, NO_GATEWAY, TOPICS__WEBHOOKS_DLQ=topic_names.webhooks_dlq
    )
    given = {"event_id": "e-1", "tenant_id": "acme", "reason": "attempts_exhausted"}
    await publish(kafka, [(topic_names.webhooks_dlq, b"acme:s-7", json.dumps(given).encode(), [])])
    done = await gwstream(
        env, "tail", "webhooks_dlq", "--from-beginning", "--count", "1", "--timeout", "30"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == given


async def test_tail_prints_json_nested_deeper_than_it_can_write_as_a_string_and_goes_on(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    deep = '{"x": ' + "[" * 300 + "]" * 300 + "}"
    await publish(
        kafka,
        [
            (topic_names.turns, b"acme:s1", deep.encode(), []),
            (topic_names.turns, b"acme:s1", b"{}", []),
        ],
    )
    done = await gwstream(
        env, "tail", "turns", "--from-beginning", "--count", "2", "--timeout", "30"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [json.loads(line) for line in done.stdout.splitlines()] == [deep, {}]


async def test_tail_dlq_prints_each_dead_letter_with_its_reason(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
) -> None:
    env = processor_env(kafka, topic_names, NO_GATEWAY)
    processes.append(ProcessorProcess(env, tmp_path / "run.log"))
    await publish(kafka, [(topic_names.turns, b"acme:s1", b"not json\n", [])])

    done = await gwstream(env, "tail", "dlq", "--from-beginning", "--count", "1", "--timeout", "60")
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.splitlines()
    letter = json.loads(line)
    assert letter["key"] == "acme:s1" and letter["value"] == "not json\n"
    assert letter["reason"] == "not_json" and letter["source_topic"] == topic_names.turns
    assert letter["source_offset"] == 0


@pytest.mark.parametrize(
    "args",
    [["send", "--tenant", "acme", "--session", "s1", "Hello"], ["tail", "responses"]],
    ids=["send", "tail"],
)
async def test_a_broker_nobody_runs_is_a_runtime_failure_exit_1(
    args: list[str], topic_names: TopicNames
) -> None:
    port = free_port()  # nothing listens there
    env = processor_env(
        KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}"), topic_names, NO_GATEWAY
    )
    done = await gwstream(env, *args)
    assert done.returncode == 1
    assert f"cannot reach Kafka at '127.0.0.1:{port}'" in done.stderr


async def test_bad_options_are_a_usage_error_exit_2_naming_each_option(
    topic_names: TopicNames,
) -> None:
    env = processor_env(
        KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}"), topic_names, NO_GATEWAY
    )
    done = await gwstream(
        env,
        "send",
        "--tenant",
        "ac me",
        "--session",
        "s1",
        "--seq",
        "-1",
        "--channel",
        "fax",
        "Hello",
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --tenant: may hold only ASCII letters, digits, '.', '_' and '-'; "
        "--seq: must be >= 0; --channel: must be one of 'chat', 'voice', 'email' or 'sms'"
    ]
