// Numbers for the dashboard: exact sums of the API's decimal strings, and
// rounded display. Money is summed exactly (BigInt) and rounded only when shown.

function parse(raw) {
  const text = String(raw).trim();
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  return { negative, digits: `${whole || "0"}${fraction}`, scale: fraction.length };
}

/** The exact sum of decimal strings, at the largest scale among them. */
export function addDecimals(raws) {
  const parts = raws.filter((r) => r !== null && r !== undefined && r !== "").map(parse);
  const scale = Math.max(0, ...parts.map((p) => p.scale));
  let sum = 0n;
  for (const p of parts) {
    const n = BigInt(p.digits + "0".repeat(scale - p.scale));
    sum += p.negative ? -n : n;
  }
  const negative = sum < 0n;
  let digits = (negative ? -sum : sum).toString().padStart(scale + 1, "0");
  if (scale > 0) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${digits}` : digits;
}

/** Money for people: cents from 1 up, three significant digits below, in its currency. */
export function money(raw, currency) {
  if (raw === null || raw === undefined || raw === "") return "–";
  const value = Number(raw);
  const small = value !== 0 && Math.abs(value) < 1;
  const digits = small
    ? { maximumSignificantDigits: 3 }
    : { minimumFractionDigits: 2, maximumFractionDigits: 2 };
  try {
    return new Intl.NumberFormat("en-US", {
      style: currency ? "currency" : "decimal",
      currency: currency || undefined,
      ...digits,
    }).format(value);
  } catch {
    const text = small ? value.toPrecision(3) : value.toFixed(2);
    return `${text}${currency ? ` ${currency}` : ""}`;
  }
}

/** A compact money axis label (no currency sign: the axis title says it). */
export function moneyTick(value) {
  if (value === 0) return "0";
  return value.toLocaleString("en-US", { maximumSignificantDigits: 3 });
}

export function count(value) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US");
}

export function percent(rate, digits = 1) {
  if (rate === null || rate === undefined) return "–";
  return `${(Number(rate) * 100).toFixed(digits)}%`;
}

export function ms(value) {
  if (value === null || value === undefined) return "–";
  return `${Number(value).toLocaleString("en-US", { maximumFractionDigits: 1 })} ms`;
}

export function plain(value) {
  if (value === null || value === undefined || value === "") return "–";
  return String(value);
}

/** What a test compares with the API: the exact string, or "" for null. */
export function raw(value) {
  return value === null || value === undefined ? "" : String(value);
}
