// The dashboard page: reads the filters, asks the sink's API (same origin
// only), renders the panels. The filters live in the page's query string, so a
// filtered view can be bookmarked or shared.
//
// For tests and scripts, <body> says where it is: data-state is "loading",
// "ready" or "error", and data-filters the query string the shown figures
// were read with.

import { PALETTE } from "./charts.js";
import * as panels from "./panels.js";

const FILTERS = ["tenant", "from", "to", "model", "gateway"];
const VIEWS = ["spend_daily", "spend_by_model", "cache", "limits", "budgets", "outcomes", "variants"];

const form = document.getElementById("filters");
const status = document.getElementById("status");
const section = (name) => document.querySelector(`[data-panel="${name}"]`);

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error ?? `${url} answered HTTP ${response.status}`);
  return body;
}

function currentFilters() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function setOptions(select, values, allLabel) {
  const keep = select.value;
  const options = [new Option(allLabel, "")];
  for (const v of values) options.push(new Option(v, v));
  if (keep && !values.includes(keep)) options.push(new Option(keep, keep));
  select.replaceChildren(...options);
  select.value = keep;
}

/** Tenants, models and gateways that have data, for the filter menus. */
async function loadChoices() {
  const [models, outcomes] = await Promise.all([
    getJSON("/api/views/spend_by_model"),
    getJSON("/api/views/outcomes"),
  ]);
  const unique = (values) => [...new Set(values.filter((v) => v !== null && v !== ""))].sort();
  const tenants = unique(models.rows.map((r) => r.tenant_id));
  setOptions(form.elements.tenant, tenants, "All tenants");
  setOptions(form.elements.model, unique(models.rows.map((r) => r.request_model)), "All models");
  setOptions(
    form.elements.gateway,
    unique([...models.rows, ...outcomes.rows].map((r) => r.gateway)),
    "All gateways",
  );
  return tenants;
}

let colours = new Map();

/** A tenant keeps its colour whatever the filters. */
function colour(name) {
  if (!colours.has(name)) colours.set(name, PALETTE[colours.size % PALETTE.length]);
  return colours.get(name);
}

let generation = 0;

async function refresh() {
  const mine = ++generation;
  const params = currentFilters();
  const query = params.toString();
  document.body.dataset.state = "loading";
  status.textContent = "Loading…";
  try {
    const budgetQuery = params.has("tenant")
      ? `?${new URLSearchParams({ tenant: params.get("tenant") })}`
      : "";
    const [spendDaily, spendByModel, cache, limits, budgets, outcomes, variants, budgetStatus] =
      await Promise.all([
        ...VIEWS.map((v) => getJSON(`/api/views/${v}${query ? `?${query}` : ""}`)),
        getJSON(`/budget/status${budgetQuery}`),
      ]);
    if (mine !== generation) return;
    const ctx = { colour };
    panels.spendDaily(section("spend-daily"), spendDaily, ctx);
    panels.spendByModel(section("spend-model"), spendByModel, ctx);
    panels.cacheSavings(section("cache"), cache, ctx);
    panels.budgetStatus(section("budget"), budgetStatus, limits, budgets, ctx);
    panels.outcomes(section("outcomes"), outcomes, ctx);
    panels.variants(section("variants"), variants, ctx);
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.filters = query;
    document.body.dataset.state = "ready";
  } catch (error) {
    if (mine !== generation) return;
    status.textContent = `Could not load: ${error.message}`;
    document.body.dataset.filters = query;
    document.body.dataset.state = "error";
  }
}

async function start() {
  const initial = new URLSearchParams(location.search);
  const refused = [];
  for (const name of FILTERS) {
    const value = initial.get(name);
    if (value) {
      const field = form.elements[name];
      if (field instanceof HTMLSelectElement) field.add(new Option(value, value));
      field.value = value;
      // A date field takes only a real date: "2026-13-01" leaves it empty, which would
      // show every day's figures as if no filter had been asked for.
      if (field.value !== value) refused.push(`${name}=${value}`);
    }
  }
  try {
    const tenants = await loadChoices();
    colours = new Map(tenants.map((t, i) => [t, PALETTE[i % PALETTE.length]]));
  } catch (error) {
    status.textContent = `Could not load the filter choices: ${error.message}`;
  }
  form.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  document.getElementById("clear").addEventListener("click", () => {
    for (const name of FILTERS) form.elements[name].value = "";
    refresh();
  });
  document.getElementById("reload").addEventListener("click", async () => {
    await loadChoices().catch(() => undefined);
    refresh();
  });
  if (refused.length) {
    status.textContent =
      `Could not load: the address asks for ${refused.join(", ")}, which is no date ` +
      "(YYYY-MM-DD); correct or clear the filter";
    document.body.dataset.state = "error";
    return;
  }
  await refresh();
}

start();
