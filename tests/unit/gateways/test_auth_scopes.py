"""Reading a 403: the scope named by the challenge header, the body or the message."""

from __future__ import annotations

import orjson
import pytest

from gwstream.errors import GatewayAuthError
from gwstream.gateways.auth import ClientCredentialsAuth
from gwstream.gateways.scopes import forbidden_error, scopes_named

SENTENCE = (
    "The access token lacks the scope 'llm.gateway:invoke' that POST /api/v1/llm/gateway/chat "
    "requires; request a token with scope 'llm.gateway:invoke'."
)


@pytest.mark.parametrize(
    ("body", "detail", "challenge", "expected"),
    [
        (
            b"{}",
            "",
            'Bearer error="insufficient_scope", scope="ai:gateway:write"',
            ["ai:gateway:write"],
        ),
        (orjson.dumps({"error": {"missing_scope": "a:b"}}), "", None, ["a:b"]),
        (orjson.dumps({"requiredScopes": ["x:y", "z.w"]}), "", None, ["x:y", "z.w"]),
        (b"{}", SENTENCE, None, ["llm.gateway:invoke"]),
        (b"{}", "missing permission ai:llm:gateway:stream here", None, ["ai:llm:gateway:stream"]),
        (b"not json", "Forbidden. No permission, e.g. none.", None, []),
    ],
)
def test_the_scope_is_read_from_wherever_the_gateway_put_it(
    body: bytes, detail: str, challenge: str | None, expected: list[str]
) -> None:
    assert scopes_named(body, detail, challenge) == expected


def test_the_challenge_header_wins_over_the_body() -> None:
    body = orjson.dumps({"scope": "from:body"})
    assert scopes_named(body, "", 'Bearer scope="from:header"') == ["from:header"]


def test_a_403_naming_no_scope_names_what_the_operation_needs() -> None:
    error = forbidden_error(
        endpoint="http://g", body=b"{}", detail="Forbidden", needed_scopes=("ai:gateway:write",)
    )
    assert isinstance(error, GatewayAuthError)
    assert "lacks scope 'ai:gateway:write'" in str(error)
    assert (error.status_code, error.endpoint) == (403, "http://g")
    assert "gateway said: Forbidden" in str(error)


def test_the_403_names_the_client_whose_grant_to_change() -> None:
    auth = ClientCredentialsAuth(
        token_url="http://t/token", client_id="cid", client_secret="SEKRIT"
    )
    error = forbidden_error(
        endpoint="http://g", body=b"{}", detail="", needed_scopes=("a:b",), auth=auth
    )
    assert "OAuth client 'cid' lacks scope 'a:b'" in str(error)
    assert "SEKRIT" not in str(error)
