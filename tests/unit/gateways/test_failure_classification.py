"""Classifying HTTP statuses and transport exceptions into GatewayError outcomes."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from gwstream.errors import (
    GatewayAuthError,
    GatewayClientError,
    GatewayError,
    GatewayProtocolError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayTransportError,
)
from gwstream.gateways.failures import (
    classify_status,
    classify_transport_error,
    failure_from_status,
)
from gwstream.gateways.resilience import RetryPolicy, is_fallback_eligible, is_retryable

EP = "http://gw.example:8080"


@pytest.mark.parametrize(
    ("status", "cls", "outcome"),
    [
        (400, GatewayClientError, "client_error"),
        (401, GatewayAuthError, "auth"),
        (403, GatewayAuthError, "auth"),
        (404, GatewayClientError, "client_error"),
        (408, GatewayTimeout, "timeout"),
        (409, GatewayClientError, "client_error"),
        (422, GatewayClientError, "client_error"),
        (429, GatewayRateLimited, "rate_limited"),
        (500, GatewayServerError, "server_error"),
        (502, GatewayServerError, "server_error"),
        (503, GatewayServerError, "server_error"),
        (504, GatewayServerError, "server_error"),
        (302, GatewayProtocolError, "protocol_error"),
    ],
)
def test_status_maps_to_its_error_class(status: int, cls: type[GatewayError], outcome: str) -> None:
    error = classify_status(status, endpoint=EP)
    assert type(error) is cls
    assert error.outcome == outcome
    assert error.status_code == status
    assert error.endpoint == EP


def test_status_error_message_names_endpoint_status_detail_and_fix() -> None:
    message = str(classify_status(401, "bad key", endpoint=EP))
    assert EP in message
    assert "401" in message
    assert "bad key" in message
    assert "API key" in message


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (408, True),
        (429, True),
        (500, True),
        (501, False),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_only_transient_statuses_are_retried(status: int, retryable: bool) -> None:
    assert is_retryable(classify_status(status), RetryPolicy()) is retryable


def test_client_side_timeouts_and_transport_errors_are_retried() -> None:
    policy = RetryPolicy()
    assert is_retryable(GatewayTimeout("t"), policy)
    assert is_retryable(GatewayTransportError("t"), policy)
    assert not is_retryable(GatewayProtocolError("t"), policy)


def test_fallback_follows_server_errors_timeouts_and_transport_errors_only() -> None:
    assert is_fallback_eligible(classify_status(503))
    assert is_fallback_eligible(GatewayTimeout("t"))
    assert is_fallback_eligible(GatewayTransportError("t"))
    assert not is_fallback_eligible(classify_status(429))
    assert not is_fallback_eligible(classify_status(400))
    assert not is_fallback_eligible(classify_status(401))


def test_failure_from_status_carries_retry_after() -> None:
    failure = failure_from_status(429, retry_after="7", endpoint=EP)
    assert isinstance(failure.error, GatewayRateLimited)
    assert failure.retry_after_s == 7.0
    assert not failure.endpoint_down


def _caused(exc: Exception, *causes: BaseException) -> Exception:
    current: BaseException = exc
    for cause in causes:
        current.__cause__ = cause
        current = cause
    return exc


def test_refused_connection_marks_the_endpoint_down() -> None:
    # httpx-aiohttp reports a refused connection as ConnectTimeout; the cause says otherwise.
    exc = _caused(httpx.ConnectTimeout("cannot connect"), ConnectionRefusedError(111, "refused"))
    failure = classify_transport_error(exc, endpoint=EP)
    assert isinstance(failure.error, GatewayTransportError)
    assert failure.endpoint_down
    assert failure.error.__cause__ is exc


def test_plain_httpx_connect_error_marks_the_endpoint_down() -> None:
    failure = classify_transport_error(httpx.ConnectError("refused"), endpoint=EP)
    assert isinstance(failure.error, GatewayTransportError)
    assert failure.endpoint_down


def test_server_disconnect_is_a_transport_error_on_a_live_endpoint() -> None:
    exc = _caused(httpx.ConnectTimeout("disconnected"), aiohttp.ServerDisconnectedError())
    failure = classify_transport_error(exc, endpoint=EP)
    assert type(failure.error) is GatewayTransportError
    assert not failure.endpoint_down


def test_socket_read_timeout_is_a_timeout() -> None:
    exc = _caused(httpx.ReadTimeout("slow"), aiohttp.SocketTimeoutError("read"))
    failure = classify_transport_error(exc, endpoint=EP)
    assert isinstance(failure.error, GatewayTimeout)
    assert not failure.endpoint_down


def test_httpx_timeout_without_a_cause_is_a_timeout() -> None:
    assert isinstance(classify_transport_error(httpx.ReadTimeout("slow")).error, GatewayTimeout)


def test_undecodable_body_is_a_protocol_error() -> None:
    failure = classify_transport_error(httpx.DecodingError("bad gzip"), endpoint=EP)
    assert isinstance(failure.error, GatewayProtocolError)
