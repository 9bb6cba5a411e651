"""JSON log lines: one object a line, the ids as fields, exceptions included."""

from __future__ import annotations

import json
import logging

import pytest

from gwstream.events import TurnEvent
from gwstream.logs import JsonFormatter, configure, turn_fields


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("gwstream.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_turns_ids_are_fields_and_its_text_is_not_logged() -> None:
    turn = TurnEvent(
        turn_id="t-1",
        tenant_id="acme",
        session_id="s-9",
        seq=0,
        occurred_at="2026-12-01T10:00:00Z",  # type: ignore[arg-type]
        text="my card is 4111 1111 1111 1111",
    )
    fields = turn_fields(turn)
    assert fields == {"turn_id": "t-1", "session_id": "s-9", "tenant_id": "acme"}
    line = JsonFormatter(child="1").format(
        _record("turn %s failed: %s", "t-1", "timeout", outcome="timeout", attempts=3, **fields)
    )
    doc = json.loads(line)
    assert doc["message"] == "turn t-1 failed: timeout"
    assert (doc["turn_id"], doc["tenant_id"], doc["session_id"]) == ("t-1", "acme", "s-9")
    assert (doc["outcome"], doc["attempts"], doc["child"], doc["level"]) == (
        "timeout",
        3,
        "1",
        "WARNING",
    )
    assert doc["ts"].endswith("+00:00")
    assert "4111 1111" not in line


def test_exceptions_travel_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    doc = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in doc["exception"]
    assert "\n" not in JsonFormatter().format(record)  # one line, the traceback escaped


def test_configure_switches_format_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure("WARNING", "json")
    try:
        logging.getLogger("gwstream.x").info("hidden")
        logging.getLogger("gwstream.x").warning("shown %d", 1, extra={"partition": 3})
        err = capsys.readouterr().err.strip().splitlines()
        assert [json.loads(line)["message"] for line in err] == ["shown 1"]
        assert json.loads(err[0])["partition"] == 3
        assert logging.getLogger("aiokafka").level == logging.WARNING
    finally:
        configure("INFO", "text")


def test_a_supervisor_line_about_a_child_names_it_as_a_field() -> None:
    doc = json.loads(JsonFormatter().format(_record("child %d exited %s", 1, "-9", child="1")))
    assert (doc["child"], doc["message"]) == ("1", "child 1 exited -9")
    assert "child" not in json.loads(JsonFormatter().format(_record("supervising %d", 2)))


def test_the_kafka_clients_repeated_lines_go_out_once_a_minute_with_a_count() -> None:
    from gwstream.logs import LibraryRepeats

    f = LibraryRepeats(window_s=60)

    def line(at: float, name: str = "aiokafka.conn", msg: str = "Unable connect to %s") -> bool:
        record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("node-1",), None)
        record.created = at
        return f.filter(record) and bool(record.getMessage())

    assert line(0.0)
    assert not any(line(t) for t in (1.0, 2.0, 30.0))
    assert line(0.5, msg="another message about %s")
    assert line(5.0, name="gwstream.runtime")  # gwstream's own lines are never held back
    record = logging.LogRecord(
        "aiokafka.conn", logging.ERROR, __file__, 1, "Unable connect to %s", ("n",), None
    )
    record.created = 61.0
    assert f.filter(record)
    assert record.getMessage() == "Unable connect to n (3 more like it in the last 60s left out)"


def test_once_stopping_the_kafka_clients_errors_are_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gwstream.logs
    from gwstream.logs import LibraryRepeats, stopping

    monkeypatch.setattr(gwstream.logs, "_stopping", False)
    f = LibraryRepeats()

    def level(name: str, msg: str) -> str:
        record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (), None)
        assert f.filter(record)
        return record.levelname

    assert level("aiokafka.consumer.fetcher", "Failed fetch messages") == "ERROR"
    stopping()
    assert level("aiokafka.consumer.fetcher", "Connection closed") == "WARNING"
    assert level("gwstream.runtime", "a failure of our own") == "ERROR"
