"""Event payloads and their Kafka encoding.

Payloads are pydantic v2 models serialised by pydantic-core. Records follow the
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

import dataclasses
import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self, cast

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    PlainSerializer,
    RootModel,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, core_schema

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
        # pydantic-core writes the JSON itself: the same bytes as dumping model_dump(mode=
        # "json") with orjson (tests/unit/test_events.py), in half the time.
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def built(cls, **values: Any) -> Self:
        """The event our own code made from validated input, not validated again.

        What ``model_construct`` returns, in a sixth of its time (three events a turn),
        when ``values`` names every field; otherwise it is ``model_construct``, which
        fills in the defaults.
        """
        if values.keys() != cls.model_fields.keys():
            # (the pydantic mypy plugin types model_construct's result as the base class)
            return cast(Self, cls.model_construct(**values))
        event = super().__new__(cls)
        _put(event, "__dict__", values)
        _put(event, "__pydantic_fields_set__", set(values))
        _put(event, "__pydantic_extra__", None)
        _put(event, "__pydantic_private__", None)
        return event


_put = object.__setattr__


# Turns come from outside, so TurnEvent validates exactly what its published JSON
# Schema (topics/gw.turns.v1.schema.json) accepts, and no more (tests/unit/
# test_validate.py checks it input by input): pydantic's lax coercions ("3" or true
# for an int, a number for a datetime) are off, and every pattern reads the same to
# Python's re, ECMA-262 and Rust's regex.

#: Largest ``seq``: the largest integer every JSON parser holds exactly (2**53 - 1).
MAX_SEQ = 2**53 - 1

#: An RFC 3339 ``date-time`` (section 5.6), offset required; ``t`` and ``z`` may be lower case.
RFC3339_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
ID_PATTERN = r"^[A-Za-z0-9._\-]+$"

# Python's re (the jsonschema package) lets "$" match before a final "\n"; pydantic's
# Rust regex and ECMA-262 do not. The schema says "no newline" outright so all agree.
_NO_NEWLINE: dict[str, Any] = {"not": {"pattern": r"\n"}}


def _json_integer(low: int, high: int) -> CoreSchema:
    """A JSON integer in [low, high]: an int, or a number with no fraction such as ``3.0``.

    JSON Schema's ``integer`` is any number whose fractional part is zero, so ``3.0``
    must pass as 3; strings and booleans must not.
    """
    number = core_schema.union_schema(
        [core_schema.int_schema(strict=True), core_schema.float_schema(strict=True)],
        custom_error_type="json_integer",
        custom_error_message="Input should be an integer",
    )
    return core_schema.chain_schema([number, core_schema.int_schema(ge=low, le=high)])


def _rfc3339_datetime() -> CoreSchema:
    """An aware datetime, given as an RFC 3339 string (or, from Python, as a datetime).

    The pattern checks the form; pydantic's parser then checks the calendar (no
    February 30th, no year 0), as the ``date-time`` format checker does.
    """
    text = core_schema.chain_schema(
        [
            core_schema.str_schema(strict=True, pattern=RFC3339_PATTERN),
            core_schema.datetime_schema(tz_constraint="aware"),
        ]
    )
    aware = core_schema.datetime_schema(strict=True, tz_constraint="aware")
    kind = "rfc3339_datetime"
    message = (
        "Input should be an RFC 3339 date-time with an offset, on a date and at a time that "
        "exist, like 2026-11-20T08:00:00Z"
    )
    return core_schema.json_or_python_schema(
        json_schema=core_schema.custom_error_schema(
            text, custom_error_type=kind, custom_error_message=message
        ),
        python_schema=core_schema.union_schema(
            [aware, text], custom_error_type=kind, custom_error_message=message
        ),
    )


InputId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN),
    Field(json_schema_extra=_NO_NEWLINE),
]
Seq = Annotated[
    int,
    GetPydanticSchema(lambda _t, _h: _json_integer(0, MAX_SEQ)),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_SEQ}),
]
Rfc3339Datetime = Annotated[
    datetime,
    GetPydanticSchema(lambda _t, _h: _rfc3339_datetime()),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN, **_NO_NEWLINE}
    ),
]


class TurnEvent(Event):
    """One conversation turn published by a contact-center platform (``gw.turns.v1``).

    The record key must be ``tenant_id:session_id``; turns of one session are
    answered in the order of their offsets. Nothing is coerced: ``seq`` is a JSON
    number with no fraction, ``occurred_at`` an RFC 3339 string, ids plain ASCII.
    """

    ce_type: ClassVar[str] = "com.gwstream.turn.v1"

    turn_id: InputId = Field(description="Unique id of this turn, chosen by the publisher.")
    tenant_id: InputId
    session_id: InputId
    seq: Seq = Field(description="Position of the turn in its session, from 0.")
    occurred_at: Rfc3339Datetime = Field(
        description="When the turn happened: an RFC 3339 date-time with an offset."
    )
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
    response_format: Literal["text", "json"] = Field(
        default="text",
        description="json: the answer must be a JSON document, or the turn's status says "
        "it is not (invalid_output).",
    )
    response_schema: dict[str, Any] | None = Field(
        default=None,
        description="A JSON Schema the answer must satisfy (implies response_format json); "
        "the turn may be nested at most 200 levels deep.",
    )

    @property
    def key(self) -> str:
        return session_key(self.tenant_id, self.session_id)


ResponseStatus = Literal["ok", "refused", "failed", "invalid_output"]
BudgetMode = Literal["standard", "lightweight"]


# Not frozen: built on every turn, and a frozen dataclass takes 3-5 times as long
# to build. Never changed once built.
@dataclass(slots=True)
class BudgetInfo:
    """A turn's budgets after the turn, the same on its response, cost and audit events.

    ``mode`` is the system instruction the turn got (``lightweight`` when its
    session's token budget ran low). The session fields are set when the
    tenant gives its sessions a token budget, the tenant fields when it has
    spend limits (spend in the UTC day and month of the turn, as this
    instance saw it, this turn's cost included); the rest are null.
    """

    # A plain dataclass, which pydantic validates and serialises as a field of the
    # events: it is built on every turn of a tenant with budgets, a model costs more.

    __pydantic_config__ = ConfigDict(extra="forbid")

    mode: BudgetMode = "standard"
    session_tokens_used: Annotated[int, Field(ge=0)] | None = None
    session_tokens_left: Annotated[int, Field(ge=0)] | None = None
    session_window_start: Annotated[
        AwareDatetime | None,
        Field(description="Start of the session's budget window; null: the conversation"),
    ] = None
    tenant_spend_day: Money | None = None
    tenant_limit_day: Money | None = None
    tenant_spend_month: Money | None = None
    tenant_limit_month: Money | None = None
    currency: str | None = None


# A turn's limits are those of many turns before it: remember their forms.
@functools.lru_cache(maxsize=64)
def _iso(at: datetime) -> str:
    return at.isoformat()


@functools.lru_cache(maxsize=256)
def _plain(limit: Decimal) -> str:
    return format(limit, "f")


_last_budget: tuple[BudgetInfo, dict[str, Any]] | None = None


def _budget_json(b: BudgetInfo) -> dict[str, Any]:
    """The JSON of a turn's budget, made once for its three events (they share the object)."""
    global _last_budget
    last = _last_budget
    if last is not None and last[0] is b:
        return last[1]
    start, spend_day, spend_month = b.session_window_start, b.tenant_spend_day, b.tenant_spend_month
    limit_day, limit_month = b.tenant_limit_day, b.tenant_limit_month
    d = {
        "mode": b.mode,
        "session_tokens_used": b.session_tokens_used,
        "session_tokens_left": b.session_tokens_left,
        "session_window_start": _iso(start) if start is not None else None,
        "tenant_spend_day": format(spend_day, "f") if spend_day is not None else None,
        "tenant_limit_day": _plain(limit_day) if limit_day is not None else None,
        "tenant_spend_month": format(spend_month, "f") if spend_month is not None else None,
        "tenant_limit_month": _plain(limit_month) if limit_month is not None else None,
        "currency": b.currency,
    }
    _last_budget = (b, d)
    return d


#: A budget on an event: validated as :class:`BudgetInfo`, serialised by :func:`_budget_json`.
Budget = Annotated[
    BudgetInfo,
    PlainSerializer(_budget_json, when_used="json"),
    WithJsonSchema(TypeAdapter(BudgetInfo).json_schema(mode="serialization")),
]


InjectionAction = Literal["flag", "filter", "block"]


@dataclass(slots=True)
class GuardInfo:
    """What the guardrails found in a turn and did about it (never a raw value).

    ``injection_action`` is set when the injection rules flagged the turn:
    what the tenant's policy did (answer and record it, replace the span, or
    refuse the turn). ``pii`` and ``output_pii`` count the PII values
    replaced by placeholders in the turn and in the answer, by type.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    injection_score: float = 0.0
    injection_rule: str | None = None
    injection_action: InjectionAction | None = None
    pii: dict[str, int] = dataclasses.field(default_factory=dict)
    output_pii: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def redacted(self) -> bool:
        return bool(self.pii or self.output_pii)

    @property
    def flagged(self) -> bool:
        return self.injection_action is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "injection_score": self.injection_score,
            "injection_rule": self.injection_rule,
            "injection_action": self.injection_action,
            "pii": self.pii,
            "output_pii": self.output_pii,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GuardInfo:
        return cls(
            float(d.get("injection_score", 0.0)),
            d.get("injection_rule"),
            d.get("injection_action"),
            dict(d.get("pii") or {}),
            dict(d.get("output_pii") or {}),
        )


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
    budget: Budget | None = Field(default=None, description="Null: the tenant has no budgets")
    redacted: bool = Field(
        default=False, description="PII in the turn or the answer was replaced by placeholders"
    )
    flagged: bool = Field(
        default=False, description="The injection rules flagged the turn (see the audit event)"
    )
    cached: bool = Field(
        default=False,
        description="Answered from the tenant's cache: no gateway call, no gateway cost "
        "(input_tokens and output_tokens are 0; the cost event carries the avoided cost)",
    )
    use_case: str | None = Field(
        default=None, description="The tenant's prompt use case (null: no versioned prompts)"
    )
    prompt_version: str | None = Field(
        default=None, description="The prompt version (the experiment's variant) the turn got"
    )


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
    budget: Budget | None = None
    status: ResponseStatus | None = Field(
        default=None, description="The turn's response status (null in events of older versions)"
    )
    latency_ms: float = Field(default=0.0, ge=0)
    cached: bool = Field(default=False, description="Answered from the cache: cost is 0")
    avoided_cost: Money = Field(
        default=Decimal(0),
        description="What a cached answer's call would have cost at the price of the day",
    )
    use_case: str | None = None
    prompt_version: str | None = None
    cached_input_tokens: int = Field(
        default=0, ge=0, description="Of input_tokens, those the gateway read from its prompt cache"
    )
    price_version: str | None = Field(
        default=None, description="The price map (or tenant override) that priced the turn"
    )


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
    input_sha256: str = Field(
        description="SHA-256 (hex) of the turn's text as the guardrails left it: with PII "
        "replaced by placeholders and a filtered instruction removed, so it cannot confirm "
        "a guessed value"
    )
    input_chars: int = Field(ge=0, description="Length of the turn's own text, in characters")
    output_chars: int = Field(default=0, ge=0)
    history_messages: int = Field(
        default=0, ge=0, description="Messages of the session's history sent with the turn"
    )
    replayed: bool = Field(
        default=False,
        description="Answered from the session's state (a redelivered or republished turn): "
        "no gateway call; the response and cost events equal the first ones",
    )
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    budget: Budget | None = None
    guardrails: GuardInfo | None = Field(
        default=None, description="Findings of the guardrails: counts and rules, no values"
    )
    cache: Literal["exact", "intent"] | None = Field(
        default=None,
        description="Which cache answered the turn (exact: the same request; intent: the same "
        "opening question); null: not from the cache",
    )
    use_case: str | None = None
    prompt_version: str | None = None


class BudgetNotice(OutputEvent):
    """A tenant's spend crossed its soft threshold or reached its limit (``gw.audit.v1``).

    Published once per tenant, period, window and level by each processor
    instance that sees it happen, with an ``event_id`` derived from those four,
    so that every instance's notice is the same event and consumers (alerts,
    webhooks) dedupe it like any other. The turn fields name the turn that
    triggered it. Tell it from an audit event by ``ce_type``
    (``com.gwstream.budget_notice.v1``) or by its ``level`` field.
    """

    ce_type: ClassVar[str] = "com.gwstream.budget_notice.v1"
    kind: ClassVar[str] = "budget_notice"

    period: Literal["day", "month"]
    window: str = Field(description="The UTC window: 2026-12-01 for a day, 2026-12 for a month")
    level: Literal["soft_threshold", "exhausted"]
    spend: Money = Field(description="The tenant's spend in the window when it was noticed")
    limit: Money
    threshold: float = Field(gt=0, lt=1, description="The soft threshold, a share of the limit")
    currency: str = Field(min_length=3, max_length=3)

    @staticmethod
    def id_for(tenant_id: str, period: str, window: str, level: str) -> str:
        return event_id(f"{tenant_id}/{period}/{window}", f"{BudgetNotice.kind}/{level}")


class AuditRecord(RootModel[AuditEvent | BudgetNotice]):
    """What the audit topic carries: an audit event per turn, and budget notices."""


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
        ("ce_subject", turn.turn_id.encode()),
        ("ce_time", turn.occurred_at.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
