// Small SVG charts for the sink's dashboard: bars (grouped or stacked, with
// optional error bars) and lines. No dependencies, nothing fetched.
//
// Data, for every chart:
//   categories: the x values, in order (strings);
//   series: [{ name, color?, dashed?, points }], where points maps a category
//     to { value: number, raw: string, margin?: number, rawMargin?: string }.
// `raw` is the exact figure (a decimal string for money) and lands in the
// mark's data-value attribute, so a test can compare marks with the API's
// JSON; `value` is what is plotted. Every mark has a <title> tooltip.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640; // the viewBox's; options.width widens it for full-width panels
const MARGIN = { top: 18, right: 12, bottom: 44, left: 68 };

// Okabe-Ito: tells colours apart for the common kinds of colour blindness.
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#8C6D1F",
  "#000000",
];

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function tooltip(node, text) {
  node.appendChild(el("title", {}, text));
  return node;
}

/** Ticks at 1, 2 or 5 times a power of ten covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const rough = (hi - lo) / count;
  let step = 10 ** Math.floor(Math.log10(rough));
  const ratio = rough / step;
  if (ratio >= 7.5) step *= 10;
  else if (ratio >= 3.5) step *= 5;
  else if (ratio >= 1.5) step *= 2;
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const ticks = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

function frame(options) {
  const height = options.height ?? 240;
  const width = options.width ?? WIDTH;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    preserveAspectRatio: "xMidYMid meet",
  });
  if (options.title) {
    svg.setAttribute("aria-label", options.title);
    svg.appendChild(el("title", {}, options.title));
  }
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  return { svg, plot, height };
}

function yAxis(svg, plot, lo, hi, options) {
  const ticks = niceTicks(lo, hi);
  const min = ticks[0];
  const max = ticks[ticks.length - 1];
  const scale = (v) => plot.y + plot.height - ((v - min) / (max - min)) * plot.height;
  const format = options.format ?? String;
  const axis = el("g", { class: "axis y" });
  for (const tick of ticks) {
    const y = scale(tick);
    axis.appendChild(
      el("line", { x1: plot.x, x2: plot.x + plot.width, y1: y, y2: y, class: "grid" }),
    );
    axis.appendChild(
      el("text", { x: plot.x - 6, y: y + 4, "text-anchor": "end" }, format(tick)),
    );
  }
  if (options.yLabel) {
    const cy = plot.y + plot.height / 2;
    axis.appendChild(
      el(
        "text",
        { class: "axis-label", transform: `translate(14 ${cy}) rotate(-90)`, "text-anchor": "middle" },
        options.yLabel,
      ),
    );
  }
  svg.appendChild(axis);
  return scale;
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function xAxis(svg, plot, categories, centre, options) {
  const axis = el("g", { class: "axis x" });
  const base = plot.y + plot.height;
  axis.appendChild(el("line", { x1: plot.x, x2: plot.x + plot.width, y1: base, y2: base }));
  const room = plot.width / categories.length;
  const every = Math.max(1, Math.ceil(60 / room));
  const chars = Math.max(6, Math.floor((room * every) / 6.5));
  categories.forEach((category, i) => {
    if (i % every !== 0) return;
    const text = el("text", { x: centre(i), y: base + 16, "text-anchor": "middle" });
    String(category)
      .split(" · ")
      .slice(0, 2)
      .forEach((line, n) => {
        text.appendChild(el("tspan", { x: centre(i), dy: n === 0 ? 0 : 13 }, shorten(line, chars)));
      });
    tooltip(text, String(category));
    axis.appendChild(text);
  });
  if (options.xLabel) {
    axis.appendChild(
      el(
        "text",
        { class: "axis-label", x: plot.x + plot.width / 2, y: base + 40, "text-anchor": "middle" },
        options.xLabel,
      ),
    );
  }
  svg.appendChild(axis);
}

function colours(series) {
  return series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
}

function describe(series, category, point, options) {
  const format = options.formatValue ?? options.format ?? String;
  const margin = point.margin != null ? ` ± ${format(point.margin)}` : "";
  return `${series.name} · ${category}: ${format(point.value)}${margin}`;
}

/**
 * Bars, one group per category: side by side (grouped) or, with
 * `options.stacked`, on top of each other, with `options.totals`
 * (category -> { value, raw }) printed above each stack.
 */
export function barChart(data, options = {}) {
  const { categories, series } = data;
  const { svg, plot } = frame(options);
  const colour = colours(series);
  let lo = 0;
  let hi = 0;
  categories.forEach((category) => {
    let up = 0;
    let down = 0;
    for (const s of series) {
      const p = s.points[category];
      if (!p) continue;
      if (options.stacked) {
        if (p.value >= 0) up += p.value;
        else down += p.value;
      } else {
        up = Math.max(up, p.value + (p.margin ?? 0));
        down = Math.min(down, p.value - (p.margin ?? 0));
      }
    }
    hi = Math.max(hi, up);
    lo = Math.min(lo, down);
  });
  const y = yAxis(svg, plot, lo, hi, options);
  const band = plot.width / categories.length;
  // Bars no wider than a bar needs, however few the categories.
  const inner = Math.min(band * 0.72, options.stacked ? 96 : 48 * series.length);
  const centre = (i) => plot.x + band * i + band / 2;
  const marks = el("g", { class: "marks" });
  categories.forEach((category, i) => {
    const left = centre(i) - inner / 2;
    let up = 0;
    let down = 0;
    series.forEach((s, n) => {
      const p = s.points[category];
      if (!p) return;
      let x;
      let width;
      let from;
      let to;
      if (options.stacked) {
        x = left;
        width = inner;
        from = p.value >= 0 ? up : down;
        to = from + p.value;
        if (p.value >= 0) up = to;
        else down = to;
      } else {
        width = inner / series.length;
        x = left + width * n;
        from = 0;
        to = p.value;
      }
      const rect = el("rect", {
        x: x + 0.5,
        y: Math.min(y(from), y(to)),
        width: Math.max(width - 1, 1),
        height: Math.abs(y(from) - y(to)),
        fill: colour[n],
        "data-series": s.name,
        "data-x": category,
        "data-value": p.raw,
        "data-margin": p.rawMargin,
      });
      marks.appendChild(tooltip(rect, describe(s, category, p, options)));
      if (!options.stacked && p.margin != null && p.margin > 0) {
        const cx = x + width / 2;
        const cap = Math.min(width / 4, 6);
        const top = y(p.value + p.margin);
        const bottom = y(p.value - p.margin);
        const bar = el("g", { class: "error-bar", "aria-hidden": "true" });
        bar.appendChild(el("line", { x1: cx, x2: cx, y1: top, y2: bottom }));
        bar.appendChild(el("line", { x1: cx - cap, x2: cx + cap, y1: top, y2: top }));
        bar.appendChild(el("line", { x1: cx - cap, x2: cx + cap, y1: bottom, y2: bottom }));
        marks.appendChild(bar);
      }
    });
    const total = options.stacked && options.totals ? options.totals[category] : undefined;
    if (total) {
      const format = options.formatValue ?? options.format ?? String;
      marks.appendChild(
        el(
          "text",
          {
            class: "total",
            x: centre(i),
            y: y(up) - 4,
            "text-anchor": "middle",
            "data-x": category,
            "data-total": total.raw,
          },
          format(total.value),
        ),
      );
    }
  });
  svg.appendChild(marks);
  xAxis(svg, plot, categories, centre, options);
  return figure(svg, series, colour, options);
}

/** One line per series across the categories; a missing point breaks the line. */
export function lineChart(data, options = {}) {
  const { categories, series } = data;
  const { svg, plot } = frame(options);
  const colour = colours(series);
  let lo = 0;
  let hi = 0;
  for (const s of series) {
    for (const p of Object.values(s.points)) {
      hi = Math.max(hi, p.value);
      lo = Math.min(lo, p.value);
    }
  }
  const y = yAxis(svg, plot, lo, hi, options);
  const step = categories.length > 1 ? plot.width / (categories.length - 1) : 0;
  const centre = (i) => (categories.length > 1 ? plot.x + step * i : plot.x + plot.width / 2);
  const marks = el("g", { class: "marks" });
  series.forEach((s, n) => {
    let d = "";
    let pen = "M";
    categories.forEach((category, i) => {
      const p = s.points[category];
      if (!p) {
        pen = "M";
        return;
      }
      d += `${pen}${centre(i).toFixed(1)},${y(p.value).toFixed(1)} `;
      pen = "L";
    });
    marks.appendChild(
      el("path", {
        d: d.trim(),
        fill: "none",
        stroke: colour[n],
        "stroke-width": 2,
        "stroke-dasharray": s.dashed ? "6 4" : undefined,
        class: "line",
      }),
    );
    categories.forEach((category, i) => {
      const p = s.points[category];
      if (!p) return;
      const dot = el("circle", {
        cx: centre(i),
        cy: y(p.value),
        r: 3.5,
        fill: s.dashed ? "#fff" : colour[n],
        stroke: colour[n],
        "data-series": s.name,
        "data-x": category,
        "data-value": p.raw,
      });
      marks.appendChild(tooltip(dot, describe(s, category, p, options)));
    });
  });
  svg.appendChild(marks);
  xAxis(svg, plot, categories, centre, options);
  return figure(svg, series, colour, options);
}

function figure(svg, series, colour, options) {
  const fig = document.createElement("figure");
  fig.className = "chart-figure";
  if (options.testid) fig.dataset.testid = options.testid;
  fig.appendChild(svg);
  if (series.length > 1 || options.legend) {
    const list = document.createElement("ul");
    list.className = "legend";
    series.forEach((s, n) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = s.dashed ? "swatch dashed" : "swatch";
      swatch.style.setProperty("--colour", colour[n]);
      item.append(swatch, s.name);
      list.appendChild(item);
    });
    fig.appendChild(list);
  }
  return fig;
}
