from __future__ import annotations

from pathlib import Path

import jsonschema

from gwstream import topics
from gwstream.events import TurnEvent

REPO_TOPICS = Path(__file__).resolve().parents[2] / "topics"


def test_topics_folder_matches_the_specs_and_models() -> None:
    expected: dict[str, str] = {}
    for spec in topics.topic_specs():
        expected.update(topics.rendered(spec))
    actual = {p.name: p.read_text() for p in REPO_TOPICS.glob("*.json")}
    stale = sorted(set(actual) ^ set(expected)) + sorted(
        n for n in set(actual) & set(expected) if actual[n] != expected[n]
    )
    assert not stale, f"topics/ is out of date ({stale}): run `gwstream topics export topics`"


def test_every_payload_topic_has_a_schema_that_accepts_a_real_event() -> None:
    schema = next(s for s in topics.topic_specs() if s.role == "turns").json_schema()
    assert schema is not None
    turn = TurnEvent(
        turn_id="t-1",
        tenant_id="acme",
        session_id="s1",
        seq=0,
        occurred_at="2026-11-20T08:00:00+00:00",
        text="hello",  # type: ignore[arg-type]
    )
    jsonschema.validate(turn.model_dump(mode="json"), schema)


def test_dead_letter_topic_keeps_raw_bytes_so_has_no_payload_schema() -> None:
    dlq = next(s for s in topics.topic_specs() if s.role == "dlq")
    assert dlq.json_schema() is None
    assert "gw_dlq_reason" in dlq.to_document()["headers"]
