"""The record left on ``gw.webhooks.dlq.v1`` for a webhook that was never delivered.

It says which event, for which tenant and host, why, after how many
attempts and with what last answer, and where the source record is (so an
operator can replay it once the endpoint is back). It never holds the
secret, the URL's path or query (which may carry a token), the body, or any
text of the turn: the event id and the source position find everything else.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from gwstream.events import CONTENT_TYPE, SPEC_VERSION, Event, event_id
from gwstream.webhooks.payload import WebhookType

__all__ = ["DeadLetterReason", "WebhookDeadLetter"]

DeadLetterReason = Literal["attempts_exhausted", "rejected", "backlog_full"]

_SOURCE = "urn:gwstream:webhooks"


class WebhookDeadLetter(Event):
    """A webhook given up on (``gw.webhooks.dlq.v1``), keyed like its source record.

    ``reason``: ``attempts_exhausted`` (every attempt timed out, could not
    connect, or got 408/429/5xx), ``rejected`` (the endpoint answered another
    4xx, or a redirect, which is not followed), or ``backlog_full`` (the
    tenant's queue held ``webhooks.max_queued_per_tenant`` events already).
    """

    ce_type: ClassVar[str] = "com.gwstream.webhook_dead_letter.v1"

    event_id: str = Field(description="The webhook's event id (X-Gwstream-Event-Id)")
    event_type: WebhookType
    tenant_id: str
    session_id: str
    turn_id: str
    url_host: str = Field(description="host[:port] of the endpoint; never its path or query")
    reason: DeadLetterReason
    attempts: int = Field(ge=0)
    last_status: int | None = Field(description="The last HTTP status answered, if any")
    last_error: str | None = Field(
        description="timeout, connection_error, http_<status> or internal_error: the last attempt"
    )
    first_attempt_at: AwareDatetime | None
    failed_at: AwareDatetime
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)

    def headers(self) -> list[tuple[str, bytes]]:
        """CloudEvents binary-mode headers; the id derives from the webhook's event id."""
        return [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", event_id(self.event_id, "webhook_dead_letter").encode()),
            ("ce_type", self.ce_type.encode()),
            ("ce_source", _SOURCE.encode()),
            ("ce_subject", self.turn_id.encode()),
            ("ce_time", self.failed_at.isoformat().encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
