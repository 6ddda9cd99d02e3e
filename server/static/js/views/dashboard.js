// The student's KPI dashboard: cards with change arrows, the weakest step (linked to its
// module), trends per metric, the journey funnel with drop-off, A/B results, CSAT/NPS per
// module, usage per day, and the data-in forms. Every number comes from /api/kpis.

import { h, clear } from "../dom.js";
import { request, session } from "../api.js";
import { chartFigure, draw, fmt, csvButton } from "./dashboard_charts.js";
import { importForm, snapshotForm } from "./dashboard_import.js";
import { LABELS, RATES, COSTS, PHASE_TITLES } from "./dashboard_metrics.js";

const kindOf = (metric) => (RATES.has(metric) ? "percent" : "number");
const get = (path) => request("GET", path);

export async function mountDashboard(main) {
  const charts = [];
  const page = h("section", { class: "page dashboard", "aria-labelledby": "dash-title" });
  clear(main).append(page);

  async function render() {
    for (const chart of charts.splice(0)) chart.destroy();
    const [summary, snapshots, funnel, tests, feedback, usage, modules] = await Promise.all([
      get("/kpis/summary"),
      get("/kpis/snapshots"),
      get("/kpis/journeys"),
      get("/kpis/ab-tests"),
      get("/kpis/feedback/modules"),
      get("/kpis/usage"),
      get("/course/modules").catch(() => []),
    ]);
    const results = await Promise.all(tests.map((name) => get(`/kpis/ab-tests/${encodeURIComponent(name)}`)));
    const heading = h("h1", { id: "dash-title", tabindex: "-1" }, "Your KPIs");
    page.replaceChildren(
      heading,
      h("p", { class: "hint" }, summary.period?.latest ? `Latest snapshot: ${summary.period.latest.snapshot_date.slice(0, 10)}` : "No snapshots yet: import a CSV or enter one below."),
      weakest(summary.weakest_step),
      cards(summary),
      h("div", { class: "dash-grid" }, await trends(snapshots, charts), await funnelChart(funnel, charts), await abResults(results, charts), await ratings(feedback, modules, charts), await usageChart(usage, charts)),
      importForm({ onImported: render }),
      snapshotForm({ onSaved: render }),
    );
    document.body.dataset.dashboard = "ready";
  }

  await render();
  return () => charts.forEach((chart) => chart.destroy());
}

function weakest(step) {
  if (!step) return h("p", { class: "card weakest ok" }, "Every step metric with a target is on or above it.");
  const label = LABELS[step.metric] || step.metric;
  const kind = kindOf(step.metric);
  return h(
    "aside",
    { class: "card weakest", "aria-label": "Weakest step" },
    h("h2", {}, `Weakest step: ${step.step}`),
    h("p", {}, `${label} is ${fmt(step.value, kind)} against a target of ${fmt(step.target, kind)} (${fmt(step.gap, "percent")} off).`),
    h("a", { href: `#/course/module/${step.module_number}`, class: "button" }, `Open module ${step.module_number}: ${step.step}`),
  );
}

function arrow(metric, change) {
  if (change === null || change === undefined) return h("span", { class: "change none" }, "no previous");
  const up = change > 0;
  const good = change === 0 ? null : COSTS.has(metric) ? !up : up;
  const sign = change === 0 ? "→" : up ? "▲" : "▼";
  const word = change === 0 ? "unchanged" : up ? "up" : "down";
  return h(
    "span",
    { class: `change ${good === null ? "flat" : good ? "good" : "bad"}`, "aria-label": `${word} ${fmt(Math.abs(change), "percent")}` },
    `${sign} ${fmt(Math.abs(change), "percent")}`,
  );
}

function cards(summary) {
  const sections = Object.entries(PHASE_TITLES).map(([phase, title]) => {
    const entries = Object.entries(summary[phase] || {}).filter(([, e]) => e.value !== null || e.previous !== null);
    if (!entries.length) return null;
    return h(
      "section",
      { class: "phase", "aria-label": title },
      h("h2", {}, title),
      h(
        "ul",
        { class: "kpi-cards" },
        entries.map(([metric, e]) =>
          h(
            "li",
            { class: "kpi-card", dataset: { metric } },
            h("span", { class: "kpi-label" }, LABELS[metric] || metric),
            h("strong", { class: "kpi-value" }, fmt(e.value, kindOf(metric))),
            arrow(metric, e.change),
            h("span", { class: "kpi-target" }, e.target === null ? "" : `target ${fmt(e.target, kindOf(metric))}`),
          ),
        ),
      ),
    );
  });
  return h("div", { class: "kpi-phases" }, sections, h("div", { class: "actions" }, csvButton("/kpis/summary", "kpi-summary.csv", session.token)));
}

async function trends(snapshots, charts) {
  const box = h("section", { class: "card wide", "aria-labelledby": "trend-title" }, h("h2", { id: "trend-title" }, "Trends"));
  const metrics = Object.keys(LABELS).filter((m) => snapshots.some((s) => s[m] !== null && s[m] !== undefined));
  if (!metrics.length) {
    box.append(h("p", {}, "No snapshots yet."));
    return box;
  }
  const labels = snapshots.map((s) => s.snapshot_date.slice(0, 10));
  const grid = h("div", { class: "trend-grid" });
  for (const metric of metrics) {
    const { figure, canvas } = chartFigure({
      title: LABELS[metric],
      columns: [["Date", (s) => s.snapshot_date.slice(0, 10)], [LABELS[metric], (s) => fmt(s[metric], kindOf(metric))]],
      rows: snapshots,
      height: 180,
    });
    grid.append(figure);
    charts.push(await draw(canvas, { type: "line", labels, datasets: [{ label: LABELS[metric], data: snapshots.map((s) => s[metric]) }], percent: RATES.has(metric) }));
  }
  box.append(grid, csvButton("/kpis/snapshots", "snapshots.csv", session.token));
  return box;
}

async function funnelChart(funnel, charts) {
  const box = h("section", { class: "card", "aria-labelledby": "funnel-title" }, h("h2", { id: "funnel-title" }, "Customer journey funnel"));
  if (!funnel.some((s) => s.customers)) {
    box.append(h("p", {}, "No journey events yet: import customers and events."));
    return box;
  }
  const { figure, canvas } = chartFigure({
    title: "Customers at each step (closed funnel)",
    columns: [
      ["Step", (s) => s.step],
      ["Customers", (s) => fmt(s.customers)],
      ["Conversion", (s) => fmt(s.conversion, "percent")],
      ["Drop-off", (s) => fmt(s.drop_off, "percent")],
      ["Median time from previous step", (s) => fmt(s.median_seconds_from_previous, "seconds")],
    ],
    rows: funnel,
  });
  box.append(figure, csvButton("/kpis/journeys", "journeys.csv", session.token));
  const lost = funnel.map((s, i) => (i === 0 ? 0 : Math.max(0, funnel[i - 1].customers - s.customers)));
  charts.push(
    await draw(canvas, {
      type: "bar",
      labels: funnel.map((s) => s.step),
      datasets: [
        { label: "Customers", data: funnel.map((s) => s.customers) },
        { label: "Dropped off", data: lost, color: "rgba(214, 79, 122, 0.75)" },
      ],
      stacked: true,
    }),
  );
  return box;
}

async function abResults(results, charts) {
  const box = h("section", { class: "card", "aria-labelledby": "ab-title" }, h("h2", { id: "ab-title" }, "A/B tests"));
  if (!results.length) {
    box.append(h("p", {}, "No A/B results yet."));
    return box;
  }
  for (const test of results) {
    const { figure, canvas } = chartFigure({
      title: `${test.test_name}: conversion rate per variant`,
      columns: [
        ["Variant", (v) => (v.variant === test.control ? `${v.variant} (control)` : v.variant)],
        ["Exposures", (v) => fmt(v.exposures)],
        ["Conversions", (v) => fmt(v.conversions)],
        ["Rate", (v) => fmt(v.rate, "percent")],
        ["Lift", (v) => fmt(v.lift, "percent")],
        ["p-value", (v) => (v.p_value === null ? "n/a" : v.p_value.toPrecision(3))],
        ["95% interval of the difference", (v) => (v.ci_low === null ? "n/a" : `${fmt(v.ci_low, "percent")} to ${fmt(v.ci_high, "percent")}`)],
        ["Chance to beat control", (v) => fmt(v.prob_beat_control, "percent")],
      ],
      rows: test.variants,
      height: 200,
    });
    box.append(h("p", { class: "verdict" }, test.verdict), figure, csvButton(`/kpis/ab-tests/${encodeURIComponent(test.test_name)}`, `ab-${test.test_name}.csv`, session.token));
    charts.push(await draw(canvas, { type: "bar", labels: test.variants.map((v) => v.variant), datasets: [{ label: "Conversion rate", data: test.variants.map((v) => v.rate) }], percent: true }));
  }
  return box;
}

async function ratings(feedback, modules, charts) {
  const box = h("section", { class: "card", "aria-labelledby": "ratings-title" }, h("h2", { id: "ratings-title" }, "Your ratings per module"));
  if (!feedback.length) {
    box.append(h("p", {}, "No feedback given yet."));
    return box;
  }
  const names = Object.fromEntries((Array.isArray(modules) ? modules : []).map((m) => [m.id, `${m.module_number}. ${m.step}`]));
  const label = (f) => (f.module_id ? names[f.module_id] || f.module_id : "General");
  const { figure, canvas } = chartFigure({
    title: "CSAT and NPS per module",
    columns: [["Module", label], ["Responses", (f) => fmt(f.responses)], ["CSAT (%)", (f) => fmt(f.csat, "score")], ["NPS", (f) => fmt(f.nps, "score")], ["Promoters / passives / detractors", (f) => `${f.promoters} / ${f.passives} / ${f.detractors}`]],
    rows: feedback,
  });
  box.append(figure, csvButton("/kpis/feedback/modules", "feedback-by-module.csv", session.token));
  charts.push(await draw(canvas, { type: "bar", labels: feedback.map(label), datasets: [{ label: "CSAT (%)", data: feedback.map((f) => f.csat) }, { label: "NPS", data: feedback.map((f) => f.nps) }] }));
  return box;
}

async function usageChart(usage, charts) {
  const box = h("section", { class: "card", "aria-labelledby": "usage-title" }, h("h2", { id: "usage-title" }, "Usage per day"));
  if (!usage.days.length) {
    box.append(h("p", {}, "No conversations yet."));
    return box;
  }
  const { figure, canvas } = chartFigure({
    title: "Messages and agent turns per day",
    columns: [["Day", (d) => d.day], ["Messages", (d) => fmt(d.messages)], ["Agent turns", (d) => fmt(d.turns)], ["Input tokens", (d) => fmt(d.input_tokens)], ["Output tokens", (d) => fmt(d.output_tokens)]],
    rows: usage.days,
  });
  const agents = h("ul", { class: "agent-usage" }, usage.agents.map((a) => h("li", {}, `${a.name || a.agent_id}: ${fmt(a.turns)} turns, ${fmt(a.input_tokens)} in / ${fmt(a.output_tokens)} out tokens`)));
  box.append(figure, agents, csvButton("/kpis/usage", "usage.csv", session.token));
  charts.push(await draw(canvas, { type: "bar", labels: usage.days.map((d) => d.day), datasets: [{ label: "Messages", data: usage.days.map((d) => d.messages) }, { label: "Agent turns", data: usage.days.map((d) => d.turns) }] }));
  return box;
}
