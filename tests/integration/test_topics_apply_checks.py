"""`gwstream topics apply` on topics that already exist: partition counts and configs
checked against the specs, configs that differ set, what it cannot fix an exit 2."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from gwstream import topics
from gwstream.config import KafkaSettings, TopicNames

pytestmark = pytest.mark.integration

ROLES = ("turns", "responses", "costs", "audit", "dlq", "sessions", "webhooks_dlq")


@pytest_asyncio.fixture
async def admin(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await client.start()
    yield client
    await client.close()


@pytest.fixture
def names() -> TopicNames:
    """Fresh topic names, none of them created yet."""
    return TopicNames.prefixed(f"c-{uuid.uuid4().hex[:8]}", partitions=4)


async def configs_of(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    ((_code, _message, _type, _name, entries),) = response.resources
    return {e[0]: e[1] for e in entries}


async def topics_apply(kafka: KafkaSettings, names: TopicNames) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env["GWSTREAM_KAFKA__BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    env["GWSTREAM_TOPICS__PARTITIONS"] = str(names.partitions)
    env.update({f"GWSTREAM_TOPICS__{r.upper()}": getattr(names, r) for r in ROLES})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gwstream",
        "topics",
        "apply",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("role", ["turns", "costs"])
async def test_an_existing_topic_with_too_few_partitions_exits_2_naming_it_and_the_difference(
    kafka: KafkaSettings, names: TopicNames, admin: AIOKafkaAdminClient, role: str
) -> None:
    topic = getattr(names, role)
    await admin.create_topics([NewTopic(topic, 2, 1)])
    code, out, err = await topics_apply(kafka, names)
    assert code == 2, err
    assert f"topic {topic} has 2 partitions, its spec asks for 4" in err
    # Before the error, what it did: every other topic created, this one found (its
    # configs set to the spec's, which apply can fix).
    states = dict(line.split("\t")[:2] for line in out.splitlines())
    assert states.pop(topic) in {"exists", "altered"}
    assert set(states.values()) == {"created"}, out
    assert len(states) == len(ROLES) - 1, out


async def test_a_topic_created_without_the_specs_configs_gets_them_and_says_so(
    kafka: KafkaSettings, names: TopicNames, admin: AIOKafkaAdminClient
) -> None:
    # What a broker's auto-creation leaves: the spec's partitions, no configs of its own.
    await admin.create_topics([NewTopic(names.costs, 4, 1)])
    before = await configs_of(admin, names.costs)
    assert before.get("retention.ms") != str(5 * topics.WEEK_MS)

    result = await topics.apply(kafka, names)

    assert result[names.costs].state == "altered"
    assert any(
        n.startswith("retention.ms ") and n.endswith(f"-> {5 * topics.WEEK_MS}")
        for n in result[names.costs].notes
    ), result[names.costs]
    after = await configs_of(admin, names.costs)
    assert after["retention.ms"] == str(5 * topics.WEEK_MS)
    assert after["cleanup.policy"] == "delete"
    assert (await topics.apply(kafka, names))[names.costs].state == "exists"


async def test_a_retention_longer_than_the_spec_is_kept_not_shortened(
    kafka: KafkaSettings, names: TopicNames, admin: AIOKafkaAdminClient
) -> None:
    forever = {"retention.ms": "-1", "cleanup.policy": "delete"}
    await admin.create_topics([NewTopic(names.costs, 4, 1, topic_configs=forever)])

    result = await topics.apply(kafka, names)

    assert result[names.costs].state == "exists"
    assert any("retention.ms -1 kept" in n for n in result[names.costs].notes)
    assert (await configs_of(admin, names.costs))["retention.ms"] == "-1"


async def test_apply_prints_each_topic_with_what_it_altered(
    kafka: KafkaSettings, names: TopicNames, admin: AIOKafkaAdminClient
) -> None:
    await admin.create_topics([NewTopic(names.costs, 4, 1)])
    code, out, err = await topics_apply(kafka, names)
    assert code == 0, err
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in out.splitlines()}
    assert lines[names.turns] == ["created"]
    state, *notes = lines[names.costs]
    assert state == "altered"
    assert any(n.startswith("retention.ms ") for n in notes), notes
