// Hand-drawn SVG charts (no library): a time-series line chart with axes, units, gridlines and a legend;
// scans where the site was down (options.down: times) are red marks, and the lines break there (a gap).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function formatValue(value) {
  return value < 10 ? value.toFixed(1) : String(Math.round(value));
}

// series: [{label, cls, unit, points: [{time: ISO string, value: number}]}]
function lineChart(container, series, options = {}) {
  container.replaceChildren();
  const all = series.flatMap((s) => s.points.map((p) => ({ t: Date.parse(p.time), v: p.value })));
  if (all.length === 0) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = options.empty || "No measurements yet.";
    container.appendChild(empty);
    return;
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = `var(--${s.cls})`;
    item.append(swatch, `${s.label}${s.points.length ? ` — latest ${formatValue(s.points.at(-1).value)} ${s.unit}` : ""}`);
    legend.appendChild(item);
  }
  container.appendChild(legend);

  const width = 720, height = 250, left = 48, right = 12, top = 22, bottom = 28;
  const down = (options.down || []).filter((t) => Number.isFinite(t));
  const times = [...all.map((p) => p.t), ...down];
  const tMin = Math.min(...times), tMax = Math.max(...times);
  const vMax = niceMax(Math.max(...all.map((p) => p.v)));
  const x = (t) => left + (tMax === tMin ? (width - left - right) / 2 : ((t - tMin) / (tMax - tMin)) * (width - left - right));
  const y = (v) => top + (1 - v / vMax) * (height - top - bottom);

  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": options.label || series.map((s) => s.label).join(" and ") + " over time" });
  for (let i = 0; i <= 4; i++) {
    const v = (vMax * i) / 4;
    svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "axis" }, root);
    svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, root).textContent = `${Math.round(v)}`;
  }
  if (options.unit) svg("text", { x: left - 6, y: 11, "text-anchor": "end", class: "unit" }, root).textContent = options.unit;
  for (const t of down) {
    const mark = svg("rect", { x: x(t) - 2, y: top, width: 4, height: height - top - bottom, class: "down-mark" }, root);
    svg("title", {}, mark).textContent = `site down at ${new Date(t).toLocaleString()}`;
  }
  const ticks = tMax === tMin ? [tMin] : [tMin, (tMin + tMax) / 2, tMax];
  const short = tMax - tMin < 3600 * 1000;  // within an hour: seconds tell the points apart
  for (const t of ticks) {
    const label = new Date(t).toLocaleString([], short ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    svg("text", { x: x(t), y: height - 8, "text-anchor": ticks.length === 1 ? "middle" : t === tMin ? "start" : t === tMax ? "end" : "middle" }, root).textContent = label;
  }
  for (const s of series) {
    const points = s.points.map((p) => [x(Date.parse(p.time)), y(p.value)]);
    // One polyline per run of points with no down scan between them: the gap shows the outage.
    const runs = [];
    s.points.forEach((p, i) => {
      const t = Date.parse(p.time);
      const previous = i ? Date.parse(s.points[i - 1].time) : null;
      if (!i || down.some((d) => d > previous && d < t)) runs.push([]);
      runs.at(-1).push(points[i]);
    });
    for (const run of runs.filter((r) => r.length > 1)) {
      svg("polyline", { points: run.map((p) => p.join(",")).join(" "), fill: "none", class: s.cls,
        "stroke-width": 2.5, "stroke-linejoin": "round", "stroke-linecap": "round" }, root);
    }
    s.points.forEach((p, i) => {
      if (points.length <= 60 || i === points.length - 1) {
        const dot = svg("circle", { cx: points[i][0], cy: points[i][1], r: 3.5, class: `dot-${s.cls}` }, root);
        svg("title", {}, dot).textContent = `${s.label}: ${formatValue(p.value)} ${s.unit} at ${new Date(p.time).toLocaleString()}`;
      }
    });
  }
  container.appendChild(root);
}

window.TechCharts = { lineChart, formatValue };
