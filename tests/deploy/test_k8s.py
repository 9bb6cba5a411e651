"""deploy/k8s/ against the code: workloads, probes, KEDA, the sink's volume, secrets.

Parsed only: see test_deploy.py.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from tests.deploy.deployfiles import (
    ANY_ADDRESS,
    DEPLOY,
    IMAGE_REPOSITORY,
    LIVENESS,
    READINESS,
    SINK_HEALTH,
    WORKLOADS,
    Manifest,
    check_command,
    check_topic_names,
    container,
    gwstream_image,
    image_user,
    ineffective_variables,
    k8s_config_text,
    k8s_env,
    manifests,
    named_port,
    one,
    pod_labels,
    pod_spec,
    project,
    quantity,
    secret_files,
    selects,
    setting_files,
    settings_from,
    topic_specs_on_disk,
)

from gwstream.config import Settings
from gwstream.errors import ConfigError

PROCESSOR, SINK, WEBHOOKS = "gwstream-processor", "gwstream-sink", "gwstream-webhooks"
CONFIG_ERROR_EXIT = 2
#: In deploy/k8s/ but not applied: kustomization.yaml itself, and the example Secret.
NOT_APPLIED = {"kustomization.yaml", "secret.example.yaml"}


def gwstream_containers(docs: Sequence[Manifest]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (m.doc, c)
        for m in docs
        if m.kind in WORKLOADS
        for c in pod_spec(m.doc)["containers"]
        if c["image"].split(":")[0] == IMAGE_REPOSITORY
    ]


def check_manifest_set(docs: Sequence[Manifest]) -> None:
    """Namespace-agnostic, named, and exactly the files kustomization.yaml applies."""
    (kustomization,) = [m.doc for m in docs if m.file == "kustomization.yaml"]
    for m in docs:
        if m.file == "kustomization.yaml":
            continue
        assert m.doc.get("apiVersion") and m.kind and m.name, f"{m.file}: unnamed document"
        assert "namespace" not in m.doc["metadata"], (
            f"{m.file}: {m.kind} {m.name} names a namespace"
        )
    assert "namespace" not in kustomization
    files = {m.file for m in docs} - NOT_APPLIED
    assert set(kustomization["resources"]) == files, "kustomization.yaml and deploy/k8s/ differ"
    assert not [m for m in docs if m.kind == "Secret" and m.file not in NOT_APPLIED], (
        "a Secret with values is applied: the operator creates it"
    )
    images = {i["name"]: i.get("newTag") for i in kustomization.get("images", [])}
    assert images.get(IMAGE_REPOSITORY, project()["version"]) == project()["version"]


def check_k8s_containers(docs: Sequence[Manifest], uid: int, gid: int) -> None:
    """Every gwstream container: the image at the package's version, a real subcommand
    (the entrypoint is gwstream), non-root as the image's user, bounded resources."""
    found = gwstream_containers(docs)
    assert found, "no workload runs the gwstream image"
    for workload, c in found:
        where = f"{workload['metadata']['name']}/{c['name']}"
        assert c["image"] == gwstream_image(), f"{where}: image {c['image']}"
        assert "command" not in c, f"{where}: command replaces the gwstream entrypoint"
        check_command(c["args"])
        pod = pod_spec(workload).get("securityContext", {})
        assert pod.get("runAsNonRoot") is True and pod.get("runAsUser") == uid, where
        assert pod.get("runAsGroup") == gid, where
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, where
        res = c["resources"]
        for kind in ("cpu", "memory"):
            request, limit = res["requests"][kind], res["limits"][kind]
            assert quantity(request) <= quantity(limit), f"{where}: {kind} request above its limit"


def check_k8s_settings(docs: Sequence[Manifest], tmp: Path) -> dict[str, Settings]:
    """Each workload's settings load, every GWSTREAM_* variable changes them, they name the
    topics of topics/, and all workloads agree on the broker and the topics."""
    loaded = {}
    for workload, c in gwstream_containers(docs):
        name = workload["metadata"]["name"]
        env, config = k8s_env(c), k8s_config_text(docs, workload, c)
        loaded[name] = settings_from(env, config, tmp / name)
        assert ineffective_variables(env, config, tmp / name) == [], name
        check_topic_names(loaded[name], name)
    assert (
        len({(s.kafka.bootstrap_servers, s.topics.model_dump_json()) for s in loaded.values()}) == 1
    )
    return loaded


def check_processor(docs: Sequence[Manifest], settings: Mapping[str, Settings]) -> None:
    deployment = one(docs, "Deployment", PROCESSOR)
    c, s = container(deployment, "processor"), settings[PROCESSOR]
    assert c["args"][: c["args"].index("--processes") + 2] == ["run", "--processes", "1"]
    assert s.metrics.port is not None and s.metrics.host == ANY_ADDRESS
    for probe, path in (
        ("startupProbe", LIVENESS),
        ("livenessProbe", LIVENESS),
        ("readinessProbe", READINESS),
    ):
        get = c[probe]["httpGet"]
        assert get["path"] == path, f"{probe} asks {get['path']}"
        assert named_port(c, get["port"]) == s.metrics.port, f"{probe} is not on metrics.port"
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/port", str(s.metrics.port)) == str(s.metrics.port)
    assert "replicas" not in deployment["spec"], "KEDA owns the processor's replica count"
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert grace > s.runtime.drain_timeout_s, f"grace {grace} s is not above the drain"

    labels = pod_labels(deployment)
    pdbs = [m.doc for m in docs if m.kind == "PodDisruptionBudget"]
    assert [p for p in pdbs if selects(p["spec"]["selector"]["matchLabels"], labels)], "no PDB"
    services = [
        m.doc for m in docs if m.kind == "Service" and selects(m.doc["spec"]["selector"], labels)
    ]
    ports = {named_port(c, p["targetPort"]) for svc in services for p in svc["spec"]["ports"]}
    assert s.metrics.port in ports, "no Service exposes the processor's metrics port"


def check_keda(docs: Sequence[Manifest], settings: Mapping[str, Settings]) -> None:
    """Scale on the processor group's lag of the turns topic, at most one pod a partition."""
    s = settings[PROCESSOR]
    scaled = [m.doc for m in docs if m.kind == "ScaledObject"]
    (so,) = [d for d in scaled if d["spec"]["scaleTargetRef"]["name"] == PROCESSOR]
    assert so["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    (trigger,) = [t for t in so["spec"]["triggers"] if t["type"] == "kafka"]
    meta = trigger["metadata"]
    on_disk = topic_specs_on_disk()
    assert meta["topic"] == s.topics.turns and meta["topic"] in on_disk, meta["topic"]
    assert meta["consumerGroup"] == s.kafka.group_id, meta["consumerGroup"]
    assert meta["bootstrapServers"] == s.kafka.bootstrap_servers, meta["bootstrapServers"]
    assert int(meta["lagThreshold"]) > 0
    partitions = on_disk[meta["topic"]]["partitions"]
    assert so["spec"]["maxReplicaCount"] == partitions == s.topics.partitions, (
        f"maxReplicaCount {so['spec']['maxReplicaCount']}, {meta['topic']} has {partitions} partitions"
    )
    assert 1 <= so["spec"].get("minReplicaCount", 0) <= partitions


def check_sink(docs: Sequence[Manifest], settings: Mapping[str, Settings], gid: int) -> None:
    """One replica (DuckDB has one writer), its database file on a claimed volume."""
    sts = one(docs, "StatefulSet", SINK)
    c, s = container(sts, "sink"), settings[SINK]
    assert sts["spec"]["replicas"] == 1
    folder = str(PurePosixPath(str(s.sink.database)).parent)
    claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts.get(folder) in claims, f"sink.database's folder {folder} is not on a claim"
    assert pod_spec(sts)["securityContext"].get("fsGroup") == gid, "the volume is not writable"
    assert s.sink.api_port is not None and s.sink.api_host == ANY_ADDRESS
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert (get["path"], named_port(c, get["port"])) == (SINK_HEALTH, s.sink.api_port), probe
    service = one(docs, "Service", sts["spec"]["serviceName"])
    assert selects(service["spec"]["selector"], pod_labels(sts))
    assert s.sink.api_port in {named_port(c, p["targetPort"]) for p in service["spec"]["ports"]}


def check_webhooks(docs: Sequence[Manifest], settings: Mapping[str, Settings]) -> None:
    deployment = one(docs, "Deployment", WEBHOOKS)
    s = settings[WEBHOOKS]
    assert container(deployment, "webhooks")["args"] == ["webhooks"]
    assert any(t.webhook is not None for t in s.tenants.values()), "webhooks exits 2 without one"
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert grace > s.webhooks.drain_timeout_s


def check_secrets(docs: Sequence[Manifest], settings: Mapping[str, Settings]) -> None:
    """Every Secret reference names a key of the example Secret; every secret file the
    settings name is mounted where the command that reads it runs; no real values."""
    example = one(docs, "Secret", "gwstream-secrets")
    keys = set(example["stringData"])
    assert all(str(v).startswith("REPLACE-ME") for v in example["stringData"].values())
    readers = {"run": "processor", "webhooks": "webhooks"}
    for workload, c in gwstream_containers(docs):
        name = workload["metadata"]["name"]
        for var in c.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert (ref["name"], ref["key"]) in {(example["metadata"]["name"], k) for k in keys}
        files = secret_files(workload, c)
        assert {secret for secret, _ in files.values()} <= {example["metadata"]["name"]}, name
        assert {key for _, key in files.values()} <= keys, name
        role = readers.get(c["args"][0])
        for reader, path in setting_files(settings[name]):
            if reader == role:
                assert path in files, f"{name} reads {path}, which no Secret volume provides"


def check_topics_job(docs: Sequence[Manifest]) -> None:
    """One shot `gwstream topics apply`; a configuration error (exit 2) fails it at once."""
    jobs = [m.doc for m in docs if m.kind == "Job"]
    (job,) = [j for j in jobs if pod_spec(j)["containers"][0]["args"] == ["topics", "apply"]]
    assert pod_spec(job)["restartPolicy"] == "Never"
    rules = job["spec"]["podFailurePolicy"]["rules"]
    assert any(
        r["action"] == "FailJob" and CONFIG_ERROR_EXIT in r["onExitCodes"]["values"] for r in rules
    )


@pytest.fixture(scope="module")
def docs() -> list[Manifest]:
    return manifests()


@pytest.fixture(scope="module")
def image_ids() -> tuple[int, int]:
    return image_user((DEPLOY / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def k8s_settings(
    docs: list[Manifest], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Settings]:
    return check_k8s_settings(docs, tmp_path_factory.mktemp("k8s"))


def test_manifests_are_namespace_agnostic_and_all_applied(docs: list[Manifest]) -> None:
    assert {m.file for m in docs} >= {"kustomization.yaml", "secret.example.yaml"}
    check_manifest_set(docs)


def test_containers_run_real_commands_of_the_image_as_its_user(
    docs: list[Manifest], image_ids: tuple[int, int]
) -> None:
    check_k8s_containers(docs, *image_ids)


def test_workloads_load_their_settings_and_every_variable_counts(
    k8s_settings: dict[str, Settings],
) -> None:
    assert set(k8s_settings) == {"gwstream-topics", PROCESSOR, SINK, WEBHOOKS}


def test_processor_probes_its_metrics_port_and_has_a_budget_and_a_service(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    check_processor(docs, k8s_settings)


def test_keda_scales_the_processor_on_turns_lag_up_to_the_partitions(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    check_keda(docs, k8s_settings)


def test_sink_is_one_replica_with_its_database_on_a_claimed_volume(
    docs: list[Manifest], k8s_settings: dict[str, Settings], image_ids: tuple[int, int]
) -> None:
    check_sink(docs, k8s_settings, image_ids[1])


def test_webhooks_has_a_tenant_to_serve_and_time_to_drain(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    check_webhooks(docs, k8s_settings)


def test_secrets_are_referenced_not_shipped_and_mounted_where_read(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    check_secrets(docs, k8s_settings)


def test_topics_job_fails_at_once_on_a_configuration_error(docs: list[Manifest]) -> None:
    check_topics_job(docs)


# -- the checks fail on broken copies -----------------------------------------------------


def broken(docs: Sequence[Manifest], kind: str, name: str) -> tuple[list[Manifest], dict[str, Any]]:
    """A deep copy of the manifests, and the document to break in it."""
    copied = copy.deepcopy(list(docs))
    return copied, one(copied, kind, name)


@pytest.mark.parametrize(
    ("name", "value"),
    [("GWSTREAM_METRICS__PROT", "9464"), ("GWSTREAM_METRIC__PORT", "9464")],
)
def test_a_misspelt_variable_fails_to_load(
    docs: list[Manifest], tmp_path: Path, name: str, value: str
) -> None:
    deployment = one(docs, "Deployment", PROCESSOR)
    c = container(deployment, "processor")
    env = {**k8s_env(c), name: value}
    with pytest.raises(ConfigError):
        settings_from(env, k8s_config_text(docs, deployment, c), tmp_path)


def test_a_variable_repeating_the_configuration_is_reported(
    docs: list[Manifest], tmp_path: Path
) -> None:
    deployment = one(docs, "Deployment", PROCESSOR)
    c = container(deployment, "processor")
    env = {**k8s_env(c), "GWSTREAM_KAFKA__GROUP_ID": "gwstream-processor"}
    config = k8s_config_text(docs, deployment, c)
    assert ineffective_variables(env, config, tmp_path) == ["GWSTREAM_KAFKA__GROUP_ID"]


def test_a_scaled_object_beyond_the_partitions_or_on_another_group_is_rejected(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    copied, so = broken(docs, "ScaledObject", PROCESSOR)
    so["spec"]["maxReplicaCount"] = 9
    with pytest.raises(AssertionError, match="maxReplicaCount"):
        check_keda(copied, k8s_settings)
    copied, so = broken(docs, "ScaledObject", PROCESSOR)
    so["spec"]["triggers"][0]["metadata"]["consumerGroup"] = "gwstream-sink"
    with pytest.raises(AssertionError):
        check_keda(copied, k8s_settings)
    copied, so = broken(docs, "ScaledObject", PROCESSOR)
    so["spec"]["triggers"][0]["metadata"]["topic"] = "gw.turn.v1"
    with pytest.raises(AssertionError):
        check_keda(copied, k8s_settings)


def test_a_probe_off_the_metrics_port_or_a_short_grace_is_rejected(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    copied, deployment = broken(docs, "Deployment", PROCESSOR)
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = (
        9465
    )
    with pytest.raises(AssertionError, match=r"metrics\.port"):
        check_processor(copied, k8s_settings)
    copied, deployment = broken(docs, "Deployment", PROCESSOR)
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 10
    with pytest.raises(AssertionError, match="grace"):
        check_processor(copied, k8s_settings)


def test_a_second_sink_or_a_database_off_the_volume_is_rejected(
    docs: list[Manifest], k8s_settings: dict[str, Settings], image_ids: tuple[int, int]
) -> None:
    copied, sts = broken(docs, "StatefulSet", SINK)
    sts["spec"]["replicas"] = 2
    with pytest.raises(AssertionError):
        check_sink(copied, k8s_settings, image_ids[1])
    copied, sts = broken(docs, "StatefulSet", SINK)
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][1]["mountPath"] = "/data"
    with pytest.raises(AssertionError, match=r"sink\.database"):
        check_sink(copied, k8s_settings, image_ids[1])


def test_a_secret_file_no_volume_provides_is_rejected(
    docs: list[Manifest], k8s_settings: dict[str, Settings]
) -> None:
    copied, deployment = broken(docs, "Deployment", PROCESSOR)
    (secrets,) = [v for v in pod_spec(deployment)["volumes"] if "secret" in v]
    deployment["spec"]["template"]["spec"]["volumes"].remove(secrets)
    deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        m
        for m in container(deployment, "processor")["volumeMounts"]
        if m["name"] != secrets["name"]
    ]
    with pytest.raises(AssertionError, match="no Secret volume provides"):
        check_secrets(copied, k8s_settings)
