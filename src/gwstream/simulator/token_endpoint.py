"""The token endpoints (``cognigy.token``, ``genesys.token``): OAuth2 client credentials.

Request: ``POST`` with ``Content-Type: application/x-www-form-urlencoded``,
``grant_type=client_credentials``, the client's credentials as
``client_id``/``client_secret`` fields or HTTP Basic auth, and an optional
space-separated ``scope``. Checks run in this order, then the route's faults:

- body not form-encoded, or no ``grant_type`` -> 400 ``invalid_request``;
- ``grant_type`` other than client_credentials -> 400 ``unsupported_grant_type``;
- missing or wrong credentials -> 401 ``invalid_client``;
- a scope the vendor does not know -> 400 ``invalid_scope``.

Answer: ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``
with ``Cache-Control: no-store``; ``scope`` lists what was granted: the
requested scopes (all the vendor's when none were asked for) less
``revoked_scopes``.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from gwstream.simulator.access import (
    ClientProblem,
    check_client,
    parse_scope,
    read_client_credentials,
)
from gwstream.simulator.dialects import error_body
from gwstream.simulator.routes import TOKEN_ROUTES, Vendor
from gwstream.simulator.state import JSON, SimulatorState
from gwstream.simulator.stats import Handler

__all__ = ["token_handler"]

_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _problem(problem: ClientProblem) -> web.Response:
    headers = dict(_NO_STORE)
    if problem.basic:
        headers["WWW-Authenticate"] = 'Basic realm="gwstream-simulator"'
    return web.Response(
        status=problem.status,
        body=error_body("oauth", problem.status, problem.description, code=problem.error),
        content_type=JSON,
        headers=headers,
    )


def token_handler(state: SimulatorState, vendor: Vendor) -> Handler:
    """The token endpoint of ``vendor`` (count it with ``state.counters.counted``)."""
    route = TOKEN_ROUTES[vendor]

    async def issue(request: web.Request) -> web.StreamResponse:
        if request.content_type != _FORM:
            return _problem(
                ClientProblem(
                    400,
                    "invalid_request",
                    f"The token request body must be {_FORM}, not {request.content_type!r}.",
                )
            )
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        grant_type = form.get("grant_type")
        if not grant_type:
            return _problem(ClientProblem(400, "invalid_request", "grant_type is missing."))
        if grant_type != "client_credentials":
            return _problem(
                ClientProblem(
                    400,
                    "unsupported_grant_type",
                    f"grant_type {grant_type!r} is not supported; use client_credentials.",
                )
            )
        authorization = request.headers.get("Authorization")
        credentials = read_client_credentials(authorization, form)
        if isinstance(credentials, ClientProblem):
            return _problem(credentials)
        config = state.config
        basic = authorization is not None and authorization[:6].lower() == "basic "
        rejected = check_client(*credentials, config.clients, basic=basic)
        if rejected is not None:
            return _problem(rejected)
        scopes = parse_scope(vendor, form.get("scope"), config.revoked_scopes)
        if isinstance(scopes, ClientProblem):
            return _problem(scopes)
        fault = await state.plans[route].inject(state.closing)
        if fault is not None:
            return fault
        grant = state.tokens.issue(vendor, scopes, config.token_ttl_s)
        state.counters.tokens_issued += 1
        body = {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
            "scope": " ".join(sorted(grant.scopes)),
        }
        return web.Response(body=orjson.dumps(body), content_type=JSON, headers=_NO_STORE)

    return issue
