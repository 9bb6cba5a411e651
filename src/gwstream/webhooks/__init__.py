"""Webhooks: per-tenant, signed HTTP callbacks for finished turns and budget notices.

A separate consumer of the output topics (``gwstream webhooks``), so a slow
endpoint never slows the processor.

- :mod:`~gwstream.webhooks.settings`: ``tenants.<id>.webhook`` and the ``webhooks`` section;
- :mod:`~gwstream.webhooks.payload`: the JSON body, built from an output event;
- :mod:`~gwstream.webhooks.signing`: the ``X-Gwstream-Signature`` scheme, and how to verify it;
- :mod:`~gwstream.webhooks.retry`: what is retried, and the backoff between attempts;
- :mod:`~gwstream.webhooks.delivery`: per-tenant queues and workers over one HTTP pool;
- :mod:`~gwstream.webhooks.intake`: which records need a webhook, the cost join, dedupe;
- :mod:`~gwstream.webhooks.deadletter`: the record left when a webhook is given up on;
- :mod:`~gwstream.webhooks.service`: the consumer group that ties them to Kafka (imported
  on its own: it needs :mod:`gwstream.config`, which imports the settings from here).
"""

from __future__ import annotations

from gwstream.webhooks.deadletter import DeadLetterReason, WebhookDeadLetter
from gwstream.webhooks.payload import (
    BudgetData,
    TurnData,
    WebhookPayload,
    WebhookType,
    budget_payload,
    turn_payload,
)
from gwstream.webhooks.retry import RetrySchedule, verdict
from gwstream.webhooks.settings import WebhookEventClass, WebhookServiceSettings, WebhookSettings
from gwstream.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    sign,
    signature_header,
    verify,
)

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "BudgetData",
    "DeadLetterReason",
    "RetrySchedule",
    "TurnData",
    "WebhookDeadLetter",
    "WebhookEventClass",
    "WebhookPayload",
    "WebhookServiceSettings",
    "WebhookSettings",
    "WebhookType",
    "budget_payload",
    "sign",
    "signature_header",
    "turn_payload",
    "verdict",
    "verify",
]
