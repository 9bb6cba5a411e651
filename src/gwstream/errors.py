"""One exception hierarchy for gwstream.

Every error a user can cause carries a message naming the thing to fix.
"""

from __future__ import annotations


class GwstreamError(Exception):
    """Base of every error gwstream raises on purpose."""


class ConfigError(GwstreamError):
    """Configuration is invalid; the message names the field."""


class BrokerError(GwstreamError):
    """The Kafka broker could not be started, reached or used."""


class ProcessingHalted(BrokerError):
    """The processor stopped because continuing could lose data (e.g. outputs could
    not be published). Unfinished input stays uncommitted; a restart replays it."""


class TopicError(GwstreamError):
    """A topic is missing or differs from its spec."""


class SinkError(GwstreamError):
    """The cost database cannot be opened, read or written; the message names the file."""


class PoisonRecord(GwstreamError):
    """An input record cannot be processed and belongs in the dead-letter topic.

    ``reason`` is a short machine-readable code (``not_json``, ``invalid_schema``,
    ``oversized``, ``bad_utf8``, ``missing_key``, ``key_mismatch``,
    ``handler_error``); ``detail`` is a human-readable explanation that never
    contains the record's payload.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class GatewayError(GwstreamError):
    """A gateway call failed for good (after any retries and fallbacks).

    ``outcome`` classifies the failure for the audit trail: ``timeout``,
    ``rate_limited``, ``server_error``, ``client_error``, ``auth``,
    ``circuit_open`` or ``transport``.
    """

    outcome = "server_error"

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        attempts: int = 1,
        status_code: int | None = None,
        summary: str | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.attempts = attempts
        self.status_code = status_code
        #: The message without what the gateway said (its error body may echo the request,
        #: credentials included): what a per-turn log line may carry. None: no such summary.
        self.summary = summary


class GatewayTimeout(GatewayError):
    outcome = "timeout"


class GatewayRateLimited(GatewayError):
    outcome = "rate_limited"


class GatewayServerError(GatewayError):
    outcome = "server_error"


class GatewayClientError(GatewayError):
    outcome = "client_error"


class GatewayAuthError(GatewayError):
    outcome = "auth"


class GatewayTransportError(GatewayError):
    outcome = "transport"


class GatewayCircuitOpen(GatewayError):
    """Every endpoint's circuit breaker is open: nothing was sent."""

    outcome = "circuit_open"


class GatewayProtocolError(GatewayError):
    """The gateway answered with something that breaks its contract."""

    outcome = "protocol_error"
