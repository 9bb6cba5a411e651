"""What gwstream's gateway adapter costs beyond aiohttp itself; prints figures, asserts nothing.

The same OpenAI-compatible completion request, ``--calls`` times with
``--concurrency`` in flight, against the gateway simulator in its own process
(answering at once): once through ``HttpGateway.complete`` (the exchange
built from chat messages, the retrier with its breakers and retry budget, the
attempt's timeout, the reply parsed into a result with usage), once as a raw
aiohttp POST whose body is read and parsed with orjson. Prints CPU per call
of this process (the simulator's is not counted) and calls/s for each, with
the garbage collector as ``gwstream run`` tunes it.

Usage: python bench/adapter_bench.py [--calls 20000] [--concurrency 256]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson

from gwstream.config import DEFAULT_GC_YOUNG_THRESHOLD, GatewaySettings
from gwstream.gateways.base import ChatMessage, GatewayRequest
from gwstream.gateways.factory import gateway_from_settings
from gwstream.gateways.openai import CHAT_COMPLETIONS_PATH
from gwstream.runtime.memory import tune_gc

sys.path.insert(0, str(Path(__file__).parent))
from throughput import _at_least, _start_simulator

MESSAGES = [
    ChatMessage("system", "You are Acme's assistant. Be brief."),
    ChatMessage("user", "Where is my order 1234?"),
    ChatMessage("assistant", "It ships tomorrow."),
    ChatMessage("user", "Thanks, and the other one?"),
]
WARM_UP = 500


async def _measure(
    label: str, call: Callable[[int], Awaitable[None]], calls: int, concurrency: int
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await call(i)

    await asyncio.gather(*(one(i) for i in range(WARM_UP)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:<34} {cpu / calls * 1e6:6.0f} us CPU per call  {calls / wall:8.0f} calls/s")


async def main(args: argparse.Namespace) -> None:
    sim, url = _start_simulator(0.0)
    try:
        settings = GatewaySettings(base_urls=[url], max_connections=args.concurrency)
        gateway = gateway_from_settings("default", settings)
        await gateway.start()

        async def adapter(i: int) -> None:
            request = GatewayRequest(
                messages=MESSAGES, model="gpt-4o-mini", request_id=f"r{i}", max_tokens=256
            )
            await gateway.complete(request)

        try:
            await _measure("gateway adapter (HttpGateway)", adapter, args.calls, args.concurrency)
        finally:
            await gateway.aclose()

        body = orjson.dumps(
            {
                "model": "gpt-4o-mini",
                "messages": [{"role": m.role, "content": m.content} for m in MESSAGES],
                "max_tokens": 256,
            }
        )
        headers = {"content-type": "application/json"}
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def raw(i: int) -> None:
                async with session.post(
                    url + CHAT_COMPLETIONS_PATH, data=body, headers=headers
                ) as r:
                    orjson.loads(await r.read())

            await _measure("raw aiohttp POST + orjson", raw, args.calls, args.concurrency)
    finally:
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=_at_least(1), default=20_000)
    ap.add_argument("--concurrency", type=_at_least(1), default=256)
    tune_gc(DEFAULT_GC_YOUNG_THRESHOLD)
    asyncio.run(main(ap.parse_args()))
