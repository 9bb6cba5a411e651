"""`gwstream sink`: the consumer into DuckDB and, beside it, the HTTP API and dashboard."""

from __future__ import annotations

import asyncio
import contextlib

from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.runtime.memory import tune_gc
from gwstream.sink.api import SinkApi
from gwstream.sink.consumer import BatchCallback, CostSink, SinkStats


async def run_sink(
    kafka: KafkaSettings,
    topics: TopicNames,
    sink: SinkSettings,
    stop: asyncio.Event,
    *,
    on_batch: BatchCallback | None = None,
    api_started: asyncio.Future[int] | None = None,
) -> SinkStats:
    """Consume until ``stop`` is set, serving the API on ``sink.api_port`` meanwhile.

    ``api_started`` (if given) gets the port the API listens on once it does
    (useful with port 0), or -1 when ``sink.api_port`` is empty.
    """
    api: SinkApi | None = None

    async def listen() -> None:
        # After the topic checks, before the database: a port already taken stops the
        # sink before it creates a file.
        if api is not None:
            await api.start()

    cost_sink = CostSink(kafka, topics, sink, on_batch=on_batch, before_open=listen)
    if sink.api_port is not None:
        api = SinkApi(
            cost_sink.writer.cursor,
            cost_sink,
            sink.database,
            host=sink.api_host,
            port=sink.api_port,
        )
    try:
        async with cost_sink:
            if api_started is not None and not api_started.done():
                api_started.set_result(api.port if api is not None and api.port else -1)
            tune_gc(sink.gc_young_threshold)  # all is built: freeze it
            return await cost_sink.run(stop)
    finally:
        if api is not None:
            with contextlib.suppress(Exception):
                await api.stop()
