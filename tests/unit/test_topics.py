from __future__ import annotations

from pathlib import Path

import jsonschema

from gwstream import topics
from gwstream.config import TopicNames
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


def test_configs_the_topic_lacks_or_sets_otherwise_are_set_to_the_specs() -> None:
    wanted = {"cleanup.policy": "delete", "retention.ms": "3024000000"}
    to_set, kept = topics.config_differences(wanted, {"retention.ms": "604800000"})
    assert to_set == wanted
    assert kept == []


def test_matching_configs_and_configs_the_spec_does_not_set_are_left_alone() -> None:
    have = {"cleanup.policy": "delete", "retention.ms": "3024000000", "segment.ms": "1"}
    assert topics.config_differences(
        {"cleanup.policy": "delete", "retention.ms": "3024000000"}, have
    ) == ({}, [])


def test_a_longer_or_endless_retention_is_kept_and_said() -> None:
    wanted = {"retention.ms": "3024000000"}
    for longer in ("9999999999", "-1"):
        to_set, kept = topics.config_differences(wanted, {"retention.ms": longer})
        assert to_set == {}
        assert kept == [f"retention.ms {longer} kept: longer than the 3024000000 asked"]


def _counts(specs: list[topics.TopicSpec], **by_role: int) -> dict[str, int]:
    return {s.name: by_role.get(s.role, s.partitions) for s in specs}


def test_fewer_partitions_than_the_spec_is_a_problem_naming_topic_and_counts() -> None:
    specs = topics.topic_specs(TopicNames(partitions=8))
    counts = _counts(specs, costs=4)
    problems, notes = topics.partition_problems(specs, counts, set(counts))
    assert problems[0].startswith("topic gw.costs.v1 has 4 partitions, its spec asks for 8")
    assert "auto" in problems[-1]  # the likely cause: a broker's auto-creation
    assert notes == {}


def test_more_partitions_than_the_spec_is_kept_with_a_note() -> None:
    specs = topics.topic_specs(TopicNames(partitions=4))
    counts = _counts(specs, turns=6, sessions=6)
    problems, notes = topics.partition_problems(specs, counts, set(counts))
    assert problems == []
    assert notes["gw.turns.v1"] == "6 partitions kept: more than the 4 asked"


def test_a_changelog_not_co_partitioned_with_turns_is_a_problem_even_when_just_created() -> None:
    specs = topics.topic_specs(TopicNames(partitions=4))
    counts = _counts(specs, turns=6)
    problems, _ = topics.partition_problems(specs, counts, checked={"gw.turns.v1"})
    assert problems == [
        "topic gw.sessions.v1 has 4 partitions and gw.turns.v1 has 6: session state is "
        "co-partitioned with turns, so they must be equal; recreate the changelog"
    ]


def test_a_short_changelog_beside_full_turns_gets_only_advice_that_can_work() -> None:
    """turns 4, sessions 2, spec 4: "set topics.partitions to 2" would not help."""
    specs = topics.topic_specs(TopicNames(partitions=4))
    counts = _counts(specs, sessions=2)
    problems, _ = topics.partition_problems(specs, counts, set(counts))
    assert problems == [
        "topic gw.sessions.v1 has 2 partitions and gw.turns.v1 has 4: session state is "
        "co-partitioned with turns, so they must be equal; recreate the changelog"
    ]
    both_short = _counts(specs, turns=2, sessions=2)
    problems, _ = topics.partition_problems(specs, both_short, set(both_short))
    assert all("set topics.partitions to 2" in p for p in problems) and len(problems) == 2


def test_a_topic_the_broker_refused_to_create_is_named_with_why() -> None:
    """aiokafka returns CreateTopics' per-topic errors instead of raising them: a refusal
    (here a replication factor the cluster cannot meet) must not pass for created."""
    from gwstream.topics import creation_outcomes

    raced, failed = creation_outcomes(
        [
            ("gw.turns.v1", 0, None),
            ("gw.costs.v1", 36, "Topic with this name already exists."),
            ("gw.audit.v1", 38, "Replication factor: 3 larger than available brokers: 1."),
        ]
    )
    assert raced == {"gw.costs.v1"}  # another instance created it meanwhile: harmless
    assert failed == [
        "gw.audit.v1: InvalidReplicationFactorError "
        "(Replication factor: 3 larger than available brokers: 1.)"
    ]
