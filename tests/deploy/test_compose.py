"""deploy/compose.yaml against the code: commands, settings, ports, volumes, order.

Parsed only: see test_deploy.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.deploy.deployfiles import (
    ANY_ADDRESS,
    DEPLOY,
    IMAGE_REPOSITORY,
    READINESS,
    SINK_HEALTH,
    check_command,
    check_topic_names,
    compose,
    compose_config_text,
    compose_env,
    dockerfile_stages,
    duration_s,
    gwstream_image,
    healthcheck_url,
    ineffective_variables,
    published_ports,
    settings_from,
    simulator_option,
)

from gwstream.config import Settings
from gwstream.simulator.server import HEALTH_PATH as SIMULATOR_HEALTH_PATH


def gwstream_services(stack: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    services = stack["services"]
    return {n: s for n, s in services.items() if s["image"].split(":")[0] == IMAGE_REPOSITORY}


def check_compose_settings(stack: Mapping[str, Any], tmp: Path) -> dict[str, Settings]:
    """Each gwstream service's settings load, every GWSTREAM_* variable changes them, and
    they name the topics of topics/."""
    loaded = {}
    for name, svc in gwstream_services(stack).items():
        config = compose_config_text(svc)
        if config is None:
            continue
        env = compose_env(svc)
        loaded[name] = settings_from(env, config, tmp / name)
        assert ineffective_variables(env, config, tmp / name) == [], name
        check_topic_names(loaded[name], f"compose service {name}")
    return loaded


def check_compose_commands(stack: Mapping[str, Any]) -> None:
    for name, svc in gwstream_services(stack).items():
        assert svc["image"] == gwstream_image(), f"{name}: image {svc['image']}"
        assert (DEPLOY / svc["build"]["context"]).resolve() == DEPLOY.parent
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "entrypoint" not in svc, f"{name}: the image's entrypoint is gwstream"
        check_command(svc["command"])


def check_compose_order(stack: Mapping[str, Any]) -> None:
    """Kafka, then the one-shot topic set-up, then everything that reads the topics."""
    services = stack["services"]
    topics = services["topics"]
    assert topics["command"] == ["topics", "apply"] and topics["restart"] == "no"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "healthcheck" in services["kafka"]
    for name, svc in gwstream_services(stack).items():
        if name != "topics" and compose_config_text(svc) is not None:
            condition = svc.get("depends_on", {}).get("topics", {}).get("condition")
            assert condition == "service_completed_successfully", f"{name} does not wait for topics"


def check_compose_kafka(stack: Mapping[str, Any], settings: Mapping[str, Settings]) -> None:
    """Apache Kafka in KRaft mode, advertising the address every service bootstraps from."""
    kafka = stack["services"]["kafka"]
    env = compose_env(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert {"broker", "controller"} <= set(env["KAFKA_PROCESS_ROLES"].split(","))
    assert not any("zookeeper" in k.lower() or "zookeeper" in v for k, v in env.items())
    advertised = [a.split("//", 1)[1] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    for name, s in settings.items():
        for server in s.kafka.bootstrap_servers.split(","):
            assert server in advertised, f"{name}: {server} is not advertised"
            assert server.split(":")[0] in stack["services"], f"{name}: {server} is no service"


def check_compose_ports(stack: Mapping[str, Any], settings: Mapping[str, Settings]) -> None:
    services = stack["services"]
    processor, s = services["processor"], settings["processor"]
    assert s.metrics.port is not None and s.metrics.host == ANY_ADDRESS
    assert s.runtime.process_count() == 1, "one process per container: scale the service"
    exposed = [str(p) for p in processor["expose"]]
    assert str(s.metrics.port) in exposed, f"metrics.port {s.metrics.port}, exposed {exposed}"
    assert healthcheck_url(processor) == (s.metrics.port, READINESS)

    sink, s = services["sink"], settings["sink"]
    assert s.sink.api_port is not None and s.sink.api_host == ANY_ADDRESS
    assert s.sink.api_port in published_ports(sink)
    assert healthcheck_url(sink) == (s.sink.api_port, SINK_HEALTH)

    assert "ports" not in services["webhooks"] and "ports" not in services["topics"]

    simulator = services["simulator"]
    port = int(simulator_option(simulator["command"], "--port"))
    assert simulator_option(simulator["command"], "--host") == ANY_ADDRESS
    assert port in published_ports(simulator)
    assert healthcheck_url(simulator) == (port, SIMULATOR_HEALTH_PATH)
    targets = {
        (urlsplit(u).hostname, urlsplit(u).port)
        for gw in settings["processor"].gateways.values()
        for u in gw.base_urls
    }
    assert ("simulator", port) in targets, f"no gateway points at the simulator: {targets}"


def check_compose_scaling(stack: Mapping[str, Any], settings: Mapping[str, Settings]) -> None:
    processor = stack["services"]["processor"]
    replicas = processor["deploy"]["replicas"]
    assert 1 <= replicas <= settings["processor"].topics.partitions
    assert "container_name" not in processor and "ports" not in processor, (
        "a fixed container name or host port stops the processor from scaling"
    )


def check_compose_sink_volume(
    stack: Mapping[str, Any], settings: Mapping[str, Settings], dockerfile: str
) -> None:
    sink = stack["services"]["sink"]
    folder = str(PurePosixPath(str(settings["sink"].sink.database)).parent)
    mounted = dict(reversed(v.split(":")[:2]) for v in sink["volumes"])
    assert folder in mounted, f"nothing is mounted at {folder}, where sink.database lives"
    assert mounted[folder] in (stack.get("volumes") or {}), f"{mounted[folder]} is no named volume"
    # A named volume takes the owner of the image's folder: the image must create it.
    _, stages = dockerfile_stages(dockerfile)
    assert folder in " ".join(stages[-1].all("RUN")), f"the image does not create {folder}"


def check_compose_webhooks(stack: Mapping[str, Any], settings: Mapping[str, Settings]) -> None:
    """`gwstream webhooks` exits 2 when no tenant has a webhook: then it must be opt-in."""
    webhooks = stack["services"]["webhooks"]
    if not any(t.webhook is not None for t in settings["webhooks"].tenants.values()):
        assert webhooks.get("profiles"), "webhooks has no tenant to serve, yet starts by default"


def check_compose_grace(stack: Mapping[str, Any], settings: Mapping[str, Settings]) -> None:
    """docker stop waits stop_grace_period (10 s by default), then kills: longer than the drain."""
    services = stack["services"]
    drains = {
        "processor": settings["processor"].runtime.drain_timeout_s,
        "webhooks": settings["webhooks"].webhooks.drain_timeout_s,
    }
    for name, drain in drains.items():
        grace = duration_s(services[name].get("stop_grace_period", "10s"))
        assert grace > drain, (
            f"{name}: stop_grace_period {grace} s is not above its drain {drain} s"
        )


@pytest.fixture(scope="module")
def compose_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    return check_compose_settings(compose(), tmp_path_factory.mktemp("compose"))


def test_compose_services_load_their_settings_and_every_variable_counts(
    compose_settings: dict[str, Settings],
) -> None:
    assert set(compose_settings) == {"topics", "processor", "sink", "webhooks"}


def test_compose_runs_real_gwstream_commands_from_the_image() -> None:
    check_compose_commands(compose())


def test_compose_sets_up_the_topics_once_before_anything_reads_them() -> None:
    check_compose_order(compose())


def test_compose_runs_kafka_in_kraft_mode_where_the_services_look_for_it(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_kafka(compose(), compose_settings)


def test_compose_ports_and_health_checks_match_the_settings(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_ports(compose(), compose_settings)


def test_compose_processor_scales_up_to_the_partitions(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_scaling(compose(), compose_settings)


def test_compose_sink_keeps_its_database_on_a_named_volume(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_sink_volume(compose(), compose_settings, (DEPLOY / "Dockerfile").read_text())


def test_compose_starts_webhooks_only_when_asked_while_no_tenant_has_one(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_webhooks(compose(), compose_settings)


def test_compose_waits_for_the_processor_and_webhooks_to_drain(
    compose_settings: dict[str, Settings],
) -> None:
    check_compose_grace(compose(), compose_settings)


def test_a_stop_grace_period_within_the_drain_is_rejected(
    compose_settings: dict[str, Settings],
) -> None:
    stack = compose()
    stack["services"]["processor"]["stop_grace_period"] = "10s"
    with pytest.raises(AssertionError, match="stop_grace_period"):
        check_compose_grace(stack, compose_settings)


def test_webhooks_started_by_default_without_a_tenant_webhook_is_rejected(
    compose_settings: dict[str, Settings],
) -> None:
    stack = compose()
    del stack["services"]["webhooks"]["profiles"]
    with pytest.raises(AssertionError, match="no tenant"):
        check_compose_webhooks(stack, compose_settings)


def test_a_processor_with_a_host_port_or_beyond_the_partitions_is_rejected(
    compose_settings: dict[str, Settings],
) -> None:
    stack = compose()
    stack["services"]["processor"]["ports"] = ["9464:9464"]
    with pytest.raises(AssertionError, match="scaling"):
        check_compose_scaling(stack, compose_settings)
    stack = compose()
    stack["services"]["processor"]["deploy"]["replicas"] = 9
    with pytest.raises(AssertionError):
        check_compose_scaling(stack, compose_settings)
