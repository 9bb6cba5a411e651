"""Declarative topic specs, their payload schemas, and idempotent apply.

The specs live here, in code, so an installed gwstream can apply them; the
repository's ``topics/`` folder holds their rendered form (one spec and one
JSON Schema per topic) for platform teams to read, and a test fails when the
two drift. ``gwstream topics export`` rewrites ``topics/``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel

from gwstream.config import KafkaSettings, TopicNames
from gwstream.errors import TopicError
from gwstream.events import AuditRecord, CostEvent, ResponseEvent, TurnEvent
from gwstream.kafkaio import start_client
from gwstream.webhooks.deadletter import WebhookDeadLetter

WEEK_MS = 7 * 24 * 3600 * 1000

_HEADERS = {
    "events": "CloudEvents binary mode: ce_specversion, ce_id, ce_type, ce_source, ce_subject "
    "(outputs: the turn id), ce_time, content-type",
    "dlq": "the original record's headers plus gw_dlq_reason, gw_dlq_detail, gw_dlq_source_topic, "
    "gw_dlq_source_partition, gw_dlq_source_offset, gw_dlq_failed_at",
    "sessions": "none on state changes; gw_state=fence|snapshot on the runtime's control records "
    "(key NUL + 'gwstream'), which readers skip",
}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its name, layout, configs, and the model of its payload (None: raw bytes)."""

    role: str
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    payload: type[BaseModel] | None = None
    description: str = ""

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "description": self.description,
            "partitions": self.partitions,
            "replication_factor": self.replication_factor,
            "configs": dict(sorted(self.configs.items())),
            "key": "tenant_id:session_id (UTF-8)",
            "payload_schema": f"{self.name}.schema.json" if self.payload else None,
            "headers": _HEADERS.get(self.role, _HEADERS["events"]),
        }

    def json_schema(self) -> dict[str, Any] | None:
        if self.payload is None:
            return None
        mode: Literal["validation", "serialization"] = (
            "validation" if self.payload is TurnEvent else "serialization"
        )
        schema = self.payload.model_json_schema(mode=mode)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:gwstream:topic:{self.name}"
        return schema


def topic_specs(names: TopicNames | None = None) -> list[TopicSpec]:
    """The topics gwstream reads and writes, as configured."""
    n = names or TopicNames()
    common = {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)}
    p, rf = n.partitions, n.replication_factor
    return [
        TopicSpec(
            "turns",
            n.turns,
            p,
            rf,
            common,
            TurnEvent,
            "Conversation turns, published by platforms.",
        ),
        TopicSpec("responses", n.responses, p, rf, common, ResponseEvent, "One answer per turn."),
        TopicSpec(
            "costs",
            n.costs,
            p,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(5 * WEEK_MS)},
            CostEvent,
            "Tokens and money per turn. Kept 35 days: every processor rebuilds its tenants' "
            "spend in the current UTC day and month from it at start.",
        ),
        TopicSpec(
            "audit",
            n.audit,
            p,
            rf,
            common,
            AuditRecord,
            "What happened to each turn (no raw text), and tenant budget notices "
            "(ce_type com.gwstream.budget_notice.v1: a soft threshold crossed or a limit reached).",
        ),
        TopicSpec(
            "dlq",
            n.dlq,
            p,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(4 * WEEK_MS)},
            None,
            "Input records that could not be processed, bytes untouched, reason in headers.",
        ),
        TopicSpec(
            "sessions",
            n.sessions,
            p,
            rf,
            {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
            None,
            "Session state changelog, co-partitioned with turns: per key the session's whole "
            "state (JSON, versioned; see gwstream.pipeline.session), null when it expired. "
            "Restores read from the partition's last snapshot (the committed offset of the "
            "group <processor group>.state).",
        ),
        TopicSpec(
            "webhooks_dlq",
            n.webhooks_dlq,
            p,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(4 * WEEK_MS)},
            WebhookDeadLetter,
            "Webhooks `gwstream webhooks` gave up on (endpoint down, rejecting, or backlogged), "
            "keyed like their source record: event id, tenant, host, attempts, last status, "
            "source position; never the secret, the body or any text of the turn.",
        ),
    ]


def export(directory: Path, names: TopicNames | None = None) -> list[Path]:
    """Write ``<topic>.json`` and ``<topic>.schema.json`` for every topic; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in topic_specs(names):
        for path, doc in rendered(spec).items():
            target = directory / path
            target.write_text(doc)
            written.append(target)
    return written


def rendered(spec: TopicSpec) -> dict[str, str]:
    """File name -> content of a topic's rendered documents."""
    out = {f"{spec.name}.json": json.dumps(spec.to_document(), indent=2) + "\n"}
    schema = spec.json_schema()
    if schema is not None:
        out[f"{spec.name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def names_of(specs: list[TopicSpec], role: str) -> str:
    return next(s.name for s in specs if s.role == role)


async def apply(kafka: KafkaSettings, names: TopicNames | None = None) -> dict[str, str]:
    """Create missing topics; check existing ones have the partitions asked. Idempotent.

    Returns topic name -> ``created`` or ``exists``. Raises TopicError when an
    existing topic has fewer partitions than its spec (per-key order would
    break if we silently repartitioned).
    """
    specs = topic_specs(names)
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=15_000)
    await start_client(admin, kafka)
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        turns = names_of(specs, "turns")
        if turns in existing and any(s.role == "sessions" for s in missing):
            # The changelog must match the input's real partition count, not the default.
            described = await admin.describe_topics([turns])
            count = len(described[0]["partitions"])
            missing = [
                dataclasses.replace(s, partitions=count) if s.role == "sessions" else s
                for s in missing
            ]
        result = {s.name: "exists" for s in specs if s.name in existing}
        if missing:
            new = [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)
                for s in missing
            ]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another instance won the race
            result.update({s.name: "created" for s in missing})
        present = [s for s in specs if s.name in existing]
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            for s in present:
                have = counts.get(s.name, 0)
                if have < s.partitions and s.role == "turns":
                    raise TopicError(
                        f"topic {s.name} has {have} partitions, its spec asks for {s.partitions}; "
                        "set topics.partitions to match or recreate the topic"
                    )
            created = {s.name: s.partitions for s in missing}
            by_role = {s.role: counts.get(s.name, created.get(s.name, s.partitions)) for s in specs}
            if by_role["sessions"] != by_role["turns"]:
                raise TopicError(
                    f"topic {names_of(specs, 'sessions')} has {by_role['sessions']} partitions and "
                    f"{names_of(specs, 'turns')} has {by_role['turns']}: session state is "
                    "co-partitioned with turns, so they must be equal; recreate the changelog"
                )
        return result
    finally:
        await admin.close()
