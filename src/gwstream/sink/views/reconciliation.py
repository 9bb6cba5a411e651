"""The reconciliation of gwstream's turns and tokens with the vendors' own metrics,
per gateway and day."""

from __future__ import annotations

from gwstream.sink.views.definition import make_view

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


RECONCILIATION = make_view(
    "reconciliation",
    "reconciliation",
    "gwstream's turns and tokens against the vendors' own metrics, per gateway and day",
    _RECONCILIATION,
    "gateway, day",
    RECONCILIATION_COLUMNS,
)
