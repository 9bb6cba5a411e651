"""The views analysts read: their SQL, their filters, one way to read them.

Every view is a query over three relations, ``costs``, ``audits`` and
``notices``: the tables ``cost_events``, ``audit_events`` and
``budget_notices``, narrowed by the filters of a read. In the database file
each view also exists unfiltered (``CREATE VIEW``), for SQL users. The CLI
report, the HTTP API, the dashboard and Parquet export all read through
:func:`read_view` / :func:`view_sql`, so they agree.

Filters (:class:`Filters`): a tenant, a UTC date range (inclusive; the turn's
``occurred_at`` for costs, the event's ``produced_at`` for audits and
notices; the budget views, ``budgets`` and ``limits``, group by the day the
processor handled a turn, since that is the window its limits count), a model and a gateway (audits have no model: they are matched to
the turns of that model in the cost table; budget notices are per tenant and
ignore model and gateway), and a row limit.

Statuses: a turn is ``ok``, ``refused``, ``failed`` or ``invalid_output``;
``cached`` counts the ok turns the answer cache served, with no gateway
call. A replayed turn (answered again from its session's state after a
crash) republishes the same event ids, so the sink stores it once; audit
rows that were stored only from a replay say ``replayed``. Refused turns are
never "unpriced": they reached no model.

Money stays exact (``DECIMAL(18,9)`` sums); rates are rounded to 6 places.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from gwstream.sink.schema import (
    AUDIT_TABLE,
    COST_SCALE,
    COST_TABLE,
    NOTICE_TABLE,
    PULLS_TABLE,
    VENDOR_TABLE,
)

SPEND_VIEW = "spend_by_tenant_day_model"
VARIANT_VIEW = "variant_comparison"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a read narrows the tables to; None: no narrowing."""

    tenant: str | None = None
    since: date | None = None
    """First UTC day included."""
    until: date | None = None
    """Last UTC day included."""
    model: str | None = None
    gateway: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"the range ends ({self.until}) before it starts ({self.since})")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1")

    def as_query(self) -> dict[str, str]:
        """The filters as HTTP query parameters (the API's names)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[_PARAM_NAMES.get(f.name, f.name)] = str(value)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Filters from HTTP query parameters; ValueError names a bad one."""
        unknown = set(query) - set(_PARAM_NAMES.values()) - {"format"}
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"filters are {', '.join(_PARAM_NAMES.values())}"
            )

        def day(name: str) -> date | None:
            text = query.get(name)
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{name} must be a date like 2026-12-01, not {text!r}") from None

        limit = query.get("limit")
        if limit:
            try:
                n: int | None = int(limit)
            except ValueError:
                raise ValueError(f"limit must be a whole number, not {limit!r}") from None
        else:
            n = None
        return cls(
            tenant=query.get("tenant") or None,
            since=day("from"),
            until=day("to"),
            model=query.get("model") or None,
            gateway=query.get("gateway") or None,
            limit=n,
        )


#: Read everything.
NO_FILTERS = Filters()

_PARAM_NAMES = {
    "tenant": "tenant",
    "since": "from",
    "until": "to",
    "model": "model",
    "gateway": "gateway",
    "limit": "limit",
}


def _day_start(d: date) -> str:
    return f"{d.isoformat()} 00:00:00+00"


def _sources(f: Filters) -> tuple[str, dict[str, Any]]:
    """The WITH clause defining ``costs``, ``audits`` and ``notices`` under ``f``."""
    params: dict[str, Any] = {}
    cost_where: list[str] = []
    audit_where: list[str] = []
    notice_where: list[str] = []
    vendor_where: list[str] = []
    pull_where: list[str] = []
    if f.tenant is not None:
        params["tenant"] = f.tenant
        for where in (cost_where, audit_where, notice_where):
            where.append("tenant_id = $tenant")
    if f.since is not None:
        params["since"] = _day_start(f.since)
        cost_where.append("occurred_at >= CAST($since AS TIMESTAMPTZ)")
        vendor_where.append("ts >= CAST($since AS TIMESTAMPTZ)")
        audit_where.append("produced_at >= CAST($since AS TIMESTAMPTZ)")
        notice_where.append("produced_at >= CAST($since AS TIMESTAMPTZ)")
    if f.until is not None:
        params["until"] = _day_start(f.until + timedelta(days=1))
        cost_where.append("occurred_at < CAST($until AS TIMESTAMPTZ)")
        vendor_where.append("ts < CAST($until AS TIMESTAMPTZ)")
        audit_where.append("produced_at < CAST($until AS TIMESTAMPTZ)")
        notice_where.append("produced_at < CAST($until AS TIMESTAMPTZ)")
    if f.gateway is not None:
        params["gateway"] = f.gateway
        cost_where.append("gateway = $gateway")
        audit_where.append("gateway = $gateway")
        vendor_where.append("gateway = $gateway")
        pull_where.append("gateway = $gateway")
    if f.model is not None:
        params["model"] = f.model
        cost_where.append("request_model = $model")
        audit_where.append(
            f"turn_id IN (SELECT turn_id FROM {COST_TABLE} WHERE request_model = $model)"
        )

    def select(table: str, where: list[str]) -> str:
        return f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")

    return (
        f"WITH costs AS ({select(COST_TABLE, cost_where)}),\n"
        f"audits AS ({select(AUDIT_TABLE, audit_where)}),\n"
        f"notices AS ({select(NOTICE_TABLE, notice_where)}),\n"
        f"vendor AS ({select(VENDOR_TABLE, vendor_where)}),\n"
        f"pulls AS ({select(PULLS_TABLE, pull_where)})\n",
        params,
    )


@dataclass(frozen=True, slots=True)
class View:
    name: str
    """What the CLI and the API call it."""
    relation: str
    """Its name in the database file."""
    description: str
    query: str
    """Over ``costs``, ``audits`` and ``notices``."""
    order_by: str
    columns: tuple[str, ...]
    #: Columns holding money (Decimal), for renderers.
    money: frozenset[str] = frozenset()
    #: Rows a read returns when it names no limit (None: all).
    default_limit: int | None = None


@dataclass(frozen=True, slots=True)
class ViewResult:
    view: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def view_sql(view: View, filters: Filters = NO_FILTERS) -> tuple[str, dict[str, Any]]:
    """The statement reading ``view`` under ``filters``, and its parameters."""
    with_clause, params = _sources(filters)
    sql = (
        f"{with_clause}SELECT {', '.join(view.columns)} FROM (\n{view.query}\n) "
        f"ORDER BY {view.order_by}"
    )
    limit = filters.limit if filters.limit is not None else view.default_limit
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def read_view(
    conn: duckdb.DuckDBPyConnection, name: str, filters: Filters = NO_FILTERS
) -> ViewResult:
    """Rows of the view called ``name`` under ``filters`` (KeyError: no such view)."""
    view = VIEWS[name]
    sql, params = view_sql(view, filters)
    rows = conn.execute(sql, params).fetchall()
    return ViewResult(
        view.name, view.columns, [dict(zip(view.columns, row, strict=True)) for row in rows]
    )


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view, unfiltered, in ``conn``'s database."""
    with_clause, _ = _sources(NO_FILTERS)
    for view in VIEWS.values():
        conn.execute(
            f"CREATE OR REPLACE VIEW {view.relation} AS\n{with_clause}SELECT * FROM (\n{view.query}\n)"
        )


_DAY = "CAST(timezone('UTC', occurred_at) AS DATE)"
_AUDIT_DAY = "CAST(timezone('UTC', produced_at) AS DATE)"

_Z = 1.96
"""Two-sided 95% quantile of the normal distribution."""


def _wilson_margin(rate: str, n: str) -> str:
    """SQL for the 95% margin of ``rate`` (a share of ``n`` trials), from the Wilson score
    interval: half its width plus the distance from its centre to ``rate``, so that
    ``rate +/- margin`` covers the whole interval, which is not centred on the rate."""
    z2 = _Z * _Z
    shrink = f"(1 + {z2} / {n})"
    centre = f"(({rate} + {z2} / (2 * {n})) / {shrink})"
    half = f"({_Z} * sqrt({rate} * (1 - {rate}) / {n} + {z2} / (4 * {n} * {n})) / {shrink})"
    return f"round({half} + abs({centre} - {rate}), 6)"


#: A turn the gateway answered: a call was made and billed (not a cache hit, not refused
#: or failed). Older events without a status count when they have tokens.
_ANSWERED = (
    "NOT cached AND (status IN ('ok', 'invalid_output') OR (status IS NULL AND input_tokens > 0))"
)


def _variant_query() -> str:
    """The variant comparison.

    One row per tenant, prompt use case, prompt version and currency; turns
    without versioned prompts form the row whose use case and version are
    NULL. Every ``*_margin`` column is the half-width of a 95% interval, so
    ``value +/- margin`` is the interval and two variants differ, roughly,
    only when their intervals do not overlap:

    - ``cost_per_turn`` (the exact sum divided by the turns in floating
      point, rounded to 10^-9) with
      ``cost_sd``, the sample standard deviation of a turn's cost, and
      ``cost_per_turn_margin`` = 1.96 * sd / sqrt(turns), the normal
      approximation (too narrow below some 30 turns; NULL for one turn).
      Cached and refused turns count with what they cost (usually 0), like
      the tokens in ``input_tokens_per_turn`` and ``output_tokens_per_turn``:
      what a variant costs all in.
    - ``answers``: turns the gateway answered (ok or invalid_output, not from
      the cache), and per answer ``input_tokens_per_answer``,
      ``output_tokens_per_answer``, ``cost_per_answer`` and its margin: what
      a variant's prompt costs per call, apart from cache luck and refusals.
    - ``cache_hit_rate`` (cached turns out of all turns), ``refusal_rate``
      (refused) and ``failure_rate`` (failed or invalid_output: no usable
      answer other than a refusal), the last two out of the turns with a
      status (ok + refused + failed + invalid_output; events of gwstream
      versions before statuses were recorded have none). Their margins come
      from the Wilson score interval, which stays honest for small counts
      and rates near 0 or 1, where the normal approximation claims a width
      of 0; a margin is the larger distance from the rate to a bound of the
      Wilson interval, so ``rate +/- margin`` contains it.
    - ``latency_ms_mean``, ``latency_ms_p50`` and ``latency_ms_p95``
      (``quantile_cont``, interpolated), over the turns with a status (older
      events carry no latency).

    Rates and margins are rounded to 6 places, averages of tokens and
    latencies to 3.
    """
    return f"""
WITH counted AS (
    SELECT
        tenant_id,
        use_case,
        prompt_version,
        currency,
        count(*) AS turns,
        count(*) FILTER (WHERE status = 'ok') AS ok,
        count(*) FILTER (WHERE status = 'refused') AS refused,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'invalid_output') AS invalid_output,
        count(*) FILTER (WHERE cached) AS cached,
        NULLIF(count(status), 0) AS rated_turns,
        count(*) FILTER (WHERE {_ANSWERED}) AS answers,
        avg(input_tokens) FILTER (WHERE {_ANSWERED}) AS input_tokens_per_answer,
        avg(output_tokens) FILTER (WHERE {_ANSWERED}) AS output_tokens_per_answer,
        sum(cost) FILTER (WHERE {_ANSWERED}) AS answer_cost,
        stddev_samp(cost) FILTER (WHERE {_ANSWERED}) AS answer_cost_sd,
        avg(input_tokens) AS input_tokens_per_turn,
        avg(output_tokens) AS output_tokens_per_turn,
        sum(cost) AS cost,
        stddev_samp(cost) AS cost_sd,
        avg(latency_ms) FILTER (WHERE status IS NOT NULL) AS latency_ms_mean,
        quantile_cont(latency_ms, 0.5) FILTER (WHERE status IS NOT NULL) AS latency_ms_p50,
        quantile_cont(latency_ms, 0.95) FILTER (WHERE status IS NOT NULL) AS latency_ms_p95
    FROM costs
    GROUP BY tenant_id, use_case, prompt_version, currency
),
rated AS (
    SELECT
        *,
        cached / turns AS cache_hit_rate,
        refused / rated_turns AS refusal_rate,
        (failed + invalid_output) / rated_turns AS failure_rate
    FROM counted
)
SELECT
    tenant_id,
    use_case,
    prompt_version,
    currency,
    turns,
    ok,
    refused,
    failed,
    invalid_output,
    cached,
    round(input_tokens_per_turn, 3) AS input_tokens_per_turn,
    round(output_tokens_per_turn, 3) AS output_tokens_per_turn,
    CAST(cost / turns AS DECIMAL(38,{COST_SCALE})) AS cost_per_turn,
    CAST(cost_sd AS DECIMAL(38,{COST_SCALE})) AS cost_sd,
    CAST({_Z} * cost_sd / sqrt(turns) AS DECIMAL(38,{COST_SCALE})) AS cost_per_turn_margin,
    answers,
    round(input_tokens_per_answer, 3) AS input_tokens_per_answer,
    round(output_tokens_per_answer, 3) AS output_tokens_per_answer,
    CAST(answer_cost / NULLIF(answers, 0) AS DECIMAL(38,{COST_SCALE})) AS cost_per_answer,
    CAST(
        {_Z} * answer_cost_sd / sqrt(NULLIF(answers, 0)) AS DECIMAL(38,{COST_SCALE})
    ) AS cost_per_answer_margin,
    round(cache_hit_rate, 6) AS cache_hit_rate,
    {_wilson_margin("cache_hit_rate", "turns")} AS cache_hit_rate_margin,
    round(refusal_rate, 6) AS refusal_rate,
    {_wilson_margin("refusal_rate", "rated_turns")} AS refusal_rate_margin,
    round(failure_rate, 6) AS failure_rate,
    {_wilson_margin("failure_rate", "rated_turns")} AS failure_rate_margin,
    round(latency_ms_mean, 3) AS latency_ms_mean,
    round(latency_ms_p50, 3) AS latency_ms_p50,
    round(latency_ms_p95, 3) AS latency_ms_p95
FROM rated
""".strip()


_SPEND = f"""
SELECT
    tenant_id,
    {_DAY} AS day,
    request_model,
    currency,
    count(*) AS turns,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost) AS cost,
    count(*) FILTER (
        WHERE price_source = 'unpriced' AND status IS DISTINCT FROM 'refused'
    ) AS unpriced_turns,
    count(*) FILTER (WHERE cached) AS cached_turns,
    sum(avoided_cost) AS avoided_cost
FROM costs
GROUP BY tenant_id, day, request_model, currency
""".strip()


#: The figures every spend breakdown carries: first summed per ``keys``, the UTC day and
#: the price version over ``costs`` (one pass over the rows), then rolled up by the caller,
#: so that naming the distinct price versions costs nothing per row.
def _spend_parts(keys: str) -> str:
    return f"""
    SELECT
        {keys},
        CAST(timezone('UTC', occurred_at) AS DATE) AS day,
        price_version,
        count(*) AS turns,
        count(*) FILTER (WHERE {_ANSWERED}) AS answered,
        count(*) FILTER (WHERE cached) AS cached,
        count(*) FILTER (WHERE status = 'refused') AS refused,
        count(*) FILTER (WHERE status IN ('failed', 'invalid_output')) AS failed,
        sum(input_tokens) AS input_tokens,
        sum(cached_input_tokens) AS cached_input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cost) AS cost,
        sum(cost) FILTER (WHERE {_ANSWERED}) AS answer_cost,
        sum(avoided_cost) AS avoided_cost,
        count(*) FILTER (
            WHERE price_source = 'unpriced' AND status IS DISTINCT FROM 'refused'
        ) AS unpriced_turns
    FROM costs
    GROUP BY ALL"""


_SPEND_ROLLUP = """
    CAST(sum(turns) AS BIGINT) AS turns,
    CAST(sum(answered) AS BIGINT) AS answered,
    CAST(sum(cached) AS BIGINT) AS cached,
    CAST(sum(refused) AS BIGINT) AS refused,
    CAST(sum(failed) AS BIGINT) AS failed,
    CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
    CAST(sum(cached_input_tokens) AS BIGINT) AS cached_input_tokens,
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
    sum(cost) AS cost,
    sum(avoided_cost) AS avoided_cost,
    CAST(sum(unpriced_turns) AS BIGINT) AS unpriced_turns,
    string_agg(DISTINCT price_version, ', ' ORDER BY price_version) AS price_versions"""
_SPEND_FIGURE_COLUMNS = (
    "turns",
    "answered",
    "cached",
    "refused",
    "failed",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "cost",
    "avoided_cost",
    "unpriced_turns",
    "price_versions",
)
_SPEND_MONEY = frozenset({"cost", "avoided_cost"})


def _spend_per(unit: str) -> str:
    return f"""
WITH parts AS ({_spend_parts("tenant_id, currency")}
)
SELECT
    tenant_id,
    CAST(date_trunc('{unit}', day) AS DATE) AS period_start,
    currency,{_SPEND_ROLLUP}
FROM parts
GROUP BY tenant_id, period_start, currency
""".strip()


_SPEND_BY_MODEL = f"""
WITH parts AS ({_spend_parts("tenant_id, gateway, request_model, currency")}
)
SELECT
    tenant_id,
    gateway,
    request_model,
    currency,{_SPEND_ROLLUP},
    CAST(
        sum(answer_cost) / NULLIF(sum(answered), 0) AS DECIMAL(38,{COST_SCALE})
    ) AS cost_per_answer
FROM parts
GROUP BY tenant_id, gateway, request_model, currency
""".strip()

_TOP_SESSIONS = """
SELECT
    tenant_id,
    session_id,
    currency,
    count(*) AS turns,
    CAST(min(occurred_at) AS VARCHAR) AS first_turn_at,
    CAST(max(occurred_at) AS VARCHAR) AS last_turn_at,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost) AS cost,
    sum(avoided_cost) AS avoided_cost
FROM costs
GROUP BY tenant_id, session_id, currency
""".strip()

_CACHE = f"""
SELECT
    tenant_id,
    {_DAY} AS day,
    currency,
    count(*) AS turns,
    count(*) FILTER (WHERE cached) AS cached_turns,
    round(count(*) FILTER (WHERE cached) / count(*), 6) AS cache_hit_rate,
    sum(cost) AS cost,
    sum(avoided_cost) AS avoided_cost,
    round(
        CAST(sum(avoided_cost) AS DOUBLE) / NULLIF(CAST(sum(cost) + sum(avoided_cost) AS DOUBLE), 0),
        6
    ) AS savings_rate
FROM costs
GROUP BY tenant_id, day, currency
""".strip()

_BUDGETS = f"""
WITH parts AS (
    SELECT
        tenant_id, CAST(timezone('UTC', produced_at) AS DATE) AS day, 1 AS turns,
        CAST(budget_mode = 'lightweight' AND status IS DISTINCT FROM 'refused' AS INTEGER)
            AS lightweight_turns,
        0 AS session_budget_refusals, 0 AS tenant_budget_refusals,
        0 AS soft_threshold_notices, 0 AS exhausted_notices
    FROM costs
    UNION ALL
    SELECT
        tenant_id, {_AUDIT_DAY}, 0, 0,
        CAST(reason = 'budget_exhausted' AS INTEGER),
        CAST(reason = 'tenant_budget_exhausted' AS INTEGER),
        0, 0
    FROM audits
    WHERE status = 'refused' AND reason IN ('budget_exhausted', 'tenant_budget_exhausted')
    UNION ALL
    SELECT
        tenant_id, {_AUDIT_DAY}, 0, 0, 0, 0,
        CAST(level = 'soft_threshold' AS INTEGER),
        CAST(level = 'exhausted' AS INTEGER)
    FROM notices
)
SELECT
    tenant_id,
    day,
    sum(turns) AS turns,
    sum(coalesce(lightweight_turns, 0)) AS lightweight_turns,
    sum(session_budget_refusals) AS session_budget_refusals,
    sum(tenant_budget_refusals) AS tenant_budget_refusals,
    sum(soft_threshold_notices) AS soft_threshold_notices,
    sum(exhausted_notices) AS exhausted_notices
FROM parts
GROUP BY tenant_id, day
""".strip()


_TENANT_LIMITS = """
WITH per_day AS (
    SELECT
        tenant_id,
        CAST(timezone('UTC', produced_at) AS DATE) AS day,
        currency,
        sum(cost) AS spend,
        arg_max(tenant_limit_day, produced_at) FILTER (
            WHERE tenant_limit_day IS NOT NULL
        ) AS limit_day,
        arg_max(tenant_limit_month, produced_at) FILTER (
            WHERE tenant_limit_month IS NOT NULL
        ) AS limit_month,
        max(produced_at) FILTER (WHERE tenant_limit_month IS NOT NULL) AS limit_month_at
    FROM costs
    GROUP BY ALL
),
windows AS (
    SELECT
        tenant_id, 'day' AS period, strftime(day, '%Y-%m-%d') AS budget_window, currency,
        spend, limit_day AS spend_limit
    FROM per_day
    UNION ALL
    SELECT
        tenant_id, 'month', strftime(day, '%Y-%m') AS month, currency,
        sum(spend), arg_max(limit_month, limit_month_at)
    FROM per_day
    GROUP BY tenant_id, month, currency
)
SELECT
    tenant_id,
    period,
    budget_window,
    currency,
    spend,
    spend_limit,
    round(CAST(spend AS DOUBLE) / NULLIF(CAST(spend_limit AS DOUBLE), 0), 6) AS share_used
FROM windows
""".strip()

_OUTCOMES = """
SELECT
    gateway,
    outcome,
    status,
    count(*) AS turns,
    round(count(*) / sum(count(*)) OVER (PARTITION BY gateway), 6) AS share,
    count(*) FILTER (WHERE replayed) AS replayed,
    round(avg(attempts), 3) AS attempts_mean,
    round(quantile_cont(latency_ms, 0.5), 3) AS latency_ms_p50,
    round(quantile_cont(latency_ms, 0.95), 3) AS latency_ms_p95,
    round(quantile_cont(latency_ms, 0.99), 3) AS latency_ms_p99,
    round(max(latency_ms), 3) AS latency_ms_max
FROM audits
GROUP BY gateway, outcome, status
""".strip()


def _pii(column: str, direction: str) -> str:
    return f"""
    SELECT tenant_id, day, '{direction}' AS direction, entry.key AS finding,
           'redacted' AS action, entry.value AS findings
    FROM (
        SELECT tenant_id, {_AUDIT_DAY} AS day, unnest(map_entries({column})) AS entry
        FROM audits
        WHERE {column} IS NOT NULL
    )"""


_GUARDRAILS = f"""
WITH found AS (
{_pii("input_pii", "input")}
    UNION ALL
{_pii("output_pii", "output")}
    UNION ALL
    SELECT tenant_id, {_AUDIT_DAY}, 'input', 'injection:' || coalesce(injection_rule, 'unknown'),
           injection_action, 1
    FROM audits
    WHERE injection_action IS NOT NULL
)
SELECT
    tenant_id,
    day,
    direction,
    finding,
    action,
    count(*) AS turns,
    sum(findings) AS findings
FROM found
GROUP BY tenant_id, day, direction, finding, action
""".strip()

#: Columns of a variant comparison row, in output order (every ``*_margin`` is
#: the half-width of a 95% interval; see :func:`_variant_query`).
VARIANT_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "use_case",
    "prompt_version",
    "currency",
    "turns",
    "ok",
    "refused",
    "failed",
    "invalid_output",
    "cached",
    "input_tokens_per_turn",
    "output_tokens_per_turn",
    "cost_per_turn",
    "cost_sd",
    "cost_per_turn_margin",
    "answers",
    "input_tokens_per_answer",
    "output_tokens_per_answer",
    "cost_per_answer",
    "cost_per_answer_margin",
    "cache_hit_rate",
    "cache_hit_rate_margin",
    "refusal_rate",
    "refusal_rate_margin",
    "failure_rate",
    "failure_rate_margin",
    "latency_ms_mean",
    "latency_ms_p50",
    "latency_ms_p95",
)
#: Columns of the reconciliation view, in order.
RECONCILIATION_COLUMNS: tuple[str, ...] = (
    "gateway",
    "vendor",
    "day",
    "gwstream_turns",
    "vendor_requests",
    "vendor_calls",
    "matched",
    "only_gwstream",
    "only_gwstream_without_usage",
    "only_vendor",
    "gwstream_input_tokens",
    "gwstream_output_tokens",
    "gwstream_total_tokens",
    "vendor_prompt_tokens",
    "vendor_completion_tokens",
    "vendor_total_tokens",
    "total_tokens_diff",
    "matched_total_tokens_diff",
)

_RECONCILIATION = """
WITH pulled AS (
    SELECT gateway, min(vendor) AS vendor
    FROM (SELECT gateway, vendor FROM pulls
          UNION ALL SELECT gateway, vendor FROM vendor)
    GROUP BY gateway
),
ours AS (
    SELECT c.gateway, c.turn_id,
           CAST(timezone('UTC', c.occurred_at) AS DATE) AS day,
           c.input_tokens, c.output_tokens, c.usage_source = 'none' AS no_usage
    FROM costs AS c JOIN pulled AS p ON c.gateway = p.gateway
),
theirs AS (
    SELECT gateway, request_id,
           CAST(timezone('UTC', min(ts)) AS DATE) AS day,
           count(*) AS calls,
           sum(prompt_tokens) AS prompt_tokens,
           sum(completion_tokens) AS completion_tokens,
           sum(total_tokens) AS total_tokens
    FROM vendor
    GROUP BY gateway, request_id
),
joined AS (
    SELECT coalesce(o.gateway, t.gateway) AS gateway,
           coalesce(o.day, t.day) AS day,
           o.turn_id, t.request_id, o.no_usage,
           o.input_tokens, o.output_tokens, o.input_tokens + o.output_tokens AS our_total,
           t.calls, t.prompt_tokens, t.completion_tokens, t.total_tokens
    FROM ours AS o FULL OUTER JOIN theirs AS t
      ON o.gateway = t.gateway AND o.turn_id = t.request_id
)
SELECT
    j.gateway,
    p.vendor,
    j.day,
    count(j.turn_id) AS gwstream_turns,
    count(j.request_id) AS vendor_requests,
    coalesce(sum(j.calls), 0) AS vendor_calls,
    count(*) FILTER (WHERE j.turn_id IS NOT NULL AND j.request_id IS NOT NULL) AS matched,
    count(*) FILTER (WHERE j.request_id IS NULL) AS only_gwstream,
    count(*) FILTER (WHERE j.request_id IS NULL AND j.no_usage) AS only_gwstream_without_usage,
    count(*) FILTER (WHERE j.turn_id IS NULL) AS only_vendor,
    coalesce(sum(j.input_tokens), 0) AS gwstream_input_tokens,
    coalesce(sum(j.output_tokens), 0) AS gwstream_output_tokens,
    coalesce(sum(j.our_total), 0) AS gwstream_total_tokens,
    coalesce(sum(j.prompt_tokens), 0) AS vendor_prompt_tokens,
    coalesce(sum(j.completion_tokens), 0) AS vendor_completion_tokens,
    coalesce(sum(j.total_tokens), 0) AS vendor_total_tokens,
    coalesce(sum(j.total_tokens), 0) - coalesce(sum(j.our_total), 0) AS total_tokens_diff,
    coalesce(sum(j.total_tokens - j.our_total)
             FILTER (WHERE j.turn_id IS NOT NULL AND j.request_id IS NOT NULL), 0)
        AS matched_total_tokens_diff
FROM joined AS j JOIN pulled AS p ON j.gateway = p.gateway
GROUP BY j.gateway, p.vendor, j.day
""".strip()


_SPEND_PERIOD_COLUMNS = ("tenant_id", "period_start", "currency", *_SPEND_FIGURE_COLUMNS)


def _view(
    name: str,
    relation: str,
    description: str,
    query: str,
    order_by: str,
    columns: Sequence[str],
    money: Collection[str] = (),
    default_limit: int | None = None,
) -> View:
    return View(
        name,
        relation,
        description,
        query,
        order_by,
        tuple(columns),
        frozenset(money),
        default_limit,
    )


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        _view(
            "spend",
            SPEND_VIEW,
            "Spend per tenant, UTC day and model, with the cache's savings",
            _SPEND,
            "tenant_id, day, request_model, currency",
            (
                "tenant_id",
                "day",
                "request_model",
                "currency",
                "turns",
                "input_tokens",
                "output_tokens",
                "cost",
                "unpriced_turns",
                "cached_turns",
                "avoided_cost",
            ),
            ("cost", "avoided_cost"),
        ),
        *(
            _view(
                f"spend_{label}",
                f"spend_{label}",
                f"Spend per tenant and {unit} (UTC{', weeks from Monday' if unit == 'week' else ''})",
                _spend_per(unit),
                "tenant_id, period_start, currency",
                _SPEND_PERIOD_COLUMNS,
                _SPEND_MONEY,
            )
            for label, unit in (("daily", "day"), ("weekly", "week"), ("monthly", "month"))
        ),
        _view(
            "spend_by_model",
            "spend_by_model",
            "Spend per tenant, gateway and model, with the cost per answered call",
            _SPEND_BY_MODEL,
            "tenant_id, gateway NULLS LAST, request_model, currency",
            (
                "tenant_id",
                "gateway",
                "request_model",
                "currency",
                *_SPEND_FIGURE_COLUMNS,
                "cost_per_answer",
            ),
            (*_SPEND_MONEY, "cost_per_answer"),
        ),
        _view(
            "top_sessions",
            "top_sessions",
            "Sessions by cost, the most expensive first (100 unless a limit is given)",
            _TOP_SESSIONS,
            "cost DESC, tenant_id, session_id",
            (
                "tenant_id",
                "session_id",
                "currency",
                "turns",
                "first_turn_at",
                "last_turn_at",
                "input_tokens",
                "output_tokens",
                "cost",
                "avoided_cost",
            ),
            ("cost", "avoided_cost"),
            default_limit=100,
        ),
        _view(
            "cache",
            "cache_savings",
            "The answer cache per tenant and day: hit rate and what it saved",
            _CACHE,
            "tenant_id, day, currency",
            (
                "tenant_id",
                "day",
                "currency",
                "turns",
                "cached_turns",
                "cache_hit_rate",
                "cost",
                "avoided_cost",
                "savings_rate",
            ),
            ("cost", "avoided_cost"),
        ),
        _view(
            "budgets",
            "budget_usage",
            "Budgets per tenant and UTC day of processing (the processor's windows): turns "
            "answered in lightweight mode, refusals, notices",
            _BUDGETS,
            "tenant_id, day",
            (
                "tenant_id",
                "day",
                "turns",
                "lightweight_turns",
                "session_budget_refusals",
                "tenant_budget_refusals",
                "soft_threshold_notices",
                "exhausted_notices",
            ),
        ),
        _view(
            "limits",
            "tenant_limits",
            "Each tenant's spend per UTC day and month of processing (the windows its limits "
            "count) against the limit the processor applied",
            _TENANT_LIMITS,
            "tenant_id, period, budget_window, currency",
            (
                "tenant_id",
                "period",
                "budget_window",
                "currency",
                "spend",
                "spend_limit",
                "share_used",
            ),
            ("spend", "spend_limit"),
        ),
        _view(
            "outcomes",
            "gateway_outcomes",
            "Gateway outcomes per gateway, with latency percentiles",
            _OUTCOMES,
            "gateway NULLS LAST, turns DESC, outcome, status",
            (
                "gateway",
                "outcome",
                "status",
                "turns",
                "share",
                "replayed",
                "attempts_mean",
                "latency_ms_p50",
                "latency_ms_p95",
                "latency_ms_p99",
                "latency_ms_max",
            ),
        ),
        _view(
            "guardrails",
            "guardrail_findings",
            "Guardrail findings per tenant, day and type (counts only, never values)",
            _GUARDRAILS,
            "tenant_id, day, direction, finding, action",
            ("tenant_id", "day", "direction", "finding", "action", "turns", "findings"),
        ),
        _view(
            "variants",
            VARIANT_VIEW,
            "Prompt variants side by side, with 95% intervals",
            _variant_query(),
            "tenant_id, use_case NULLS LAST, prompt_version NULLS LAST, currency",
            VARIANT_COLUMNS,
            (
                "cost_per_turn",
                "cost_sd",
                "cost_per_turn_margin",
                "cost_per_answer",
                "cost_per_answer_margin",
            ),
        ),
        _view(
            "reconciliation",
            "reconciliation",
            "gwstream's turns and tokens against the vendors' own metrics, per gateway and day",
            _RECONCILIATION,
            "gateway, day",
            RECONCILIATION_COLUMNS,
        ),
    )
}
