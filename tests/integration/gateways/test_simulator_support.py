"""Shared client helpers for the simulator's integration tests (no tests here).

Plain aiohttp over loopback, so what the tests see is exactly what an adapter
sees on the wire.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from gwstream.simulator import DEFAULT_CLIENTS, GatewaySimulator
from gwstream.simulator.routes import ROUTES

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]

COGNIGY_ID, GENESYS_ID = "cognigy-sim", "genesys-sim"
USER = {"role": "user", "content": "Hi, I need help with my order."}
MESSAGES = [{"role": "system", "content": "You are a support agent."}, USER]
OPENAI_BODY: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}
COGNIGY_BODY: dict[str, Any] = {"model": "cognigy-llm-v2", "messages": MESSAGES}
INVOKE_BODY: dict[str, Any] = {
    "modelId": "gpt-35-turbo",
    "messages": [USER],
    "systemInstruction": "You are a support agent.",
}
INVOCATION_BODY: dict[str, Any] = {
    "promptId": "support-v1",
    "userInput": "Where is my parcel?",
    "variables": {"language": "Spanish"},
    "returnTokenUsage": True,
}


def url(sim: GatewaySimulator, route: str) -> str:
    return sim.url + ROUTES[route].path


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Streamed:
    """A streamed answer as raw lines; ``complete`` is False when the body was cut."""

    status: int
    lines: list[bytes]
    complete: bool
    headers: Mapping[str, str]

    def payloads(self, prefix: bytes = b"") -> list[bytes]:
        """Non-empty lines with ``prefix`` (e.g. ``b"data: "``) stripped."""
        return [line[len(prefix) :] for line in self.lines if line.startswith(prefix) and line]

    def objects(self, prefix: bytes = b"") -> list[Any]:
        """The payloads that parse as JSON (not ``[DONE]``, not malformed ones)."""
        out = []
        for payload in self.payloads(prefix):
            try:
                out.append(orjson.loads(payload))
            except orjson.JSONDecodeError:
                continue
        return out


async def call(
    http: aiohttp.ClientSession,
    method: str,
    target: str,
    *,
    json: Any = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kw: Any,
) -> Answer:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if json is not None:
        kw["data"] = orjson.dumps(json)
        all_headers.setdefault("Content-Type", "application/json")
    async with http.request(method, target, headers=all_headers, **kw) as response:
        return Answer(response.status, await response.read(), response.headers)


async def stream(
    http: aiohttp.ClientSession,
    target: str,
    body: Any,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Streamed:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    lines: list[bytes] = []
    async with http.post(target, data=orjson.dumps(body), headers=all_headers) as response:
        try:
            async for line in response.content:
                lines.append(line.rstrip(b"\r\n"))
        except aiohttp.ClientPayloadError:
            return Streamed(response.status, lines, False, response.headers)
        return Streamed(response.status, lines, True, response.headers)


async def get_token(
    http: aiohttp.ClientSession,
    sim: GatewaySimulator,
    vendor: str,
    *,
    scope: str | None = None,
    basic: bool = False,
    client_id: str | None = None,
    secret: str | None = None,
) -> Answer:
    client_id = client_id or (COGNIGY_ID if vendor == "cognigy" else GENESYS_ID)
    secret = secret if secret is not None else DEFAULT_CLIENTS[client_id]
    form = {"grant_type": "client_credentials"}
    headers = {}
    if basic:
        pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        form |= {"client_id": client_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    async with http.post(url(sim, f"{vendor}.token"), data=form, headers=headers) as response:
        return Answer(response.status, await response.read(), response.headers)


async def token(http: aiohttp.ClientSession, sim: GatewaySimulator, vendor: str, **kw: Any) -> str:
    answer = await get_token(http, sim, vendor, **kw)
    assert answer.status == 200, answer.body
    access_token: str = answer.json()["access_token"]
    return access_token
