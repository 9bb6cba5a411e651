"""Vendor metrics as gwstream reads them: one row per vendor call, and the two ways to page.

Pure: no I/O. The HTTP side (:mod:`~gwstream.reconcile.clients`) hands
these functions a ``fetch(params) -> page`` callable; they decide which page
to ask for next, when to stop, and turn each item into a
:class:`VendorMetric`.

- Cognigy (seed 000) numbers its pages: ``GET /api/v1/llm/gateway/metrics?page=N&size=M``
  answers ``{"items", "page", "size", "total", "pages", "has_more"}``.
- Genesys (seed 004) hands out cursors: ``GET /api/v2/ai/llm/gateway/telemetry?cursor=&pageSize=``
  answers ``{"entities", "pageSize", "nextPageCursor"}``, the cursor null on the last page.

Both listings are oldest first. A pull stops after ``max_pages`` pages: if
the vendor still says there is more, :func:`cognigy_pages` and
:func:`genesys_pages` raise after yielding the last page, so whatever was
stored stays stored and the error says which limit to raise.

Only ids, model names, counts and timings are kept; no prompt or reply text.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from gwstream.errors import GatewayError, GatewayProtocolError

__all__ = [
    "MAX_ID_CHARS",
    "PageFetch",
    "Vendor",
    "VendorMetric",
    "cognigy_metric",
    "cognigy_pages",
    "genesys_metric",
    "genesys_pages",
]

Vendor = Literal["cognigy", "genesys"]

PageFetch = Callable[[dict[str, str]], Awaitable[Mapping[str, Any]]]
"""Fetches one page: query parameters in, the decoded JSON object out."""

MAX_ID_CHARS = 512
"""Longest request id, model or operation name accepted from a vendor."""


@dataclass(frozen=True, slots=True)
class VendorMetric:
    """One call as the vendor recorded it.

    ``request_id`` is the ``X-Request-ID`` gwstream sent, which is the turn
    id; a retried turn is several calls with the same ``request_id``.
    ``status`` is the HTTP status the vendor answered, when it says.
    """

    request_id: str
    ts: datetime
    operation: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_ms: float | None
    status: int | None
    streamed: bool

    def key(self) -> str:
        """A digest of the whole record: the same call read twice has the same key.

        Keying on ``request_id`` alone would keep one attempt of a retried turn
        and drop the others, whose tokens the vendor may well have counted.
        """
        fields = [
            self.request_id,
            self.ts.isoformat(),
            self.operation,
            self.model,
            self.prompt_tokens,
            self.completion_tokens,
            self.total_tokens,
            self.latency_ms,
            self.status,
            self.streamed,
        ]
        return hashlib.sha256(orjson.dumps(fields)).hexdigest()[:32]


# -- one item -> one row ---------------------------------------------------------------


def cognigy_metric(item: object, source: str) -> VendorMetric:
    """A Cognigy metrics item (``request_id``, ``timestamp``, ``route``, ``model``,
    ``prompt_tokens``, ``completion_tokens``, ``total_tokens``, ``latency_ms``,
    ``status``, ``streamed``) as a row; GatewayProtocolError naming the field if it
    breaks that shape. ``source`` names the endpoint in errors."""
    record = _Record(item, source, "metrics item")
    prompt = record.count("prompt_tokens")
    completion = record.count("completion_tokens")
    return VendorMetric(
        request_id=record.identifier("request_id"),
        ts=record.timestamp("timestamp"),
        operation=record.name("route"),
        model=record.name("model"),
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=record.count("total_tokens", default=prompt + completion),
        latency_ms=record.number("latency_ms"),
        status=record.status("status"),
        streamed=record.flag("streamed"),
    )


def genesys_metric(entity: object, source: str) -> VendorMetric:
    """A Genesys telemetry entity (``requestId``, ``timestamp``, ``operation``,
    ``modelId``, ``status``, ``latencyMs``, ``streamed``, ``tokenUsage {prompt,
    completion, total}``) as a row; GatewayProtocolError naming the field if it
    breaks that shape. ``promptId`` is not kept."""
    record = _Record(entity, source, "telemetry entity")
    usage = record.nested("tokenUsage")
    prompt = usage.count("prompt")
    completion = usage.count("completion")
    return VendorMetric(
        request_id=record.identifier("requestId"),
        ts=record.timestamp("timestamp"),
        operation=record.name("operation"),
        model=record.name("modelId"),
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=usage.count("total", default=prompt + completion),
        latency_ms=record.number("latencyMs"),
        status=record.status("status"),
        streamed=record.flag("streamed"),
    )


class _Record:
    """Typed reads of one JSON object, failing with the field's name (never its value:
    a vendor could put anything there)."""

    __slots__ = ("_data", "_what", "source")

    def __init__(self, data: object, source: str, what: str) -> None:
        if not isinstance(data, dict):
            raise _broken(source, f"a {what} that is not a JSON object")
        self._data: dict[str, Any] = data
        self._what = what
        self.source = source

    def _bad(self, key: str, expected: str) -> GatewayProtocolError:
        return _broken(self.source, f"a {self._what} whose {key!r} is not {expected}")

    def identifier(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
            raise self._bad(key, f"a string of 1 to {MAX_ID_CHARS} characters")
        return value

    def name(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > MAX_ID_CHARS:
            raise self._bad(key, f"a string of at most {MAX_ID_CHARS} characters")
        return value

    def timestamp(self, key: str) -> datetime:
        value = self._data.get(key)
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise self._bad(key, "an ISO-8601 date-time")
        if moment.tzinfo is None:  # vendors that leave the zone out mean UTC
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def count(self, key: str, *, default: int | None = None) -> int:
        value = self._data.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise self._bad(key, "a non-negative integer")
        return value

    def number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise self._bad(key, "a non-negative number")
        return float(value)

    def status(self, key: str) -> int | None:
        value = self._data.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 100 <= value <= 599:
            raise self._bad(key, "an HTTP status")
        return value

    def flag(self, key: str) -> bool:
        value = self._data.get(key, False)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def nested(self, key: str) -> _Record:
        return _Record(self._data.get(key), self.source, f"{self._what}'s {key}")


def _broken(source: str, what: str) -> GatewayProtocolError:
    return GatewayProtocolError(f"{source} sent {what}", endpoint=source)


def _items(page: Mapping[str, Any], key: str, source: str) -> list[Any]:
    items = page.get(key)
    if not isinstance(items, list):
        raise _broken(source, f"a page without a {key!r} list")
    return items


def _limit_reached(source: str, max_pages: int) -> GatewayError:
    return GatewayError(
        f"{source} has more metrics after max_pages={max_pages} pages; the rows read so far "
        "are stored: raise max_pages (or the page size) and pull again",
        endpoint=source,
    )


# -- paging ----------------------------------------------------------------------------


async def cognigy_pages(
    fetch: PageFetch, *, size: int, max_pages: int, source: str
) -> AsyncGenerator[list[VendorMetric], None]:
    """The rows of each page, page 1 first, until the vendor says there are no more.

    The end is ``has_more`` false; failing that, the page number reaching
    ``pages``; failing both, a short page. An empty page also ends the pull
    (nothing can follow it in an oldest-first listing).
    """
    if size < 1 or max_pages < 1:
        raise ValueError(f"size and max_pages must be >= 1, got {size} and {max_pages}")
    for number in range(1, max_pages + 1):
        page = await fetch({"page": str(number), "size": str(size)})
        items = _items(page, "items", source)
        yield [cognigy_metric(item, source) for item in items]
        if not items or not _cognigy_has_more(page, number, len(items), size, source):
            return
    raise _limit_reached(source, max_pages)


def _cognigy_has_more(
    page: Mapping[str, Any], number: int, count: int, size: int, source: str
) -> bool:
    has_more = page.get("has_more")
    if has_more is not None:
        if not isinstance(has_more, bool):
            raise _broken(source, "a page whose 'has_more' is not true or false")
        if not has_more:
            return False
    pages = page.get("pages")
    if pages is not None:
        if not isinstance(pages, int) or isinstance(pages, bool):
            raise _broken(source, "a page whose 'pages' is not an integer")
        return number < pages
    return has_more is True or count >= size


async def genesys_pages(
    fetch: PageFetch, *, size: int, max_pages: int, source: str
) -> AsyncGenerator[list[VendorMetric], None]:
    """The rows of each page, following ``nextPageCursor`` until it is null (or empty).

    A cursor the vendor already handed out in this pull would loop forever:
    that is a GatewayProtocolError. Pages may be empty while a cursor
    follows (a filtered listing), so only the cursor ends the pull.
    """
    if size < 1 or max_pages < 1:
        raise ValueError(f"size and max_pages must be >= 1, got {size} and {max_pages}")
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        params = {"pageSize": str(size)}
        if cursor is not None:
            params["cursor"] = cursor
        page = await fetch(params)
        items = _items(page, "entities", source)
        yield [genesys_metric(entity, source) for entity in items]
        following = page.get("nextPageCursor")
        if following is None or following == "":
            return
        if not isinstance(following, str):
            raise _broken(source, "a page whose 'nextPageCursor' is not a string or null")
        if following in seen:
            raise _broken(source, "a nextPageCursor it had already sent (the listing loops)")
        seen.add(following)
        cursor = following
    raise _limit_reached(source, max_pages)
