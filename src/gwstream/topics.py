"""Declarative topic specs, their payload schemas, and idempotent apply.

The specs live here, in code, so an installed gwstream can apply them; the
repository's ``topics/`` folder holds their rendered form (one spec and one
JSON Schema per topic) for platform teams to read, and a test fails when the
two drift. ``gwstream topics export`` rewrites ``topics/``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    IncompatibleBrokerVersion,
    KafkaError,
    TopicAlreadyExistsError,
    for_code,
)
from pydantic import BaseModel

from gwstream.config import KafkaSettings, TopicNames
from gwstream.errors import BrokerError, TopicError
from gwstream.events import AuditRecord, CostEvent, ResponseEvent, TurnEvent
from gwstream.kafkaio import set_topic_configs, start_client
from gwstream.webhooks.deadletter import WebhookDeadLetter

logger = logging.getLogger(__name__)

WEEK_MS = 7 * 24 * 3600 * 1000

_HEADERS = {
    "events": "CloudEvents binary mode: ce_specversion, ce_id, ce_type, ce_source, ce_subject "
    "(the turn id), ce_time, content-type",
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
            "Input records that could not be processed, as they came but for PII (replaced, with a gw_scrubbed header), reason in headers.",
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


TopicState = Literal["created", "exists", "altered"]


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply` did with one topic, and what it noticed on the way."""

    state: TopicState
    notes: tuple[str, ...] = ()
    """The configs altered (``retention.ms 604800000 -> 3024000000``), differences
    kept on purpose (more partitions, a longer retention), or what was not checked."""


#: Configs kept when a topic has more than its spec asks: lowering a retention would
#: delete records someone chose to keep longer (-1: forever).
_AT_LEAST = frozenset({"retention.ms"})


def config_differences(
    wanted: Mapping[str, str], have: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The configs to set (name -> the spec's value), and the differences kept, described.

    A config ``have`` does not list is unset on the topic, so the broker's default
    applies (Tansu lists only the configs set on a topic; Kafka lists all). A
    retention longer than the spec's, or -1 (forever), is kept.
    """
    to_set: dict[str, str] = {}
    kept: list[str] = []
    for name, want in sorted(wanted.items()):
        value = have.get(name)
        if value == want:
            continue
        if name in _AT_LEAST and value is not None and _longer(value, want):
            kept.append(f"{name} {value} kept: longer than the {want} asked")
            continue
        to_set[name] = want
    return to_set, kept


def _longer(value: str, want: str) -> bool:
    try:
        v, w = int(value), int(want)
    except ValueError:
        return False
    return v < 0 or (w >= 0 and v > w)


def partition_problems(
    specs: list[TopicSpec], counts: Mapping[str, int], checked: set[str]
) -> tuple[list[str], dict[str, str]]:
    """What is wrong with the partition counts, and notes on counts kept.

    ``counts`` holds every topic's partition count (those just created too);
    ``checked`` names the topics that existed, whose counts are compared with
    their spec. Fewer partitions than the spec asks is a problem (apply never
    changes a count: keys would move to other partitions); more is kept. The
    changelog must have as many partitions as the turns topic, whatever the spec.
    """
    problems: list[str] = []
    notes: dict[str, str] = {}
    turns, sessions = names_of(specs, "turns"), names_of(specs, "sessions")
    auto_created_hint = False
    for s in specs:
        have = counts.get(s.name)
        if s.name not in checked or have is None or have == s.partitions:
            continue
        if have > s.partitions:
            notes[s.name] = f"{have} partitions kept: more than the {s.partitions} asked"
        elif s.role in ("turns", "sessions"):
            other = counts.get(sessions if s.role == "turns" else turns)
            if other is not None and other != have:
                continue  # the pair disagrees: the co-partitioning problem below says what to do
            problems.append(
                f"topic {s.name} has {have} partitions, its spec asks for {s.partitions}: set "
                f"topics.partitions to {have}, or add partitions to {turns} and {sessions} "
                "together (see the runbook's Scaling)"
            )
        else:
            auto_created_hint = True
            problems.append(
                f"topic {s.name} has {have} partitions, its spec asks for {s.partitions}: add "
                f"partitions with your cluster's tools (kafka-topics.sh --alter --topic {s.name} "
                f"--partitions {s.partitions})"
            )
    if turns in counts and sessions in counts and counts[turns] != counts[sessions]:
        problems.append(
            f"topic {sessions} has {counts[sessions]} partitions and {turns} has "
            f"{counts[turns]}: session state is co-partitioned with turns, so they must be "
            "equal; recreate the changelog"
        )
    if auto_created_hint:
        problems.append(
            "(a topic the broker created by itself, with auto.create.topics.enable, because a "
            "client used it before `gwstream topics apply`, has the broker's default partitions "
            "and configs)"
        )
    return problems, notes


def creation_outcomes(
    topic_errors: Sequence[Sequence[Any]],
) -> tuple[set[str], list[str]]:
    """Read a CreateTopics response's ``(topic, error_code[, message])`` entries (aiokafka
    returns them; it raises for none): the topics another client created meanwhile (a
    race, harmless), and a sentence for each topic the broker refused to create."""
    raced: set[str] = set()
    failed: list[str] = []
    for topic, code, *rest in topic_errors:
        if code == 0:
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            raced.add(topic)
            continue
        message = rest[0] if rest and rest[0] else error.description
        failed.append(f"{topic}: {error.__name__} ({message})")
    return raced, failed


class TopicsDiffer(TopicError):
    """Topics differ from their specs in ways ``apply`` cannot fix; ``applied`` is what it
    did to every topic before it gave up (created, altered, exists, with notes)."""

    def __init__(self, message: str, applied: dict[str, Applied]) -> None:
        super().__init__(message)
        self.applied = applied


async def apply(kafka: KafkaSettings, names: TopicNames | None = None) -> dict[str, Applied]:
    """Create missing topics; check existing ones against their specs and fix what it can.

    Idempotent. For every topic that exists, compares its partition count and
    the configs its spec sets (cleanup.policy, retention.ms, ...): configs
    that differ are set to the spec's (IncrementalAlterConfigs, which leaves
    the topic's other configs alone); a partition count is never changed.
    Returns topic name -> what was done. Raises TopicError, after doing what
    it could, listing every difference it cannot fix: fewer partitions than
    the spec, a changelog not co-partitioned with turns, a config the broker
    cannot or will not set. A broker that cannot describe configs is no
    error: the topics it concerns say "configs not checked" and why.
    """
    specs = topic_specs(names)
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=15_000)
    await start_client(admin, kafka)
    try:
        existing = set(await admin.list_topics())
        present = [s for s in specs if s.name in existing]
        counts: dict[str, int] = {}
        if present:
            # Only topics the cluster lists: a metadata request for another would
            # let a broker with auto.create.topics.enable create it.
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
        missing = [s for s in specs if s.name not in existing]
        turns = names_of(specs, "turns")
        if turns in counts:
            # The changelog must match the input's real partition count, not the default.
            missing = [
                dataclasses.replace(s, partitions=counts[turns]) if s.role == "sessions" else s
                for s in missing
            ]
        result = {s.name: Applied("exists") for s in present}
        if missing:
            new = [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)
                for s in missing
            ]
            response = await admin.create_topics(new)
            raced, failed = creation_outcomes(response.topic_errors)
            if failed:
                raise TopicError("the broker did not create every topic: " + "; ".join(failed))
            result.update(
                {s.name: Applied("exists" if s.name in raced else "created") for s in missing}
            )
            counts.update({s.name: s.partitions for s in missing})
        problems, partition_notes = partition_problems(specs, counts, existing)
        for name, note in partition_notes.items():
            result[name] = Applied(result[name].state, (*result[name].notes, note))
        problems += await _check_configs(admin, present, result)
        if problems:
            raise TopicsDiffer(
                problems[0]
                if len(problems) == 1
                else "topics differ from their specs in ways `gwstream topics apply` does not "
                "fix:\n  " + "\n  ".join(problems),
                result,
            )
        return result
    finally:
        await admin.close()


async def _check_configs(
    admin: AIOKafkaAdminClient, present: list[TopicSpec], result: dict[str, Applied]
) -> list[str]:
    """Compare the existing topics' configs with their specs, set those that differ, note
    it in ``result``; return the differences it could not set."""
    described = await _topic_configs(admin, [s.name for s in present])
    to_set: dict[str, dict[str, str]] = {}
    before: dict[str, Mapping[str, str]] = {}
    for s in present:
        have = described[s.name]
        if isinstance(have, str):
            result[s.name] = _noted(result[s.name], f"configs not checked: {have}")
            logger.warning("topic %s: configs not checked: %s", s.name, have)
            continue
        changes, kept = config_differences(s.configs, have)
        for note in kept:
            result[s.name] = _noted(result[s.name], note)
        if changes:
            to_set[s.name], before[s.name] = changes, have
    if not to_set:
        return []
    try:
        refused = await set_topic_configs(admin, to_set)
    except IncompatibleBrokerVersion:
        refused = dict.fromkeys(
            to_set, "this broker cannot alter topic configs (no IncrementalAlterConfigs)"
        )
    except KafkaError as exc:
        raise BrokerError(
            f"cannot alter the configs of {', '.join(to_set)} ({type(exc).__name__}): "
            "check that the broker is up and run `gwstream topics apply` again"
        ) from None
    problems: list[str] = []
    for name, changes in to_set.items():
        was = before[name]
        error = refused.get(name, "the broker did not answer for this topic")
        if error is None:
            done = [f"{k} {was.get(k, 'unset')} -> {v}" for k, v in changes.items()]
            result[name] = Applied("altered", (*result[name].notes, *done))
            logger.warning("topic %s altered to its spec: %s", name, "; ".join(done))
            continue
        for k, v in changes.items():
            problems.append(
                f"topic {name}: {k} is {was.get(k, 'unset (the broker default applies)')}, its "
                f"spec asks for {v}, and setting it failed ({error}): set it with your "
                f"cluster's tools (kafka-configs.sh --alter --entity-type topics --entity-name "
                f"{name} --add-config {k}={v})"
            )
    return problems


def _noted(applied: Applied, note: str) -> Applied:
    return Applied(applied.state, (*applied.notes, note))


async def _topic_configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, Mapping[str, str] | str]:
    """Topic -> its configs as the broker describes them, or why they could not be read.

    Asks for every config (no names): Tansu drops the connection when a
    DescribeConfigs names the configs it wants.
    """
    if not names:
        return {}
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    except KafkaError as exc:
        reason = f"the broker did not describe them ({type(exc).__name__})"
        return dict.fromkeys(names, reason)
    out: dict[str, Mapping[str, str] | str] = dict.fromkeys(
        names, "the broker's answer did not name this topic"
    )
    for response in responses:
        for code, message, _type, name, entries in response.resources:
            if code != 0:
                error = f"{for_code(code).__name__}: {message or 'no detail'}"
                out[name] = f"the broker refused to describe them ({error})"
            else:
                out[name] = {e[0]: e[1] for e in entries if e[1] is not None}
    return out
