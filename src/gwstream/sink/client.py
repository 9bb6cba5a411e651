"""Reading views from a running sink's HTTP API (the CLI's side of :mod:`gwstream.sink.api`).

``gwstream report`` and ``gwstream export`` ask the sink first: while it runs
it holds the database and only its API can read it. When nothing answers on
its address they read the file instead. Over HTTP, money arrives as exact
decimal strings and is turned back into ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import orjson

from gwstream.config import SinkSettings
from gwstream.errors import SinkError
from gwstream.sink.views import Filters, ViewResult


def api_url(sink: SinkSettings) -> str | None:
    """Where a sink with these settings serves its API (None: it serves none)."""
    if not sink.api_port:
        return None
    host = "127.0.0.1" if sink.api_host in ("0.0.0.0", "::", "") else sink.api_host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{sink.api_port}"


def _get(url: str, path: str, params: dict[str, str], timeout_s: float) -> httpx.Response | None:
    try:
        response = httpx.get(f"{url}{path}", params=params, timeout=timeout_s)
    except httpx.ConnectError:
        return None  # nothing listens: no sink running
    except httpx.HTTPError as exc:
        raise SinkError(f"the sink's API at {url} did not answer: {exc}") from exc
    if response.status_code != 200:
        try:
            message = orjson.loads(response.content)["error"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = response.text[:200]
        raise SinkError(f"the sink's API at {url} refused {path}: {message}")
    return response


def fetch_view(
    url: str, view: str, filters: Filters, *, timeout_s: float = 60.0
) -> ViewResult | None:
    """The view's rows from the sink at ``url``; None when no sink answers there."""
    response = _get(url, f"/api/views/{view}", filters.as_query(), timeout_s)
    if response is None:
        return None
    body = orjson.loads(response.content)
    money = set(body["money"])
    rows = [
        {k: Decimal(v) if k in money and v is not None else v for k, v in row.items()}
        for row in body["rows"]
    ]
    return ViewResult(body["view"], tuple(body["columns"]), rows)


def fetch_parquet(
    url: str, view: str, filters: Filters, *, timeout_s: float = 300.0
) -> bytes | None:
    """The view as a Parquet file from the sink at ``url``; None when no sink answers there."""
    params = {**filters.as_query(), "format": "parquet"}
    response = _get(url, f"/api/views/{view}", params, timeout_s)
    return None if response is None else response.content
