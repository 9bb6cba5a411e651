"""Explicit async lifecycle: ``start()`` / ``stop()``, and ``async with`` for both."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """Base of everything gwstream starts and stops (broker, gateways, simulator, sink, processor).

    Constructors do no work; ``start`` acquires (processes, sockets, files),
    ``stop`` releases and is safe to call more than once.
    """

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Resource:
    """The synchronous counterpart of :class:`Service` (files, database handles):
    ``open()`` / ``close()``, and ``with`` for both."""

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
