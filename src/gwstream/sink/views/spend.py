"""The spend views: per tenant, UTC day and model (:data:`SPEND_VIEW`), per
tenant and day, week or month, and per tenant, gateway and model."""

from __future__ import annotations

from gwstream.sink.schema import COST_SCALE
from gwstream.sink.views.definition import ANSWERED, DAY, View, make_view

SPEND_VIEW = "spend_by_tenant_day_model"

_SPEND = f"""
SELECT
    tenant_id,
    {DAY} AS day,
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
#: ``turns`` = ``answered`` + ``cached`` + ``refused`` + ``failed``; ``invalid_output`` counts
#: the answered (and billed) turns whose answer failed its JSON check.
def _spend_parts(keys: str) -> str:
    return f"""
    SELECT
        {keys},
        CAST(timezone('UTC', occurred_at) AS DATE) AS day,
        price_version,
        count(*) AS turns,
        count(*) FILTER (WHERE {ANSWERED}) AS answered,
        count(*) FILTER (WHERE cached) AS cached,
        count(*) FILTER (WHERE status = 'refused') AS refused,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'invalid_output') AS invalid_output,
        sum(input_tokens) AS input_tokens,
        sum(cached_input_tokens) AS cached_input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cost) AS cost,
        sum(cost) FILTER (WHERE {ANSWERED}) AS answer_cost,
        count(*) FILTER (
            WHERE {ANSWERED} AND price_source IS DISTINCT FROM 'unpriced'
        ) AS priced_answers,
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
    CAST(sum(invalid_output) AS BIGINT) AS invalid_output,
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
    "invalid_output",
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
        sum(answer_cost) / NULLIF(sum(priced_answers), 0) AS DECIMAL(38,{COST_SCALE})
    ) AS cost_per_answer
FROM parts
GROUP BY tenant_id, gateway, request_model, currency
""".strip()

_SPEND_PERIOD_COLUMNS = ("tenant_id", "period_start", "currency", *_SPEND_FIGURE_COLUMNS)


SPEND_VIEWS: tuple[View, ...] = (
    make_view(
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
        make_view(
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
    make_view(
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
)
