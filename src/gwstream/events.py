"""Event payloads and their Kafka encoding.

Payloads are pydantic v2 models serialised with orjson. Records follow the
CloudEvents Kafka protocol binding in binary mode: the ``ce_*`` attributes and
``content-type`` travel as headers, the payload as the value.

Output event ids are derived from the turn id and the event kind, so a replay
after a crash produces the same ids and every sink can dedupe on them.

Field names for model, usage and response ids follow the OpenTelemetry GenAI
semantic conventions with the ``gen_ai.`` prefix dropped and dots as
underscores (``request_model`` is ``gen_ai.request.model``, ``input_tokens``
is ``gen_ai.usage.input_tokens``, and so on).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
EVENT_SOURCE = "urn:gwstream:processor"
_NAMESPACE = uuid.UUID("5b0f6d4e-9a51-4c1b-8f0e-6d1f3c2a7e10")
_NAMESPACE_BYTES = _NAMESPACE.bytes

MAX_TEXT_CHARS = 32_000

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]
Money = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_id(turn_id: str, kind: str) -> str:
    """The deterministic id of the ``kind`` event produced for ``turn_id``: a UUIDv5.

    Equal to ``str(uuid.uuid5(NAMESPACE, f"{turn_id}/{kind}"))``, computed
    without building UUID objects since it runs three times per turn.
    """
    h = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{turn_id}/{kind}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def session_key(tenant_id: str, session_id: str) -> str:
    """The Kafka key of every record of a session: ``tenant_id:session_id``."""
    return f"{tenant_id}:{session_id}"


class Event(BaseModel):
    """Base of every payload: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_timedelta="float")

    #: The CloudEvents ``type`` attribute of this payload.
    ce_type: ClassVar[str]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))


class TurnEvent(Event):
    """One conversation turn published by a contact-center platform (``gw.turns.v1``).

    The record key must be ``tenant_id:session_id``; turns of one session are
    answered in the order of their offsets.
    """

    ce_type: ClassVar[str] = "com.gwstream.turn.v1"

    turn_id: Id = Field(description="Unique id of this turn, chosen by the publisher.")
    tenant_id: Id
    session_id: Id
    seq: int = Field(ge=0, description="Position of the turn in its session, from 0.")
    occurred_at: AwareDatetime
    text: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="What the customer said."
    )
    channel: Literal["chat", "voice", "email", "sms"] = "chat"
    language: str | None = Field(default=None, max_length=16)
    gateway: str | None = Field(
        default=None, max_length=64, description="Gateway to use; the tenant's default when absent."
    )
    model: str | None = Field(default=None, max_length=128, description="Model override.")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)

    @property
    def key(self) -> str:
        return session_key(self.tenant_id, self.session_id)


ResponseStatus = Literal["ok", "refused", "failed"]


class OutputEvent(Event):
    """Fields every output event shares; ``event_id`` derives from turn id and kind."""

    kind: ClassVar[str]

    event_id: str
    turn_id: Id
    tenant_id: Id
    session_id: Id
    seq: int = Field(ge=0)
    produced_at: AwareDatetime


class ResponseEvent(OutputEvent):
    """The answer to one turn (``gw.responses.v1``). Every turn gets exactly one.

    ``status`` is ``ok`` with ``text``, or ``refused``/``failed`` with a
    machine-readable ``reason`` (for example ``gateway_timeout``); never silence.
    """

    ce_type: ClassVar[str] = "com.gwstream.response.v1"
    kind: ClassVar[str] = "response"

    status: ResponseStatus
    reason: str | None = None
    text: str | None = None
    gateway: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = Field(default_factory=list)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)


class CostEvent(OutputEvent):
    """What one turn cost (``gw.costs.v1``); ``cost`` is a decimal string in ``currency``."""

    ce_type: ClassVar[str] = "com.gwstream.cost.v1"
    kind: ClassVar[str] = "cost"

    occurred_at: AwareDatetime = Field(description="When the turn happened (the report's day).")
    gateway: str | None = None
    request_model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    usage_source: Literal["gateway", "tiktoken", "none"]
    tokenizer: str | None = None
    cost: Money
    currency: str = Field(default="USD", min_length=3, max_length=3)
    price_source: str


class AuditEvent(OutputEvent):
    """What happened to one turn, for compliance (``gw.audit.v1``).

    Carries no raw text: only its SHA-256 and length.
    """

    ce_type: ClassVar[str] = "com.gwstream.audit.v1"
    kind: ClassVar[str] = "audit"

    status: ResponseStatus
    outcome: str = Field(description="ok, retried_ok, fallback_ok, timeout, rate_limited, ...")
    reason: str | None = None
    gateway: str | None = None
    endpoint: str | None = None
    attempts: int = Field(default=0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    usage_source: Literal["gateway", "tiktoken", "none"] = "none"
    input_sha256: str
    input_chars: int = Field(ge=0)
    output_chars: int = Field(default=0, ge=0)
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)


class DeadLetter(BaseModel):
    """Why a record was dead-lettered (``gw.turns.dlq.v1``).

    The dead-letter record keeps the original key and value bytes untouched;
    these fields travel as ``gw_dlq_*`` headers beside the original headers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Literal[
        "not_json",
        "invalid_schema",
        "oversized",
        "bad_utf8",
        "missing_key",
        "key_mismatch",
        "handler_error",
    ]
    detail: str = Field(max_length=1000)
    source_topic: str
    source_partition: int
    source_offset: int
    failed_at: AwareDatetime

    HEADER_PREFIX: ClassVar[str] = "gw_dlq_"

    def headers(self) -> list[tuple[str, bytes]]:
        data = self.model_dump(mode="json")
        return [(self.HEADER_PREFIX + k, str(v).encode()) for k, v in data.items()]

    @classmethod
    def from_headers(
        cls, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]
    ) -> DeadLetter:
        n = len(cls.HEADER_PREFIX)
        data: dict[str, Any] = {
            k[n:]: v.decode() for k, v in headers if k.startswith(cls.HEADER_PREFIX)
        }
        return cls.model_validate(data)


def cloudevent_headers(
    event: OutputEvent, *, source: str = EVENT_SOURCE
) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers for ``event``."""
    return [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", event.event_id.encode()),
        ("ce_type", event.ce_type.encode()),
        ("ce_source", source.encode()),
        ("ce_subject", event.turn_id.encode()),
        ("ce_time", event.produced_at.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]


def turn_headers(turn: TurnEvent) -> list[tuple[str, bytes]]:
    """CloudEvents headers a publisher puts on a turn record."""
    return [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", turn.turn_id.encode()),
        ("ce_type", TurnEvent.ce_type.encode()),
        ("ce_source", b"urn:gwstream:publisher"),
        ("ce_time", turn.occurred_at.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
