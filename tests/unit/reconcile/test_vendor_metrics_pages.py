"""Vendor metrics paging and row mapping, given page dicts: no HTTP, no database."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from gwstream.errors import GatewayError, GatewayProtocolError
from gwstream.reconcile.pages import (
    VendorMetric,
    cognigy_metric,
    cognigy_pages,
    genesys_metric,
    genesys_pages,
)

SOURCE = "gateway 'cog' (GET http://vendor/metrics)"


class Pages:
    """Answers fetches from a list of page dicts, in order, and remembers the queries."""

    def __init__(self, pages: Sequence[Mapping[str, Any]]) -> None:
        self._pages = list(pages)
        self.queries: list[dict[str, str]] = []

    async def __call__(self, params: dict[str, str]) -> Mapping[str, Any]:
        self.queries.append(params)
        return self._pages[len(self.queries) - 1]


def cognigy_item(request_id: str, prompt: int = 10, completion: int = 5) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "timestamp": "2026-03-01T12:00:00.250Z",
        "route": "cognigy.chat",
        "model": "gpt-4o-mini",
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "latency_ms": 12.5,
        "status": 200,
        "streamed": False,
    }


def genesys_entity(request_id: str, prompt: int = 10, completion: int = 5) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "timestamp": "2026-03-01T12:00:00.250Z",
        "operation": "invocations",
        "modelId": None,
        "promptId": "p-1",
        "status": 200,
        "latencyMs": 3.25,
        "streamed": False,
        "tokenUsage": {"prompt": prompt, "completion": completion, "total": prompt + completion},
    }


def cognigy_page(ids: Sequence[str], page: int, pages: int, size: int = 2) -> dict[str, Any]:
    return {
        "items": [cognigy_item(i) for i in ids],
        "page": page,
        "size": size,
        "total": pages * size,
        "pages": pages,
        "has_more": page < pages,
    }


def genesys_page(ids: Sequence[str], cursor: str | None) -> dict[str, Any]:
    return {"entities": [genesys_entity(i) for i in ids], "pageSize": 2, "nextPageCursor": cursor}


async def collect(pages: AsyncGenerator[list[VendorMetric], None]) -> list[list[str]]:
    return [[row.request_id for row in rows] async for rows in pages]


# -- Cognigy: numbered pages ------------------------------------------------------------


async def test_cognigy_pages_are_asked_for_in_order_until_has_more_is_false() -> None:
    fetch = Pages(
        [cognigy_page(["a", "b"], 1, 3), cognigy_page(["c", "d"], 2, 3), cognigy_page(["e"], 3, 3)]
    )

    got = await collect(cognigy_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [["a", "b"], ["c", "d"], ["e"]]
    assert fetch.queries == [{"page": str(n), "size": "2"} for n in (1, 2, 3)]


async def test_cognigy_stops_at_the_last_page_number_when_has_more_is_absent() -> None:
    first, last = cognigy_page(["a", "b"], 1, 2), cognigy_page(["c", "d"], 2, 2)
    del first["has_more"], last["has_more"]
    fetch = Pages([first, last])

    got = await collect(cognigy_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [["a", "b"], ["c", "d"]]


async def test_cognigy_stops_at_a_short_page_when_the_vendor_gives_no_page_count() -> None:
    fetch = Pages(
        [{"items": [cognigy_item("a"), cognigy_item("b")]}, {"items": [cognigy_item("c")]}]
    )

    got = await collect(cognigy_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [["a", "b"], ["c"]]


async def test_an_empty_cognigy_page_ends_the_pull_even_if_it_claims_more() -> None:
    fetch = Pages([cognigy_page([], 1, 5)])

    got = await collect(cognigy_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [[]]
    assert len(fetch.queries) == 1


async def test_cognigy_past_max_pages_fails_after_yielding_every_page_read() -> None:
    fetch = Pages([cognigy_page(["a", "b"], n, 9) for n in range(1, 10)])
    seen: list[list[str]] = []

    with pytest.raises(GatewayError, match=r"max_pages=2") as caught:
        async for rows in cognigy_pages(fetch, size=2, max_pages=2, source=SOURCE):
            seen.append([row.request_id for row in rows])

    assert seen == [["a", "b"], ["a", "b"]]
    assert len(fetch.queries) == 2
    assert SOURCE in str(caught.value)


async def test_cognigy_reaching_max_pages_on_the_last_page_is_not_an_error() -> None:
    fetch = Pages([cognigy_page(["a", "b"], 1, 2), cognigy_page(["c"], 2, 2)])

    got = await collect(cognigy_pages(fetch, size=2, max_pages=2, source=SOURCE))

    assert got == [["a", "b"], ["c"]]


@pytest.mark.parametrize(
    "page",
    [
        {"page": 1},
        {"items": {"a": 1}},
        {"items": [cognigy_item("a")], "has_more": "yes"},
        {"items": [cognigy_item("a")], "has_more": True, "pages": "many"},
    ],
)
async def test_a_cognigy_page_breaking_the_contract_is_a_protocol_error(
    page: dict[str, Any],
) -> None:
    fetch = Pages([page])

    with pytest.raises(GatewayProtocolError, match="cog"):
        await collect(cognigy_pages(fetch, size=2, max_pages=10, source=SOURCE))


# -- Genesys: cursors -------------------------------------------------------------------


async def test_genesys_follows_the_cursor_until_it_is_null() -> None:
    fetch = Pages(
        [genesys_page(["a", "b"], "c1"), genesys_page(["c", "d"], "c2"), genesys_page(["e"], None)]
    )

    got = await collect(genesys_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [["a", "b"], ["c", "d"], ["e"]]
    assert fetch.queries == [
        {"pageSize": "2"},
        {"pageSize": "2", "cursor": "c1"},
        {"pageSize": "2", "cursor": "c2"},
    ]


async def test_an_empty_genesys_page_with_a_cursor_does_not_end_the_pull() -> None:
    fetch = Pages([genesys_page([], "c1"), genesys_page(["a"], "")])

    got = await collect(genesys_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert got == [[], ["a"]]


async def test_a_genesys_cursor_seen_before_is_a_protocol_error_not_a_loop() -> None:
    fetch = Pages([genesys_page(["a"], "c1"), genesys_page(["b"], "c2"), genesys_page(["c"], "c1")])

    with pytest.raises(GatewayProtocolError, match="already sent"):
        await collect(genesys_pages(fetch, size=2, max_pages=10, source=SOURCE))

    assert len(fetch.queries) == 3


async def test_genesys_past_max_pages_fails_naming_the_limit() -> None:
    fetch = Pages([genesys_page(["a"], f"c{n}") for n in range(5)])

    with pytest.raises(GatewayError, match=r"max_pages=3"):
        await collect(genesys_pages(fetch, size=1, max_pages=3, source=SOURCE))

    assert len(fetch.queries) == 3


@pytest.mark.parametrize("page", [{"nextPageCursor": None}, {"entities": [], "nextPageCursor": 7}])
async def test_a_genesys_page_breaking_the_contract_is_a_protocol_error(
    page: dict[str, Any],
) -> None:
    with pytest.raises(GatewayProtocolError):
        await collect(genesys_pages(Pages([page]), size=2, max_pages=10, source=SOURCE))


async def test_page_size_and_max_pages_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        await collect(cognigy_pages(Pages([]), size=2, max_pages=0, source=SOURCE))
    with pytest.raises(ValueError, match="size"):
        await collect(genesys_pages(Pages([]), size=0, max_pages=1, source=SOURCE))


# -- rows -------------------------------------------------------------------------------


def test_a_cognigy_item_maps_to_a_row_in_utc() -> None:
    row = cognigy_metric(cognigy_item("turn-1", prompt=12, completion=7), SOURCE)

    assert row == VendorMetric(
        request_id="turn-1",
        ts=datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC),
        operation="cognigy.chat",
        model="gpt-4o-mini",
        prompt_tokens=12,
        completion_tokens=7,
        total_tokens=19,
        latency_ms=12.5,
        status=200,
        streamed=False,
    )


def test_a_genesys_entity_maps_to_a_row_with_its_token_usage() -> None:
    row = genesys_metric(genesys_entity("turn-2", prompt=30, completion=4), SOURCE)

    assert (row.request_id, row.operation, row.model) == ("turn-2", "invocations", None)
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (30, 4, 34)
    assert (row.latency_ms, row.status, row.streamed) == (3.25, 200, False)


def test_a_missing_total_is_prompt_plus_completion() -> None:
    item = cognigy_item("t")
    del item["total_tokens"]
    entity = genesys_entity("t", prompt=3, completion=2)
    del entity["tokenUsage"]["total"]

    assert cognigy_metric(item, SOURCE).total_tokens == 15
    assert genesys_metric(entity, SOURCE).total_tokens == 5


def test_timestamps_are_normalised_to_utc_and_a_missing_zone_means_utc() -> None:
    offset = {**cognigy_item("t"), "timestamp": "2026-03-01T14:00:00+02:00"}
    naive = {**cognigy_item("t"), "timestamp": "2026-03-01T12:00:00"}

    assert cognigy_metric(offset, SOURCE).ts == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert cognigy_metric(naive, SOURCE).ts == datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", None),
        ("request_id", ""),
        ("request_id", "x" * 513),
        ("timestamp", "yesterday"),
        ("prompt_tokens", -1),
        ("completion_tokens", "5"),
        ("latency_ms", "fast"),
        ("status", 42),
        ("streamed", "no"),
        ("model", 4),
    ],
)
def test_a_field_of_the_wrong_type_is_a_protocol_error_naming_the_field(
    field: str, value: object
) -> None:
    item = {**cognigy_item("t"), field: value}

    with pytest.raises(GatewayProtocolError, match=repr(field)):
        cognigy_metric(item, SOURCE)


def test_a_protocol_error_never_echoes_what_the_vendor_sent() -> None:
    item = {**cognigy_item("t"), "model": "leaked-text " * 100}

    with pytest.raises(GatewayProtocolError) as caught:
        cognigy_metric(item, SOURCE)

    assert "leaked-text" not in str(caught.value)


def test_a_genesys_entity_without_token_usage_is_a_protocol_error() -> None:
    entity = genesys_entity("t")
    entity["tokenUsage"] = None

    with pytest.raises(GatewayProtocolError, match="tokenUsage"):
        genesys_metric(entity, SOURCE)


def test_a_record_read_twice_has_the_same_key_and_a_retry_of_it_does_not() -> None:
    first = cognigy_metric(cognigy_item("turn-1"), SOURCE)
    again = cognigy_metric(cognigy_item("turn-1"), SOURCE)
    retry = cognigy_metric({**cognigy_item("turn-1"), "status": 503, "latency_ms": 0.5}, SOURCE)

    assert first.key() == again.key()
    assert retry.key() != first.key()
