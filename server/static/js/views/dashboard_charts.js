// Charts for the KPI pages: Chart.js (vendored under /static/vendor/chartjs, loaded on first use),
// themed from the page's CSS variables so they read in dark mode, and each drawn inside a
// <figure> whose table lists every value: the chart's text alternative.

import { h } from "../dom.js";

const CHART_JS = "/static/vendor/chartjs/chart.umd.min.js";
let loading = null;

// Chart.js as a classic script from our own server (no CDN, no inline script).
export function loadCharts() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = CHART_JS;
      script.onload = () => resolve(window.Chart);
      script.onerror = () => reject(new Error("the chart library did not load"));
      document.head.append(script);
    });
  }
  return loading;
}

function theme() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--text", "#1b1f24"),
    muted: v("--muted", "#5b6573"),
    grid: v("--border", "#d7dce3"),
    accent: v("--accent", "#2856c7"),
    danger: v("--danger", "#b42318"),
    palette: [v("--accent", "#2856c7"), "#e0803a", "#2f9e72", "#a05ad6", "#d64f7a", "#6b8e23"],
  };
}

// Formats: rates as percentages, money and counts with separators.
export function fmt(value, kind = "number") {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  if (kind === "percent") return `${(value * 100).toFixed(1)}%`;
  if (kind === "score") return value.toFixed(1);
  if (kind === "seconds") return duration(value);
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
}

function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

// A figure with a canvas and, as its text alternative, a table of the values drawn.
// `columns` are [header, (row) => text]; `rows` the data.
export function chartFigure({ title, columns, rows, height = 260 }) {
  const canvas = h("canvas", { role: "img", "aria-label": `${title}: chart; the values are in the table below it` });
  const table = h(
    "table",
    { class: "chart-values" },
    h("caption", {}, `${title}: values`),
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, get]) => h("td", {}, get(row)))))),
  );
  const figure = h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title),
    h("div", { class: `chart-box${height > 300 ? " tall" : ""}` }, canvas),
    h("details", { class: "chart-alt" }, h("summary", {}, "Values as a table"), table),
  );
  return { figure, canvas };
}

// Draw a chart; `datasets` are [{label, data, kind?}] against `labels`.
export async function draw(canvas, { type, labels, datasets, percent = false, horizontal = false, stacked = false }) {
  const Chart = await loadCharts();
  const t = theme();
  const tick = (value) => (percent ? `${Number((value * 100).toFixed(1))}%` : value);
  const valueAxis = { ticks: { color: t.muted, callback: tick }, grid: { color: t.grid }, beginAtZero: true, stacked };
  const labelAxis = { ticks: { color: t.muted, autoSkip: true, maxRotation: 0 }, grid: { color: t.grid }, stacked };
  return new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map((d, i) => ({
        borderColor: d.color || t.palette[i % t.palette.length],
        backgroundColor: d.color || t.palette[i % t.palette.length],
        pointRadius: labels.length > 60 ? 0 : 3,
        tension: 0.2,
        spanGaps: true,
        ...d,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      plugins: {
        legend: { display: datasets.length > 1, labels: { color: t.text } },
        tooltip: {
          callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${percent ? fmt(ctx.raw, "percent") : fmt(ctx.raw)}`,
          },
        },
      },
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
    },
  });
}

// Download a KPI table as CSV: the export needs the bearer token, so fetch and save a blob.
export function csvButton(path, filename, token) {
  return h(
    "button",
    {
      type: "button",
      class: "secondary small",
      onclick: async () => {
        const sep = path.includes("?") ? "&" : "?";
        const response = await fetch(`/api${path}${sep}format=csv`, { headers: { Authorization: `Bearer ${token}` } });
        const url = URL.createObjectURL(await response.blob());
        const link = h("a", { href: url, download: filename });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      },
    },
    "Download CSV",
  );
}
