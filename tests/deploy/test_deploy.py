"""deploy/ against the code: the container image, and what every deploy file runs.

Nothing is built or started by these tests (the machines they run on have no
Docker or Kubernetes): every file in deploy/ is parsed, and the names, ports,
environment variables, commands and topic names in it are checked against
gwstream's settings, its command line and topics/ (the image here,
test_compose.py and test_k8s.py the rest). Each check is a function of the
parsed files, and the tests named "..._is_rejected" show it fails on a broken copy.
"""

from __future__ import annotations

import json
import re

import pytest
from packaging.specifiers import SpecifierSet
from tests.deploy.deployfiles import (
    DEPLOY,
    K8S,
    check_command,
    dockerfile_stages,
    dockerignore_allowed,
    project,
)

# -- the image ----------------------------------------------------------------------------


def check_image(dockerfile: str) -> tuple[int, int]:
    """Multi-stage, the final stage holding only what earlier stages built, run as a
    non-root user through the console script. Returns that user's uid and gid."""
    global_args, stages = dockerfile_stages(dockerfile)
    assert len(stages) >= 2, "the image must be multi-stage (build, then runtime)"
    final, earlier = stages[-1], {s.name for s in stages[:-1]}
    copies = final.all("COPY") + final.all("ADD")
    assert copies, "the runtime stage copies nothing from the build"
    for args in copies:
        source = re.match(r"--from=(\S+)\s", args)
        assert source and source[1] in earlier, (
            f"the runtime stage copies {args!r} from outside the build"
        )
    # The virtual environment built in one stage points at that stage's interpreter.
    assert {s.base for s in stages} == {final.base}, "every stage must use the same base image"
    version = global_args.get("PYTHON_VERSION", "")
    assert "${PYTHON_VERSION}" in final.base and version in SpecifierSet(
        project()["requires-python"]
    )
    extras = {
        e.strip()
        for stage in stages
        for arg in stage.all("ARG")
        if arg.startswith("EXTRAS=")
        for e in arg.removeprefix("EXTRAS=").split(",")
        if e.strip()
    }
    optional = set(project()["optional-dependencies"]) - {"test", "dev", "docker"}
    assert extras <= optional, f"the image installs extras {sorted(extras - optional)}"
    runs = " ".join(final.all("RUN"))
    for tool in ("gcc", "g++", "build-essential", "apt-get install", "pip install"):
        assert tool not in runs, f"the runtime stage runs {tool}"
    users = final.all("USER")
    assert users, "the runtime stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, (
        f"USER {users[-1]}: a numeric non-root uid (runAsNonRoot needs it)"
    )
    assert gid.isdigit() and int(gid) != 0, f"USER {users[-1]}: a numeric non-root gid"
    assert [json.loads(e) for e in final.all("ENTRYPOINT")][-1:] == [list(project()["scripts"])]
    return int(uid), int(gid)


def check_build_context(dockerfile: str, dockerignore: str) -> None:
    """The .dockerignore lets in exactly what the build stage copies: metadata and src/."""
    allowed = {p.strip("/") for p in dockerignore_allowed(dockerignore)}
    _, stages = dockerfile_stages(dockerfile)
    copied: set[str] = set()
    for stage in stages:
        for args in stage.all("COPY"):
            words = [w for w in args.split() if not w.startswith("--")]
            if not args.startswith("--from"):
                copied |= {w.removeprefix("./").strip("/") for w in words[:-1]}
    assert copied == allowed, (
        f"COPY takes {sorted(copied)}, the .dockerignore lets in {sorted(allowed)}"
    )
    assert {project()["readme"], "pyproject.toml", "src"} <= copied
    assert "tests" not in allowed


def test_the_image_is_built_in_one_stage_and_run_unprivileged_from_another() -> None:
    check_image((DEPLOY / "Dockerfile").read_text())


def test_the_build_context_is_the_package_metadata_and_sources_only() -> None:
    check_build_context(
        (DEPLOY / "Dockerfile").read_text(), (DEPLOY / "Dockerfile.dockerignore").read_text()
    )


def test_deploy_holds_only_files_these_tests_read() -> None:
    read = {"Dockerfile", "Dockerfile.dockerignore", "compose.yaml", "compose.gwstream.yaml"}
    files = {p.relative_to(DEPLOY).as_posix() for p in DEPLOY.rglob("*") if p.is_file()}
    k8s = {f"k8s/{p.name}" for p in K8S.glob("*.yaml")}
    assert files == read | k8s, f"unchecked files in deploy/: {sorted(files - read - k8s)}"


# -- the checks fail on broken copies -----------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["sinks"],
        ["topics"],
        ["topics", "create"],
        ["run", "--procs", "2"],
        ["simulate-gateway", "--latency", "5"],
        ["simulate-gateway", "--latency-ms", "-1"],
    ],
)
def test_a_command_the_cli_lacks_is_rejected(argv: list[str]) -> None:
    with pytest.raises(AssertionError):
        check_command(argv)


def test_an_image_run_as_root_with_sources_or_test_extras_is_rejected() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    with pytest.raises(AssertionError, match="root"):
        check_image(dockerfile.replace("USER 10001:10001", "USER root"))
    with pytest.raises(AssertionError, match="outside the build"):
        check_image(dockerfile + "\nCOPY src/ /opt/src/\n")
    single_stage = dockerfile[
        dockerfile.index("FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime") :
    ]
    with pytest.raises(AssertionError, match="extras"):
        check_image(dockerfile.replace("ARG EXTRAS=otel", "ARG EXTRAS=otel,test"))
    with pytest.raises(AssertionError, match="multi-stage"):
        check_image("ARG PYTHON_VERSION=3.11\n" + single_stage)
