"""An in-process gateway for stage tests: answers from a script, records what it was asked."""

from __future__ import annotations

from datetime import UTC, datetime

from gwstream.events import TurnEvent
from gwstream.gateways.base import GatewayRequest, GatewayResult, Usage


class ScriptedGateway:
    """Answers from a script: a result, or an exception to raise."""

    name = "scripted"

    def __init__(self, outcome: GatewayResult | Exception) -> None:
        self.outcome = outcome
        self.requests: list[GatewayRequest] = []
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def complete(self, request: GatewayRequest) -> GatewayResult:
        self.requests.append(request)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def aclose(self) -> None:
        return None


def result(
    text: str = "Your order ships today.", tokens: tuple[int, int] = (1000, 500)
) -> GatewayResult:
    return GatewayResult(
        text=text,
        usage=Usage(tokens[0], tokens[1], "gateway", None),
        finish_reason="stop",
        response_model="gpt-4o-mini-2024",
        response_id="chatcmpl-1",
        endpoint="http://gw",
        attempts=1,
        latency_s=0.1,
        outcome="ok",
    )


RESULT = result()
TURN = TurnEvent(
    turn_id="t-1",
    tenant_id="acme",
    session_id="s1",
    seq=3,
    occurred_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
    text="Where is my order?",
)


def turn(n: int, text: str = "Where is my order?") -> TurnEvent:
    return TURN.model_copy(update={"turn_id": f"t-{n}", "seq": n, "text": text})
