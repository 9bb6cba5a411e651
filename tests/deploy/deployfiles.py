"""Readers for deploy/: the Dockerfile, the compose file, the Kubernetes manifests, and
what each container would run and load.

Pure parsing: nothing is built, started or fetched. The checks live in
``test_deploy.py``, ``test_compose.py`` and ``test_k8s.py``; these helpers only turn
files into data.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import typer
import yaml
from pydantic import ValidationError

from gwstream.cli import app
from gwstream.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
CONFIG_ENV = "GWSTREAM_CONFIG"
IMAGE_REPOSITORY = "gwstream"
#: Where health is asked: the processor's on its metrics port, the sink's on its API port.
LIVENESS, READINESS, SINK_HEALTH = "/healthz", "/readyz", "/healthz"
#: What a server in a container listens on, to be reached from outside it.
ANY_ADDRESS = "0.0.0.0"


def project() -> dict[str, Any]:
    """pyproject.toml's ``[project]`` table."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def topic_specs_on_disk() -> dict[str, dict[str, Any]]:
    """topics/*.json specs (not the payload schemas) by topic name."""
    specs = (json.loads(p.read_text()) for p in sorted((REPO / "topics").glob("*.json")))
    return {s["name"]: s for s in specs if "partitions" in s}


def check_topic_names(settings: Settings, where: str) -> None:
    on_disk = topic_specs_on_disk()
    for role in ("turns", "responses", "costs", "audit", "dlq", "sessions", "webhooks_dlq"):
        name = getattr(settings.topics, role)
        assert name in on_disk, f"{where}: topics.{role} {name!r} is not in topics/"
    turns = on_disk[settings.topics.turns]
    assert settings.topics.partitions == turns["partitions"], (
        f"{where}: topics.partitions {settings.topics.partitions} but topics/ has "
        f"{turns['partitions']} for {turns['name']}"
    )


# -- Dockerfile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def dockerfile_stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            arg, _, default = args.partition("=")
            global_args[arg] = default
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return global_args, stages


def image_user(dockerfile: str) -> tuple[int, int]:
    """uid and gid of the final stage's last USER (test_deploy checks they are numeric)."""
    _, stages = dockerfile_stages(dockerfile)
    uid, _, gid = stages[-1].all("USER")[-1].partition(":")
    return int(uid), int(gid)


def dockerignore_allowed(text: str) -> set[str]:
    """The paths an allow-list .dockerignore (``*`` then ``!path`` lines) lets in."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines and lines[0] == "*", "the .dockerignore must start by excluding everything (*)"
    return {ln[1:] for ln in lines if ln.startswith("!")}


# -- compose ------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def gwstream_image() -> str:
    return f"{IMAGE_REPOSITORY}:{project()['version']}"


def compose_env(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def compose_config_text(service: Mapping[str, Any]) -> str | None:
    """The configuration file a compose service mounts at GWSTREAM_CONFIG (None: no config)."""
    path = compose_env(service).get(CONFIG_ENV)
    if path is None:
        return None
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if target == path:
            assert source.startswith("."), f"{volume}: the configuration is a bind mount"
            return (DEPLOY / source).read_text()
    raise AssertionError(f"{CONFIG_ENV}={path} but no volume is mounted there")


def duration_s(value: str) -> float:
    """A compose duration (``30s``, ``1m30s``, ``500ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"not a duration: {value!r}"
    return sum(float(n) * units[u] for n, u in parts)


def healthcheck_url(service: Mapping[str, Any]) -> tuple[int, str]:
    """Port and path of the loopback URL a compose healthcheck fetches."""
    test = " ".join(service["healthcheck"]["test"])
    found = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", test)
    assert found, f"no loopback URL in the healthcheck {test!r}"
    return int(found[1]), found[2]


def published_ports(service: Mapping[str, Any]) -> dict[int, int]:
    """container port -> host port, from ``ports: ["HOST:CONTAINER"]``."""
    out: dict[int, int] = {}
    for spec in service.get("ports", []):
        host, container = str(spec).rsplit(":", 1)
        out[int(container)] = int(host.rsplit(":", 1)[-1])
    return out


# -- Kubernetes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    file: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])


def manifests() -> list[Manifest]:
    """Every document of every deploy/k8s/*.yaml, secret.example.yaml and kustomization included."""
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append(Manifest(path.name, doc))
    return out


def one(docs: Sequence[Manifest], kind: str, name: str) -> dict[str, Any]:
    found = [m.doc for m in docs if m.kind == kind and m.name == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


WORKLOADS = ("Deployment", "StatefulSet", "Job")


def pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"])


def pod_labels(workload: Mapping[str, Any]) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container(workload: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in pod_spec(workload)["containers"] if c["name"] == name]
    assert len(found) == 1, f"expected one container {name}"
    return dict(found[0])


def named_port(c: Mapping[str, Any], port: int | str) -> int:
    """A probe's or Service's port (a number, or a name of the container's ports)."""
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return int(p["containerPort"])
    raise AssertionError(f"container {c['name']} has no port named {port!r}")


def k8s_env(c: Mapping[str, Any]) -> dict[str, str]:
    """A container's environment; a value from a Secret or the downward API is a placeholder."""
    assert "envFrom" not in c, f"{c['name']}: envFrom hides variables from these checks"
    env: dict[str, str] = {}
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        else:
            ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"].get("configMapKeyRef")
            assert ref is not None, f"{var['name']}: only secretKeyRef/configMapKeyRef are used"
            env[var["name"]] = f"placeholder-{ref['name']}-{ref['key']}"
    return env


def k8s_config_text(
    docs: Sequence[Manifest], workload: Mapping[str, Any], c: Mapping[str, Any]
) -> str | None:
    """The ConfigMap entry a container mounts at GWSTREAM_CONFIG (None: no config)."""
    path = k8s_env(c).get(CONFIG_ENV)
    if path is None:
        return None
    p = PurePosixPath(path)
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    for mount in c.get("volumeMounts", []):
        if mount["mountPath"] != str(p.parent):
            continue
        source = volumes[mount["name"]].get("configMap")
        assert source is not None, f"{p.parent} is not a ConfigMap volume"
        items = {i["path"]: i["key"] for i in source.get("items", [])}
        key = items.get(p.name, p.name) if items else p.name
        data = one(docs, "ConfigMap", source["name"])["data"]
        assert key in data, f"ConfigMap {source['name']} has no {key}"
        return str(data[key])
    raise AssertionError(f"{CONFIG_ENV}={path} but nothing is mounted at {p.parent}")


def secret_files(workload: Mapping[str, Any], c: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Files a container sees from Secret volumes: path -> (secret name, key)."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    out: dict[str, tuple[str, str]] = {}
    for mount in c.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret")  # absent: a volume claim
        if secret is None:
            continue
        items = secret.get("items")
        assert items, f"volume {mount['name']}: list the keys this container needs (items)"
        for item in items:
            path = str(PurePosixPath(mount["mountPath"]) / item["path"])
            out[path] = (secret["secretName"], item["key"])
    return out


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``512Mi``, ``1Gi``) as a number."""
    text = str(value)
    suffixes = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    for suffix, factor in sorted(suffixes.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# -- what a container runs and loads ------------------------------------------------------


def check_command(argv: Sequence[str]) -> None:
    """Fail unless ``gwstream *argv`` names a real (sub)command with options it accepts."""
    cmd: Any = typer.main.get_command(app)
    args, path = list(argv), ["gwstream"]
    while hasattr(cmd, "commands"):  # a group: the next word names one of its commands
        assert args, f"{' '.join(path)}: a subcommand is missing"
        name = args.pop(0)
        sub = cmd.commands.get(name)
        assert sub is not None, (
            f"{' '.join(path)} has no command {name!r}; known: {sorted(cmd.commands)}"
        )
        cmd, path = sub, [*path, name]
    try:
        cmd.make_context(" ".join(path), list(args))
    except typer.TyperException as exc:  # typer's usage errors (no such option, bad value)
        raise AssertionError(f"{shlex.join(argv)}: {exc}") from None
    if path[-1] == "simulate-gateway":
        check_simulator_args(args)


def check_simulator_args(args: Sequence[str]) -> None:
    """The simulator parses its own options (``gwstream simulate-gateway`` passes them on)."""
    from gwstream.simulator.__main__ import _parser
    from gwstream.simulator.config import SimulatorConfig

    try:
        parsed = vars(_parser().parse_args(list(args)))
    except SystemExit:
        raise AssertionError(f"simulate-gateway rejects {shlex.join(args)}") from None
    parsed.pop("host"), parsed.pop("port")
    try:
        SimulatorConfig.model_validate({k: v for k, v in parsed.items() if v is not None})
    except ValidationError as exc:
        raise AssertionError(f"simulate-gateway rejects {shlex.join(args)}: {exc}") from None


def simulator_option(args: Sequence[str], option: str) -> str:
    return args[list(args).index(option) + 1]


def settings_from(env: Mapping[str, str], config_text: str | None, tmp: Path) -> Settings:
    """The settings a container loads: its GWSTREAM_* variables and its configuration file.

    The process's own GWSTREAM_* variables are set aside meanwhile; GWSTREAM_CONFIG
    points at a copy of the file the container mounts there.
    """
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("GWSTREAM_"):
                mp.delenv(name)
        for name, value in env.items():
            if name != CONFIG_ENV:
                mp.setenv(name, value)
        if config_text is not None:
            tmp.mkdir(parents=True, exist_ok=True)
            path = tmp / "gwstream.yaml"
            path.write_text(config_text)
            mp.setenv(CONFIG_ENV, str(path))
        return load_settings()


def ineffective_variables(env: Mapping[str, str], config_text: str | None, tmp: Path) -> list[str]:
    """GWSTREAM_* variables whose removal leaves the loaded settings unchanged."""
    full = settings_from(env, config_text, tmp).model_dump()
    return [
        name
        for name in env
        if name.startswith("GWSTREAM_") and name != CONFIG_ENV
        if settings_from({k: v for k, v in env.items() if k != name}, config_text, tmp).model_dump()
        == full
    ]


def setting_files(settings: Settings) -> Iterator[tuple[str, str]]:
    """(who reads it, path) of every secret file the settings name."""
    for gw in settings.gateways.values():
        if gw.api_key_file is not None:
            yield "processor", str(gw.api_key_file)
        if gw.oauth is not None and gw.oauth.client_secret_file is not None:
            yield "processor", str(gw.oauth.client_secret_file)
    for tenant in settings.tenants.values():
        if tenant.webhook is not None and tenant.webhook.secret_file is not None:
            yield "webhooks", str(tenant.webhook.secret_file)
