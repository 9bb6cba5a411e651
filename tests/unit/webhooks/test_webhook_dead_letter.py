from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import orjson

from gwstream import topics
from gwstream.events import event_id
from gwstream.webhooks.deadletter import WebhookDeadLetter

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def letter() -> WebhookDeadLetter:
    return WebhookDeadLetter(
        event_id=event_id("t-1", "response"),
        event_type="turn.failed",
        tenant_id="acme",
        session_id="s-1",
        turn_id="t-1",
        url_host="hooks.example.com",
        reason="attempts_exhausted",
        attempts=8,
        last_status=None,
        last_error="connection_error",
        first_attempt_at=T0,
        failed_at=T0,
        source_topic="gw.responses.v1",
        source_partition=3,
        source_offset=1_234,
    )


def test_a_dead_letter_matches_its_topics_published_schema() -> None:
    spec = next(s for s in topics.topic_specs() if s.role == "webhooks_dlq")
    schema = spec.json_schema()
    assert schema is not None
    jsonschema.validate(orjson.loads(letter().to_json()), schema)


def test_a_dead_letter_has_cloudevents_headers_with_a_derived_id() -> None:
    headers = dict(letter().headers())
    assert headers["ce_type"] == b"com.gwstream.webhook_dead_letter.v1"
    assert headers["ce_id"] == event_id(letter().event_id, "webhook_dead_letter").encode()
    assert headers["ce_subject"] == b"t-1"


def test_a_dead_letter_has_no_field_for_a_secret_url_path_body_or_text() -> None:
    fields = set(WebhookDeadLetter.model_fields)
    assert not fields & {"secret", "url", "body", "text", "payload", "headers"}
