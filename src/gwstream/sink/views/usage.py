"""Per-tenant usage views: the costliest sessions, the answer cache's hits and
savings, budgets (lightweight turns, refusals, notices), and each tenant's spend
against its limits."""

from __future__ import annotations

from gwstream.sink.views.definition import AUDIT_DAY, DAY, View, make_view, rfc3339

_TOP_SESSIONS = f"""
SELECT
    tenant_id,
    session_id,
    currency,
    count(*) AS turns,
    {rfc3339("min(occurred_at)")} AS first_turn_at,
    {rfc3339("max(occurred_at)")} AS last_turn_at,
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
    {DAY} AS day,
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
        tenant_id, {AUDIT_DAY}, 0, 0,
        CAST(reason = 'budget_exhausted' AS INTEGER),
        CAST(reason = 'tenant_budget_exhausted' AS INTEGER),
        0, 0
    FROM audits
    WHERE status = 'refused' AND reason IN ('budget_exhausted', 'tenant_budget_exhausted')
    UNION ALL
    SELECT
        tenant_id, {AUDIT_DAY}, 0, 0, 0, 0,
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
),
noticed AS (
    SELECT
        tenant_id, period, budget_window,
        max(CASE level WHEN 'exhausted' THEN 2 WHEN 'soft_threshold' THEN 1 ELSE 0 END) AS level
    FROM notices
    GROUP BY ALL
)
SELECT
    tenant_id,
    period,
    budget_window,
    currency,
    spend,
    spend_limit,
    round(CAST(spend AS DOUBLE) / NULLIF(CAST(spend_limit AS DOUBLE), 0), 6) AS share_used,
    CASE
        WHEN spend_limit IS NULL THEN 'unlimited'
        WHEN spend >= spend_limit OR level = 2 THEN 'exhausted'
        WHEN level = 1 THEN 'soft_threshold'
        ELSE 'ok'
    END AS state
FROM windows LEFT JOIN noticed USING (tenant_id, period, budget_window)
""".strip()


USAGE_VIEWS: tuple[View, ...] = (
    make_view(
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
    make_view(
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
    make_view(
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
        by_processing_day=True,
    ),
    make_view(
        "limits",
        "tenant_limits",
        "Each tenant's spend per UTC day and month of processing (the windows its limits "
        "count) against the limit the processor applied, and the window's state as "
        "/budget/status gives it",
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
            "state",
        ),
        ("spend", "spend_limit"),
        by_processing_day=True,
    ),
)
