"""The views over the audit events: gateway outcomes with their latencies, and
guardrail findings."""

from __future__ import annotations

from gwstream.sink.views.definition import AUDIT_DAY, View, make_view

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
        SELECT tenant_id, {AUDIT_DAY} AS day, unnest(map_entries({column})) AS entry
        FROM audits
        WHERE {column} IS NOT NULL
    )"""


_GUARDRAILS = f"""
WITH found AS (
{_pii("input_pii", "input")}
    UNION ALL
{_pii("output_pii", "output")}
    UNION ALL
    SELECT tenant_id, {AUDIT_DAY}, 'input', 'injection:' || coalesce(injection_rule, 'unknown'),
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


AUDIT_VIEWS: tuple[View, ...] = (
    make_view(
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
    make_view(
        "guardrails",
        "guardrail_findings",
        "Guardrail findings per tenant, day and type (counts only, never values)",
        _GUARDRAILS,
        "tenant_id, day, direction, finding, action",
        ("tenant_id", "day", "direction", "finding", "action", "turns", "findings"),
    ),
)
