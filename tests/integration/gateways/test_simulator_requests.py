"""The simulator's request log (`record_requests`): what a client sent, for integrators."""

from __future__ import annotations

import httpx
import pytest

from gwstream.simulator import GatewaySimulator
from gwstream.simulator.config import SimulatorConfig

pytestmark = pytest.mark.integration


def chat(n: int) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": f"question {n}"},
        ],
    }


async def test_the_last_completion_requests_are_kept_and_can_be_cleared() -> None:
    async with GatewaySimulator(SimulatorConfig(record_requests=3)) as sim:
        async with httpx.AsyncClient(base_url=sim.url, timeout=10) as client:
            for n in range(5):
                r = await client.post(
                    "/v1/chat/completions", json=chat(n), headers={"X-Request-ID": f"t-{n}"}
                )
                assert r.status_code == 200
            kept = (await client.get("/requests")).json()
            assert [k["request_id"] for k in kept] == ["t-2", "t-3", "t-4"]
            assert kept[-1]["route"] == "openai.chat"
            assert kept[-1]["body"]["messages"][-1] == {"role": "user", "content": "question 4"}
            assert (await client.delete("/requests")).status_code == 204
            assert (await client.get("/requests")).json() == []


async def test_without_record_requests_there_is_no_log() -> None:
    async with GatewaySimulator() as sim:
        async with httpx.AsyncClient(base_url=sim.url, timeout=10) as client:
            off = await client.get("/requests")
            assert off.status_code == 404 and "--record-requests" in off.json()["error"]
