"""Budget status from the analysts' database: each tenant's spend in today's and this month's
UTC windows against the limit the processor applied, and one session's token budget
(the sink API's ``/budget/status``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from gwstream.sink.views.definition import rfc3339


def tenant_status(
    conn: duckdb.DuckDBPyConnection, now: datetime, tenant: str | None = None
) -> list[dict[str, Any]]:
    """Each tenant's spend in the UTC day and month of ``now`` against its limits.

    The windows are those the processor's limits count: by when it handled a
    turn (``produced_at``), not when the turn happened.

    The limits are those on the tenant's latest cost event that carried one
    (what the processor applied); ``state`` is ``exhausted`` at or past a
    limit, ``soft_threshold`` when the processor noticed the soft threshold
    in the window, else ``ok`` (``unlimited`` without limits).
    """
    day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
    month_start = now.strftime("%Y-%m-01 00:00:00+00")
    where = "AND tenant_id = $tenant" if tenant is not None else ""
    params: dict[str, Any] = {"month_start": month_start, "day": day}
    if tenant is not None:
        params["tenant"] = tenant
    rows = conn.execute(
        f"""
        SELECT
            tenant_id,
            currency,
            sum(cost) FILTER (
                WHERE strftime(timezone('UTC', produced_at), '%Y-%m-%d') = $day
            ) AS spend_day,
            sum(cost) AS spend_month,
            count(*) FILTER (
                WHERE strftime(timezone('UTC', produced_at), '%Y-%m-%d') = $day
            ) AS turns_day,
            count(*) AS turns_month
        FROM cost_events
        WHERE produced_at >= CAST($month_start AS TIMESTAMPTZ) {where}
        GROUP BY tenant_id, currency
        ORDER BY tenant_id, currency
        """,
        params,
    ).fetchall()
    limit_params: dict[str, Any] = {"tenant": tenant} if tenant is not None else {}
    limits = {
        str(t): (d, m)
        for t, d, m in conn.execute(
            f"""
            SELECT
                tenant_id,
                arg_max(tenant_limit_day, produced_at) FILTER (WHERE tenant_limit_day IS NOT NULL),
                arg_max(tenant_limit_month, produced_at) FILTER (
                    WHERE tenant_limit_month IS NOT NULL
                )
            FROM cost_events
            WHERE (tenant_limit_day IS NOT NULL OR tenant_limit_month IS NOT NULL) {where}
            GROUP BY tenant_id
            """,
            limit_params,
        ).fetchall()
    }
    notices = {
        (str(t), str(p)): str(level)
        for t, p, level in conn.execute(
            f"""
            SELECT tenant_id, period, arg_max(level, CASE level WHEN 'exhausted' THEN 1 ELSE 0 END)
            FROM budget_notices
            WHERE budget_window IN ($day, $month) {where}
            GROUP BY tenant_id, period
            """,
            {"day": day, "month": month, **limit_params},
        ).fetchall()
    }
    out = []
    for t, currency, spend_day, spend_month, turns_day, turns_month in rows:
        limit_day, limit_month = limits.get(str(t), (None, None))
        out.append(
            {
                "tenant_id": t,
                "currency": currency,
                "day": _window(day, spend_day, limit_day, notices.get((str(t), "day")), turns_day),
                "month": _window(
                    month, spend_month, limit_month, notices.get((str(t), "month")), turns_month
                ),
            }
        )
    return out


def _window(
    window: str, spend: Decimal | None, limit: Decimal | None, notice: str | None, turns: int
) -> dict[str, Any]:
    spent = spend if spend is not None else Decimal(0)
    if limit is None:
        state = "unlimited"
    elif spent >= limit or notice == "exhausted":
        state = "exhausted"
    elif notice == "soft_threshold":
        state = "soft_threshold"
    else:
        state = "ok"
    return {
        "window": window,
        "turns": turns,
        "spend": spent,
        "limit": limit,
        "share_used": round(float(spent / limit), 6) if limit else None,
        "state": state,
    }


def session_status(
    conn: duckdb.DuckDBPyConnection, tenant: str, session: str
) -> dict[str, Any] | None:
    """One session's turns, tokens, cost and token budget (None: no turns stored)."""
    row = conn.execute(
        f"""
        SELECT
            count(*),
            sum(input_tokens),
            sum(output_tokens),
            sum(cost),
            any_value(currency),
            arg_max(session_tokens_used, seq) FILTER (WHERE session_tokens_used IS NOT NULL),
            arg_max(session_tokens_left, seq) FILTER (WHERE session_tokens_left IS NOT NULL),
            count(*) FILTER (
                WHERE budget_mode = 'lightweight' AND status IS DISTINCT FROM 'refused'
            ),
            {rfc3339("max(occurred_at)")},
            max(seq) FILTER (
                WHERE session_tokens_left IS NOT NULL AND status IS DISTINCT FROM 'refused'
            )
        FROM cost_events
        WHERE tenant_id = $tenant AND session_id = $session
        """,
        {"tenant": tenant, "session": session},
    ).fetchall()[0]  # one row (an aggregate); fetchall leaves no result unfinished
    if not row[0]:
        return None
    refusals, last_refused = conn.execute(
        "SELECT count(*), max(seq) FROM audit_events WHERE tenant_id = $tenant "
        "AND session_id = $session AND reason = 'budget_exhausted'",
        {"tenant": tenant, "session": session},
    ).fetchall()[0]
    turns, inp, out, cost, currency, used, left, light, last, last_charged = row
    if left is None:
        state = "unlimited"
    elif left == 0 or (
        # Refused after the last turn it charged: spent now. A turn answered after a
        # refusal (a new window) means it is not.
        last_refused is not None and (last_charged is None or last_refused > last_charged)
    ):
        state = "exhausted"
    else:
        state = "ok"
    return {
        "tenant_id": tenant,
        "session_id": session,
        "turns": turns,
        "input_tokens": inp,
        "output_tokens": out,
        "cost": cost,
        "currency": currency,
        "session_tokens_used": used,
        "session_tokens_left": left,
        "lightweight_turns": light,
        "budget_refusals": refusals,
        "last_turn_at": last,
        "state": state,
    }
