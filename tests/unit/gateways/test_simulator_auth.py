"""The simulator's OAuth parts: token store, client credentials, scopes."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from gwstream.simulator.access import (
    ClientProblem,
    TokenStore,
    check_client,
    parse_scope,
    read_client_credentials,
)
from gwstream.simulator.routes import (
    COGNIGY_SCOPES,
    GENESYS_SCOPES,
    ROUTES,
)

CHAT = ROUTES["cognigy.chat"]
INVOKE = ROUTES["genesys.invoke"]
NONE: frozenset[str] = frozenset()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_fresh_token_with_the_scope_passes() -> None:
    store = TokenStore()
    grant = store.issue("cognigy", COGNIGY_SCOPES, 3600)
    assert store.check(CHAT, bearer(grant.access_token), "llm.gateway:invoke", NONE) is None


def test_tokens_are_opaque_and_distinct() -> None:
    store = TokenStore()
    first = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    second = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    assert first != second
    assert len(first) > 32


def test_a_missing_header_is_a_401_naming_the_token_endpoint() -> None:
    failure = TokenStore().check(CHAT, None, "llm.gateway:invoke", NONE)
    assert failure is not None
    assert (failure.status, failure.reason) == (401, "missing_token")
    assert "/api/v1/auth/token" in failure.message


def test_an_unknown_token_is_invalid() -> None:
    failure = TokenStore().check(CHAT, bearer("forged"), "llm.gateway:invoke", NONE)
    assert failure is not None
    assert (failure.status, failure.reason) == (401, "invalid_token")
    assert "forged" not in failure.message


def test_a_token_is_only_good_at_the_vendor_that_issued_it() -> None:
    store = TokenStore()
    token = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    failure = store.check(INVOKE, bearer(token), "ai:llm:gateway:use", NONE)
    assert failure is not None
    assert failure.reason == "invalid_token"


def test_a_token_expires_after_its_ttl() -> None:
    clock = Clock()
    store = TokenStore(clock=clock)
    token = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    clock.now += 59.9
    assert store.check(CHAT, bearer(token), "llm.gateway:invoke", NONE) is None
    clock.now += 0.1
    failure = store.check(CHAT, bearer(token), "llm.gateway:invoke", NONE)
    assert failure is not None
    assert (failure.status, failure.reason) == (401, "token_expired")
    assert "expired" in failure.message


def test_expire_all_expires_earlier_tokens_only() -> None:
    store = TokenStore()
    old = store.issue("genesys", GENESYS_SCOPES, 3600).access_token
    store.expire_all()
    new = store.issue("genesys", GENESYS_SCOPES, 3600).access_token
    failure = store.check(INVOKE, bearer(old), "ai:llm:gateway:use", NONE)
    assert failure is not None
    assert failure.reason == "token_expired"
    assert store.check(INVOKE, bearer(new), "ai:llm:gateway:use", NONE) is None


def test_a_missing_scope_is_a_403_naming_it() -> None:
    store = TokenStore()
    token = store.issue("cognigy", frozenset({"llm.gateway:invoke"}), 60).access_token
    failure = store.check(CHAT, bearer(token), "llm.gateway:metrics:read", NONE)
    assert failure is not None
    assert (failure.status, failure.reason, failure.scope) == (
        403,
        "insufficient_scope",
        "llm.gateway:metrics:read",
    )
    assert "'llm.gateway:metrics:read'" in failure.message
    assert 'scope="llm.gateway:metrics:read"' in failure.www_authenticate()


def test_a_revoked_scope_is_refused_even_on_a_token_that_has_it() -> None:
    store = TokenStore()
    token = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    failure = store.check(
        CHAT, bearer(token), "llm.gateway:invoke", frozenset({"llm.gateway:invoke"})
    )
    assert failure is not None
    assert failure.status == 403


def test_the_store_forgets_its_oldest_token_when_full() -> None:
    store = TokenStore(max_tokens=2)
    first = store.issue("cognigy", COGNIGY_SCOPES, 60).access_token
    store.issue("cognigy", COGNIGY_SCOPES, 60)
    store.issue("cognigy", COGNIGY_SCOPES, 60)
    failure = store.check(CHAT, bearer(first), "llm.gateway:invoke", NONE)
    assert failure is not None
    assert failure.reason == "invalid_token"


def test_credentials_come_from_form_fields() -> None:
    form = {"client_id": "a", "client_secret": "b"}
    assert read_client_credentials(None, form) == ("a", "b")


def test_credentials_come_from_basic_auth() -> None:
    header = "Basic " + base64.b64encode(b"a:b:c").decode()
    assert read_client_credentials(header, {}) == ("a", "b:c")


@pytest.mark.parametrize(
    ("header", "form", "status", "error"),
    [
        (None, {}, 401, "invalid_client"),
        (None, {"client_id": "a"}, 401, "invalid_client"),
        ("Basic !!!", {}, 401, "invalid_client"),
        ("Basic " + base64.b64encode(b"a:b").decode(), {"client_id": "z"}, 400, "invalid_request"),
    ],
)
def test_unreadable_credentials_are_refused(
    header: str | None, form: dict[str, str], status: int, error: str
) -> None:
    problem = read_client_credentials(header, form)
    assert isinstance(problem, ClientProblem)
    assert (problem.status, problem.error) == (status, error)


def test_a_configured_client_needs_its_exact_secret() -> None:
    clients = {"a": SecretStr("s3cret")}
    assert check_client("a", "s3cret", clients, basic=False) is None
    wrong = check_client("a", "s3cre", clients, basic=True)
    unknown = check_client("b", "s3cret", clients, basic=False)
    assert wrong is not None and unknown is not None
    assert (wrong.status, wrong.error, wrong.basic) == (401, "invalid_client", True)
    assert "s3cre" not in wrong.description


def test_no_configured_clients_accepts_any_non_empty_pair() -> None:
    assert check_client("anyone", "anything", {}, basic=False) is None


def test_no_scope_requested_grants_all_of_the_vendors_scopes_less_revoked() -> None:
    granted = parse_scope("genesys", None, frozenset({"ai:gateway:write"}))
    assert granted == GENESYS_SCOPES - {"ai:gateway:write"}


def test_requested_scopes_are_granted_less_revoked() -> None:
    granted = parse_scope(
        "cognigy",
        "llm.gateway:invoke  llm.gateway:metrics:read",
        frozenset({"llm.gateway:metrics:read"}),
    )
    assert granted == frozenset({"llm.gateway:invoke"})


def test_an_unknown_scope_is_invalid_and_named() -> None:
    problem = parse_scope("cognigy", "llm.gateway:invoke ai:gateway:write", NONE)
    assert isinstance(problem, ClientProblem)
    assert (problem.status, problem.error) == (400, "invalid_scope")
    assert "ai:gateway:write" in problem.description
