"""``gwstream run --processes N``: N processor processes in one consumer group, supervised.

A processor is one Python process, so one core; a machine with more cores runs
more processors, which Kafka's consumer group spreads the partitions over
like instances on different machines. The supervisor starts N children
(``gwstream run`` with the same configuration), forwards SIGTERM and SIGINT to
them, and waits for them to drain and commit. A child that dies is restarted
after a backoff that doubles from ``restart_backoff_s`` (up to 30 s); when
more than ``restart_limit`` restarts happen within ``restart_window_s``, the
children keep failing and the supervisor stops the others and exits 1. A
child that exits 2 has a configuration or usage error, which every child
shares: the supervisor stops and exits 2.

Each child knows its index (``GWSTREAM_CHILD``): its log lines name it, and
its metrics, when ``metrics.port`` is set, are on that port plus its index
(child 0 on the port itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gwstream.config import StateSettings

log = logging.getLogger(__name__)

#: The environment variable naming a child's index.
CHILD_ENV = "GWSTREAM_CHILD"
#: The environment variable naming the supervisor's pid (a child checks it is still there).
PARENT_ENV = "GWSTREAM_CHILD_OF"
#: What the supervisor sends a child to stop it at once (its second signal). Not SIGTERM:
#: a process manager that signals the whole group (systemd's KillMode=control-group)
#: sends a child SIGTERM beside the one the supervisor forwards, so a supervised child
#: takes a repeated SIGTERM or SIGINT for the same request.
HURRY_SIGNAL = signal.SIGUSR1
#: How long children told to stop at once may take before they are killed.
_HURRY_S = 10.0
_MAX_BACKOFF_S = 30.0
#: Exit code of a child whose configuration is wrong (see `gwstream run`).
_USAGE_ERROR = 2


def _exit_text(code: int) -> str:
    """A child's exit code as a log line shows it: ``-9 (SIGKILL)`` for a signal."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


def available_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """Cores this process may use: its CPU affinity (not the machine's count), capped by a
    container's CPU quota (a pod limited to 2 CPUs on a 64-core node gets 2), rounded up."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cpu_quota(cgroup)
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


def cpu_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPUs a cgroup quota allows (cgroup v2 ``cpu.max``, else v1
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``); None without one."""
    try:
        quota, _, period = (cgroup / "cpu.max").read_text().partition(" ")
        if quota.strip() != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


#: Where the supervisor hands its children a PII placeholder secret of its own.
SHARED_PII_KEY_ENV = "GWSTREAM_CHILD_PII_KEY"


def shared_pii_key(state: StateSettings) -> dict[str, str]:
    """Environment giving every child one random placeholder secret when none is configured,
    so that a session moving between children keeps its placeholders ({} if one is)."""
    if state.pii_key_env or state.pii_key_file is not None:
        return {}
    return {
        "GWSTREAM_STATE__PII_KEY_ENV": SHARED_PII_KEY_ENV,
        SHARED_PII_KEY_ENV: secrets.token_hex(32),
    }


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    backoff_s: float = 1.0
    limit: int = 5
    window_s: float = 60.0


class Supervisor:
    """Runs ``processes`` children of ``argv`` and keeps them running until stopped."""

    def __init__(
        self,
        processes: int,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        metrics_port: int | None = None,
        policy: RestartPolicy | None = None,
        drain_timeout_s: float = 60.0,
    ) -> None:
        self._n = processes
        self._argv = list(argv)
        self._env = dict(os.environ if env is None else env)
        self._metrics_port = metrics_port
        self._policy = policy or RestartPolicy()
        self._drain_timeout_s = drain_timeout_s
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._restarts: deque[float] = deque()
        self._stopping = False
        self.restarts = 0

    def _child_env(self, index: int) -> dict[str, str]:
        env = {**self._env, CHILD_ENV: str(index), PARENT_ENV: str(os.getpid())}
        if self._metrics_port:
            env["GWSTREAM_METRICS__PORT"] = str(self._metrics_port + index)
        return env

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        # A session of its own: a terminal's Ctrl-C reaches the supervisor alone, which
        # forwards it once (a child that got it twice would stop without draining).
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gwstream",
            *self._argv,
            env=self._child_env(index),
            start_new_session=True,
        )
        self._children[index] = proc
        log.info("child %d started (pid %d)", index, proc.pid, extra=_child(index))
        return proc

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set (then drain the children) or they keep failing.

        Returns the exit code: 0 when every child drained cleanly, 1 when
        children kept failing (or did not drain), 2 on a configuration error.
        """
        log.info("supervising %d processor processes", self._n)
        for index in range(self._n):
            await self._spawn(index)
        keepers = [asyncio.create_task(self._keep(i, stop)) for i in range(self._n)]
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    [stopping, *keepers], return_when=asyncio.FIRST_COMPLETED
                )
                if stopping in done:
                    code = await self._drain(0)
                else:
                    failed = [t.result() for t in done if t is not stopping]
                    # A keeper returns only when the children cannot be kept running.
                    code = await self._drain(max(failed))
                log.info("supervisor: all %d children stopped; exit code %d", self._n, code)
                return code
        except asyncio.CancelledError:
            # A second signal: each child is told to stop at once; leave none behind.
            await self._hurry()
            raise
        finally:
            for task in (stopping, *keepers):
                task.cancel()
            await asyncio.gather(stopping, *keepers, return_exceptions=True)

    async def _keep(self, index: int, stop: asyncio.Event) -> int:
        """Restart child ``index`` whenever it dies; return an exit code when giving up."""
        backoff = self._policy.backoff_s
        while True:
            proc = self._children[index]
            started = time.monotonic()
            code = await proc.wait()
            if stop.is_set() or self._stopping:
                return 0
            if code == _USAGE_ERROR:
                log.error(
                    "child %d exited 2 (a configuration error): stopping",
                    index,
                    extra=_child(index),
                )
                return _USAGE_ERROR
            now = time.monotonic()
            window = self._restarts
            while window and now - window[0] > self._policy.window_s:
                window.popleft()
            if len(window) >= self._policy.limit:
                log.error(
                    "child %d exited %s; %d restarts within %.0fs: children keep failing, stopping",
                    index,
                    _exit_text(code),
                    len(window),
                    self._policy.window_s,
                    extra=_child(index),
                )
                return 1
            if now - started > self._policy.window_s:
                backoff = self._policy.backoff_s  # it had been running well: start over
            log.warning(
                "child %d exited %s; restarting it in %.1fs",
                index,
                _exit_text(code),
                backoff,
                extra=_child(index),
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await stop.wait()
            if stop.is_set() or self._stopping:
                return 0
            window.append(time.monotonic())
            self.restarts += 1
            await self._spawn(index)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _terminate(
        self, within_s: float, sig: signal.Signals = signal.SIGTERM
    ) -> list[int] | None:
        """Send every live child ``sig`` and wait up to ``within_s`` for them to end; their
        exit codes, or None when some did not end in time and all left were SIGKILLed."""
        self._stopping = True
        live = [p for p in self._children.values() if p.returncode is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            async with asyncio.timeout(within_s):
                return list(await asyncio.gather(*(p.wait() for p in live)))
        except TimeoutError:
            for proc in live:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in live))
            return None

    async def _hurry(self) -> None:
        """Tell every live child to stop at once (:data:`HURRY_SIGNAL`: without draining),
        wait a little, SIGKILL what is left."""
        await self._terminate(_HURRY_S, HURRY_SIGNAL)
        log.warning("children stopped without draining")

    async def _drain(self, code: int) -> int:
        """SIGTERM every live child, wait for them to drain, SIGKILL the ones that do not."""
        codes = await self._terminate(self._drain_timeout_s + 10)
        if codes is None:
            log.error("children did not drain within %.0fs: killing them", self._drain_timeout_s)
            return code or 1
        unclean = [c for c in codes if c not in (0, -signal.SIGTERM)]
        if code == 0 and unclean:
            log.error("children ended with %s while draining", unclean)
            return 1
        return code


def _child(index: int) -> dict[str, str]:
    """The ``extra`` of a line about child ``index``: JSON logs carry it as ``child``."""
    return {"child": str(index)}
