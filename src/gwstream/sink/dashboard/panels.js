// The dashboard's panels: each turns the API's JSON into charts and tables.
// Marks and cells carry the API's exact figures in data-* attributes.

import { barChart, lineChart } from "./charts.js";
import { addDecimals, count, money, moneyTick, ms, percent, plain, raw } from "./format.js";

const EMPTY = "No data for these filters.";
const WIDE = 1000; // the viewBox width of charts in full-width panels

// -- building blocks ---------------------------------------------------------

function fill(section, nodes) {
  const body = section.querySelector(".panel-body");
  body.replaceChildren();
  const shown = nodes.filter(Boolean);
  if (shown.length === 0) {
    const p = document.createElement("p");
    p.className = "empty";
    p.dataset.testid = "empty";
    p.textContent = EMPTY;
    body.appendChild(p);
    section.dataset.state = "empty";
    return;
  }
  body.append(...shown);
  section.dataset.state = "ready";
}

/** A table of `rows` in the API's order; each cell's data-value is the exact figure. */
function table(columns, rows, testid, caption) {
  const t = document.createElement("table");
  t.dataset.testid = testid;
  if (caption) t.createCaption().textContent = caption;
  const head = t.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.label;
    if (c.numeric) th.className = "num";
    head.appendChild(th);
  }
  const body = t.createTBody();
  rows.forEach((row, i) => {
    const tr = body.insertRow();
    tr.dataset.row = String(i);
    for (const c of columns) {
      const td = tr.insertCell();
      const value = c.get ? c.get(row) : row[c.key];
      td.dataset.col = c.key;
      td.dataset.value = raw(value);
      if (c.numeric) td.className = "num";
      const shown = (c.format ?? plain)(value, row);
      if (shown instanceof Node) td.appendChild(shown);
      else td.textContent = shown;
    }
  });
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.appendChild(t);
  return wrap;
}

/** The rows' currency, or null when they mix currencies (then series name it). */
function currencyOf(rows) {
  const currencies = new Set(rows.map((r) => r.currency).filter(Boolean));
  return currencies.size === 1 ? [...currencies][0] : null;
}

function tenantSeries(rows) {
  const mixed = new Set(rows.map((r) => r.currency)).size > 1;
  return (row) => (mixed ? `${row.tenant_id} (${row.currency})` : row.tenant_id);
}

/**
 * Rows to chart data: one series per `seriesOf(row)`, one category per
 * `categoryOf(row)`, figures summed where rows share both (exactly for money).
 */
function pivot(rows, { categoryOf, seriesOf, valueOf, exact, categories }) {
  const cells = new Map();
  const seen = [];
  for (const row of rows) {
    const category = categoryOf(row);
    const name = seriesOf(row);
    if (!seen.includes(category)) seen.push(category);
    if (!cells.has(name)) cells.set(name, {});
    const points = cells.get(name);
    (points[category] ??= []).push(valueOf(row));
  }
  const series = [...cells.entries()].map(([name, points]) => ({
    name,
    points: Object.fromEntries(
      Object.entries(points).map(([category, values]) => [category, point(values, exact)]),
    ),
  }));
  return { categories: categories ? categories(seen) : seen, series };
}

function point(values, exact) {
  if (exact) {
    const sum = addDecimals(values);
    return { value: Number(sum), raw: sum };
  }
  const sum = values.reduce((a, b) => a + Number(b ?? 0), 0);
  return { value: sum, raw: String(sum) };
}

function totals(rows, categoryOf, valueOf) {
  const by = {};
  for (const row of rows) (by[categoryOf(row)] ??= []).push(valueOf(row));
  return Object.fromEntries(
    Object.entries(by).map(([category, values]) => [category, point(values, true)]),
  );
}

function paint(data, colour) {
  for (const s of data.series) s.color = colour(s.name);
  return data;
}

function moneyAxis(label, currency) {
  return currency ? `${label} (${currency})` : label;
}

const sorted = (values) => [...values].sort();

// -- panels ------------------------------------------------------------------

export function spendDaily(section, view, { colour }) {
  const rows = view.rows;
  const currency = currencyOf(rows);
  const nameOf = tenantSeries(rows);
  const data = pivot(rows, {
    categoryOf: (r) => r.period_start,
    seriesOf: nameOf,
    valueOf: (r) => r.cost,
    exact: true,
    categories: sorted,
  });
  const chart =
    rows.length > 0 &&
    barChart(paint(data, colour), {
      title: "Spend per tenant and UTC day",
      width: WIDE,
      testid: "chart-spend-daily",
      stacked: true,
      totals: currency ? totals(rows, (r) => r.period_start, (r) => r.cost) : undefined,
      yLabel: moneyAxis("Spend", currency),
      format: moneyTick,
      formatValue: (v) => money(v, currency),
    });
  fill(section, [chart]);
}

export function spendByModel(section, view, { colour }) {
  const rows = view.rows;
  const currency = currencyOf(rows);
  const sums = totals(rows, (r) => r.request_model, (r) => r.cost);
  const data = pivot(rows, {
    categoryOf: (r) => r.request_model,
    seriesOf: tenantSeries(rows),
    valueOf: (r) => r.cost,
    exact: true,
    categories: (models) => models.sort((a, b) => sums[b].value - sums[a].value || (a < b ? -1 : 1)),
  });
  const chart =
    rows.length > 0 &&
    barChart(paint(data, colour), {
      title: "Spend per model and tenant",
      testid: "chart-spend-model",
      stacked: true,
      totals: currency ? sums : undefined,
      yLabel: moneyAxis("Spend", currency),
      format: moneyTick,
      formatValue: (v) => money(v, currency),
    });
  const m = (v, r) => money(v, r.currency);
  const detail =
    rows.length > 0 &&
    table(
      [
        { key: "tenant_id", label: "Tenant" },
        { key: "gateway", label: "Gateway" },
        { key: "request_model", label: "Model" },
        { key: "turns", label: "Turns", numeric: true, format: count },
        { key: "answered", label: "Answered", numeric: true, format: count },
        { key: "cached", label: "Cached", numeric: true, format: count },
        { key: "refused", label: "Refused", numeric: true, format: count },
        { key: "cost", label: "Spend", numeric: true, format: m },
        { key: "cost_per_answer", label: "Per answer", numeric: true, format: m },
        { key: "unpriced_turns", label: "Unpriced", numeric: true, format: count },
      ],
      rows,
      "table-spend-model",
      "Per tenant, gateway and model",
    );
  fill(section, [chart, detail]);
}

export function cacheSavings(section, view, { colour }) {
  const rows = view.rows;
  const currency = currencyOf(rows);
  const data = pivot(rows, {
    categoryOf: (r) => r.day,
    seriesOf: tenantSeries(rows),
    valueOf: (r) => r.avoided_cost,
    exact: true,
    categories: sorted,
  });
  const chart =
    rows.length > 0 &&
    barChart(paint(data, colour), {
      title: "What the answer cache saved, per tenant and day",
      testid: "chart-cache-savings",
      stacked: true,
      totals: currency ? totals(rows, (r) => r.day, (r) => r.avoided_cost) : undefined,
      yLabel: moneyAxis("Saved", currency),
      format: moneyTick,
      formatValue: (v) => money(v, currency),
    });
  const m = (v, r) => money(v, r.currency);
  const detail =
    rows.length > 0 &&
    table(
      [
        { key: "tenant_id", label: "Tenant" },
        { key: "day", label: "Day" },
        { key: "turns", label: "Turns", numeric: true, format: count },
        { key: "cached_turns", label: "From cache", numeric: true, format: count },
        { key: "cache_hit_rate", label: "Hit rate", numeric: true, format: (v) => percent(v) },
        { key: "cost", label: "Spent", numeric: true, format: m },
        { key: "avoided_cost", label: "Saved", numeric: true, format: m },
        { key: "savings_rate", label: "Savings", numeric: true, format: (v) => percent(v) },
      ],
      rows,
      "table-cache",
      "Hit rate and savings per tenant and day",
    );
  fill(section, [chart, detail]);
}

function stateBadge(state) {
  const span = document.createElement("span");
  span.className = `state state-${state}`;
  span.textContent = state.replace("_", " ");
  return span;
}

function share(value) {
  if (value === null || value === undefined) return "–";
  const wrap = document.createElement("span");
  wrap.className = "share";
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = 1;
  meter.low = 0.8;
  meter.high = 0.999;
  meter.optimum = 0;
  meter.value = Math.min(Number(value), 1);
  wrap.append(meter, ` ${percent(value)}`);
  return wrap;
}

export function budgetStatus(section, status, limits, budgets, { colour }) {
  const windowColumns = (period, label) => [
    { key: `${period}.spend`, label: `${label} spend`, numeric: true, get: (r) => r[period].spend,
      format: (v, r) => money(v, r.currency) },
    { key: `${period}.limit`, label: "Limit", numeric: true, get: (r) => r[period].limit,
      format: (v, r) => (v == null ? "none" : money(v, r.currency)) },
    { key: `${period}.share_used`, label: "Used", get: (r) => r[period].share_used, format: share },
    { key: `${period}.state`, label: "State", get: (r) => r[period].state, format: stateBadge },
  ];
  const now =
    status.length > 0 &&
    table(
      [
        { key: "tenant_id", label: "Tenant" },
        ...windowColumns("day", "Today"),
        ...windowColumns("month", "This month"),
      ],
      status,
      "table-budget-status",
      `Now: today (${status[0].day.window}) and this month (${status[0].month.window}), UTC`,
    );
  const daily = limits.rows.filter((r) => r.period === "day");
  const nameOf = tenantSeries(daily);
  const spend = pivot(daily, {
    categoryOf: (r) => r.budget_window,
    seriesOf: nameOf,
    valueOf: (r) => r.spend,
    exact: true,
    categories: sorted,
  });
  const capped = daily.filter((r) => r.spend_limit !== null);
  const cap = pivot(capped, {
    categoryOf: (r) => r.budget_window,
    seriesOf: (r) => `${nameOf(r)} limit`,
    valueOf: (r) => r.spend_limit,
    exact: true,
  });
  for (const s of spend.series) s.color = colour(s.name);
  for (const s of cap.series) {
    s.color = colour(s.name.replace(/ limit$/, ""));
    s.dashed = true;
  }
  const currency = currencyOf(daily);
  const chart =
    daily.length > 0 &&
    lineChart(
      { categories: spend.categories, series: [...spend.series, ...cap.series] },
      {
        title: "Daily spend against the daily limit",
        width: WIDE,
        testid: "chart-limits",
        legend: true,
        yLabel: moneyAxis("Spend", currency),
        format: moneyTick,
        formatValue: (v) => money(v, currency),
      },
    );
  const counted = budgets.rows.filter(
    (r) =>
      r.lightweight_turns ||
      r.session_budget_refusals ||
      r.tenant_budget_refusals ||
      r.soft_threshold_notices ||
      r.exhausted_notices,
  );
  const events =
    counted.length > 0 &&
    table(
      [
        { key: "tenant_id", label: "Tenant" },
        { key: "day", label: "Day" },
        { key: "turns", label: "Turns", numeric: true, format: count },
        { key: "lightweight_turns", label: "Lightweight", numeric: true, format: count },
        { key: "session_budget_refusals", label: "Session refusals", numeric: true, format: count },
        { key: "tenant_budget_refusals", label: "Tenant refusals", numeric: true, format: count },
        { key: "soft_threshold_notices", label: "Soft notices", numeric: true, format: count },
        { key: "exhausted_notices", label: "Exhausted notices", numeric: true, format: count },
      ],
      counted,
      "table-budgets",
      "Days with lightweight mode, budget refusals or notices",
    );
  fill(section, [now, chart, events]);
}

export const gatewayLabel = (row) => row.gateway ?? "(no gateway)";
export const outcomeLabel = (row) =>
  row.status === row.outcome ? row.outcome : `${row.outcome} (${row.status})`;

export function outcomes(section, view) {
  const rows = view.rows;
  const mix =
    rows.length > 0 &&
    barChart(
      pivot(rows, {
        categoryOf: gatewayLabel,
        seriesOf: outcomeLabel,
        valueOf: (r) => r.turns,
        exact: false,
      }),
      {
        title: "Turns per gateway and outcome",
        width: WIDE,
        testid: "chart-outcomes",
        stacked: true,
        legend: true,
        yLabel: "Turns",
        format: count,
      },
    );
  const timed = rows.filter((r) => r.latency_ms_p50 !== null);
  const rowLabel = (r) => `${gatewayLabel(r)} · ${outcomeLabel(r)}`;
  const latency =
    timed.length > 0 &&
    barChart(
      {
        categories: timed.map(rowLabel),
        series: ["p50", "p95", "p99"].map((p) => ({
          name: p,
          points: Object.fromEntries(
            timed.map((r) => [
              rowLabel(r),
              { value: r[`latency_ms_${p}`], raw: raw(r[`latency_ms_${p}`]) },
            ]),
          ),
        })),
      },
      {
        title: "Latency percentiles per gateway and outcome",
        width: WIDE,
        testid: "chart-latency",
        yLabel: "Latency (ms)",
        format: count,
        formatValue: ms,
      },
    );
  const detail =
    rows.length > 0 &&
    table(
      [
        { key: "gateway", label: "Gateway", format: (v) => v ?? "(no gateway)" },
        { key: "outcome", label: "Outcome" },
        { key: "status", label: "Status" },
        { key: "turns", label: "Turns", numeric: true, format: count },
        { key: "share", label: "Share", numeric: true, format: (v) => percent(v) },
        { key: "attempts_mean", label: "Attempts", numeric: true },
        { key: "latency_ms_p50", label: "p50", numeric: true, format: ms },
        { key: "latency_ms_p95", label: "p95", numeric: true, format: ms },
        { key: "latency_ms_p99", label: "p99", numeric: true, format: ms },
      ],
      rows,
      "table-outcomes",
      "Outcomes and latency",
    );
  fill(section, [mix, latency, detail]);
}

export const variantLabel = (row) =>
  row.use_case === null ? "unversioned" : `${row.use_case} · ${row.prompt_version ?? "?"}`;

export function variants(section, view, { colour }) {
  const rows = view.rows;
  const currency = currencyOf(rows);
  const nameOf = tenantSeries(rows);
  const data = { categories: [], series: [] };
  for (const row of rows) {
    const category = variantLabel(row);
    if (!data.categories.includes(category)) data.categories.push(category);
    let s = data.series.find((x) => x.name === nameOf(row));
    if (!s) data.series.push((s = { name: nameOf(row), points: {}, color: colour(nameOf(row)) }));
    s.points[category] = {
      value: Number(row.cost_per_turn),
      raw: raw(row.cost_per_turn),
      margin: row.cost_per_turn_margin === null ? undefined : Number(row.cost_per_turn_margin),
      rawMargin: raw(row.cost_per_turn_margin),
    };
  }
  const chart =
    rows.length > 0 &&
    barChart(data, {
      title: "Cost per turn per prompt variant, with 95% intervals",
      width: WIDE,
      testid: "chart-variants",
      legend: true,
      yLabel: moneyAxis("Cost per turn", currency),
      format: moneyTick,
      formatValue: (v) => money(v, currency),
    });
  const pm = (value, margin, format) =>
    value === null ? "–" : margin === null ? format(value) : `${format(value)} ± ${format(margin)}`;
  // A rate's Wilson interval is not centred on it: shown as its bounds.
  const within = (value, low, high) =>
    value === null ? "–" : low === null ? percent(value) : `${percent(value)} (${percent(low)}–${percent(high)})`;
  const m = (r) => (v) => money(v, r.currency);
  const detail =
    rows.length > 0 &&
    table(
      [
        { key: "tenant_id", label: "Tenant" },
        { key: "use_case", label: "Use case" },
        { key: "prompt_version", label: "Version" },
        { key: "turns", label: "Turns", numeric: true, format: count },
        { key: "cost_per_turn", label: "Cost per turn", numeric: true,
          format: (v, r) => pm(v, r.cost_per_turn_margin, m(r)) },
        { key: "cost_per_answer", label: "Cost per answer", numeric: true,
          format: (v, r) => pm(v, r.cost_per_answer_margin, m(r)) },
        { key: "cache_hit_rate", label: "Cache hits", numeric: true,
          format: (v, r) => within(v, r.cache_hit_rate_low, r.cache_hit_rate_high) },
        { key: "refusal_rate", label: "Refused", numeric: true,
          format: (v, r) => within(v, r.refusal_rate_low, r.refusal_rate_high) },
        { key: "failure_rate", label: "Failed", numeric: true,
          format: (v, r) => within(v, r.failure_rate_low, r.failure_rate_high) },
        { key: "latency_ms_p50", label: "p50", numeric: true, format: ms },
        { key: "latency_ms_p95", label: "p95", numeric: true, format: ms },
      ],
      rows,
      "table-variants",
      "Prompt variants side by side (costs ± 95% margin; rates with their 95% interval)",
    );
  fill(section, [chart, detail]);
}
