"""The comparison of prompt variants (:data:`VARIANT_VIEW`), with 95% intervals."""

from __future__ import annotations

from gwstream.sink.schema import COST_SCALE
from gwstream.sink.views.definition import ANSWERED, make_view

VARIANT_VIEW = "variant_comparison"

_Z = 1.96
"""Two-sided 95% quantile of the normal distribution."""


def _wilson(rate: str, n: str) -> tuple[str, str, str]:
    """SQL for the 95% Wilson score interval of ``rate`` (a share of ``n`` trials): its
    lower and upper bound, and a margin (half its width plus the distance from its centre
    to ``rate``, so that ``rate +/- margin`` covers the interval, which is not centred on
    the rate)."""
    z2 = _Z * _Z
    shrink = f"(1 + {z2} / {n})"
    centre = f"(({rate} + {z2} / (2 * {n})) / {shrink})"
    half = f"({_Z} * sqrt({rate} * (1 - {rate}) / {n} + {z2} / (4 * {n} * {n})) / {shrink})"
    return (
        f"round(greatest({centre} - {half}, 0), 6)",
        f"round(least({centre} + {half}, 1), 6)",
        f"round({half} + abs({centre} - {rate}), 6)",
    )


def _rate_columns(name: str, n: str) -> str:
    low, high, margin = _wilson(name, n)
    return (
        f"round({name}, 6) AS {name},\n    {margin} AS {name}_margin,\n"
        f"    {low} AS {name}_low,\n    {high} AS {name}_high,"
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
      of 0. The interval is not centred on the rate: ``*_low`` and
      ``*_high`` are its bounds, and a margin is the larger distance from the
      rate to a bound, so ``rate +/- margin`` contains it.
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
        count(*) FILTER (WHERE {ANSWERED}) AS answers,
        avg(input_tokens) FILTER (WHERE {ANSWERED}) AS input_tokens_per_answer,
        avg(output_tokens) FILTER (WHERE {ANSWERED}) AS output_tokens_per_answer,
        sum(cost) FILTER (WHERE {ANSWERED}) AS answer_cost,
        stddev_samp(cost) FILTER (WHERE {ANSWERED}) AS answer_cost_sd,
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
    {_rate_columns("cache_hit_rate", "turns")}
    {_rate_columns("refusal_rate", "rated_turns")}
    {_rate_columns("failure_rate", "rated_turns")}
    round(latency_ms_mean, 3) AS latency_ms_mean,
    round(latency_ms_p50, 3) AS latency_ms_p50,
    round(latency_ms_p95, 3) AS latency_ms_p95
FROM rated
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
    "cache_hit_rate_low",
    "cache_hit_rate_high",
    "refusal_rate",
    "refusal_rate_margin",
    "refusal_rate_low",
    "refusal_rate_high",
    "failure_rate",
    "failure_rate_margin",
    "failure_rate_low",
    "failure_rate_high",
    "latency_ms_mean",
    "latency_ms_p50",
    "latency_ms_p95",
)

VARIANTS = make_view(
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
)
