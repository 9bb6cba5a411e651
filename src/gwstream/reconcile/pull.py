"""Pull the vendors' own metrics into the cost database, to reconcile them with gwstream's.

:func:`pull_vendor_metrics` reads every configured Cognigy gateway's paginated
metrics (``GET /api/v1/llm/gateway/metrics``, seed 000) and every Genesys
gateway's cursor-paginated telemetry (``GET /api/v2/ai/llm/gateway/telemetry``,
seed 004) from the gateway's first base URL, and stores them page by page
in ``vendor_metrics``; :func:`reconciliation_report` reads the
``reconciliation`` view, which sets them against ``cost_events``. OpenAI
gateways publish no such figures and are skipped.

Parts: :mod:`~gwstream.reconcile.pages` (paging and row mapping, pure),
:mod:`~gwstream.reconcile.clients` (HTTP with the gateway's OAuth and the
shared Retrier), :mod:`~gwstream.reconcile.store` (DuckDB schema and view).

Like the sink, a pull needs the database file to itself: run it while no
sink holds the file. Pulling again is cheap to get wrong and cheap to
repeat: calls already stored are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path

import httpx

from gwstream.config import GatewaySettings, Settings
from gwstream.errors import ConfigError, GatewayError
from gwstream.gateways.client import build_http_client
from gwstream.reconcile.clients import (
    DEFAULT_PAGE_SIZES,
    METRICS_PATHS,
    READ_SCOPES,
    MetricsClient,
)
from gwstream.reconcile.pages import cognigy_pages, genesys_pages
from gwstream.reconcile.store import (
    PULLS_TABLE,
    RECONCILIATION_COLUMNS,
    VENDOR_TABLE,
    VendorMetricsStore,
    reconciliation_report,
)

__all__ = [
    "PULLS_TABLE",
    "READ_SCOPES",
    "RECONCILIATION_COLUMNS",
    "VENDOR_TABLE",
    "pull_vendor_metrics",
    "reconciliation_report",
]

logger = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
_MAX_CONNECTIONS = 4  # pages are read one after another; a few spare for token requests


async def pull_vendor_metrics(
    settings: Settings,
    database: Path,
    *,
    gateways: list[str] | None = None,
    max_pages: int = 10_000,
    page_size: int | None = None,
    scopes: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """Pull each gateway's vendor metrics into ``database``; return new rows per gateway.

    ``gateways`` names the gateways to pull (default: every ``cognigy.*`` and
    ``genesys.*`` gateway; OpenAI ones are skipped with a log line, and naming
    one is a ConfigError). Gateways are pulled one after another, each page
    stored in its own transaction as it arrives. ``max_pages`` bounds each
    gateway's pull: past it, a GatewayError says so (pages already stored
    stay). ``page_size`` replaces the vendor's default (Cognigy 100, Genesys
    50). ``scopes`` maps a gateway name to the scopes to request instead of
    the vendor's read scope.

    Raises ConfigError for a bad selection, GatewayError (naming the gateway
    and, on a 403, the scope to grant) when a vendor cannot be read, and
    SinkError when the database cannot be opened or written.
    """
    if max_pages < 1:
        raise ConfigError(f"max_pages must be >= 1, got {max_pages}")
    if page_size is not None and page_size < 1:
        raise ConfigError(f"page_size must be >= 1, got {page_size}")
    chosen = _pullable(settings, gateways)
    unknown = sorted(set(scopes or {}) - set(settings.gateways))
    if unknown:
        raise ConfigError(f"scopes names gateway(s) {', '.join(unknown)} that are not configured")
    if not chosen:
        logger.info("no cognigy or genesys gateway configured: no vendor metrics to pull")
        return {}

    store = VendorMetricsStore(database)
    await asyncio.to_thread(store.open)
    inserted: dict[str, int] = {}
    try:
        client = build_http_client(
            timeout_s=max(gw.timeout_s for _, gw in chosen),
            connect_timeout_s=_CONNECT_TIMEOUT_S,
            max_connections=_MAX_CONNECTIONS,
        )
        async with client:
            for name, gateway in chosen:
                inserted[name] = await _pull_gateway(
                    name,
                    gateway,
                    client,
                    store,
                    max_pages=max_pages,
                    page_size=page_size,
                    scopes=(scopes or {}).get(name),
                )
    finally:
        await asyncio.to_thread(store.close)
    return inserted


def _pullable(settings: Settings, names: list[str] | None) -> list[tuple[str, GatewaySettings]]:
    configured = settings.gateways
    if names is None:
        chosen = []
        for name, gateway in configured.items():
            if gateway.vendor in METRICS_PATHS:
                chosen.append((name, gateway))
            else:
                logger.info(
                    "gateway %r (%s) publishes no metrics endpoint: skipped",
                    name,
                    gateway.protocol,
                )
        return chosen
    missing = sorted(set(names) - set(configured))
    if missing:
        raise ConfigError(
            f"unknown gateway(s) {', '.join(map(repr, missing))}; configured gateways: "
            f"{', '.join(map(repr, configured))}"
        )
    chosen = [(name, configured[name]) for name in dict.fromkeys(names)]
    for name, gateway in chosen:
        if gateway.vendor not in METRICS_PATHS:
            raise ConfigError(
                f"gateway {name!r} uses protocol {gateway.protocol}, which has no metrics "
                "endpoint; pull only cognigy.* and genesys.* gateways"
            )
    return chosen


async def _pull_gateway(
    name: str,
    gateway: GatewaySettings,
    client: httpx.AsyncClient,
    store: VendorMetricsStore,
    *,
    max_pages: int,
    page_size: int | None,
    scopes: Sequence[str] | None,
) -> int:
    reader = MetricsClient(name, gateway, client, scopes=scopes)
    vendor = reader.vendor
    paging = cognigy_pages if vendor == "cognigy" else genesys_pages
    size = page_size or DEFAULT_PAGE_SIZES[vendor]
    started = datetime.now(UTC)
    pages = read = inserted = 0
    try:
        async with aclosing(
            paging(reader.page, size=size, max_pages=max_pages, source=reader.source)
        ) as rows_by_page:
            async for rows in rows_by_page:
                pages += 1
                read += len(rows)
                inserted += await asyncio.to_thread(store.insert, vendor, name, rows, started)
    except GatewayError:
        logger.warning(
            "pulling %s metrics of gateway %r stopped after %d pages (%d rows, %d new stored)",
            vendor,
            name,
            pages,
            read,
            inserted,
        )
        raise
    finally:
        await reader.aclose()
    await asyncio.to_thread(
        store.record_pull,
        vendor,
        name,
        started_at=started,
        finished_at=datetime.now(UTC),
        pages=pages,
        rows_read=read,
        rows_inserted=inserted,
    )
    logger.info(
        "pulled %s metrics of gateway %r: %d pages, %d rows, %d new",
        vendor,
        name,
        pages,
        read,
        inserted,
    )
    return inserted
