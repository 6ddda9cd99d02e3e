// Usage and cost: tokens and cost per day and per agent, and today's budget. Every figure,
// cost included, is computed by the server (/api/usage); the page only lays it out.

import { h, clear } from "../dom.js";
import { request } from "../api.js";
import { chartFigure, draw, fmt } from "./dashboard_charts.js";

const PERIODS = [7, 30, 90];

// Costs of single turns are fractions of a cent: show enough digits to tell them apart.
export function money(value) {
  const n = Number(value || 0);
  if (n === 0) return "$0.00";
  if (n < 0.01) return `$${n.toPrecision(2)}`;
  return `$${n.toFixed(2)}`;
}

function since(days) {
  const start = new Date(Date.now() - (days - 1) * 86400000);
  return start.toISOString().slice(0, 10);
}

export async function mountUsage(main, { me }) {
  const charts = [];
  const state = { scope: "me", days: 30 };
  const page = h("section", { class: "page usage", "aria-labelledby": "usage-title" });
  clear(main).append(page);

  const scopes = [["me", "My usage"], ["agents", "My agents"], ...(me?.is_staff ? [["all", "Everyone"]] : [])];
  const rerender = () => render().catch((err) => body.replaceChildren(h("p", { role: "alert" }, err.message)));
  const scopeSelect = h("select", { id: "usage-scope", onchange: (e) => ((state.scope = e.target.value), rerender()) },
    scopes.map(([value, label]) => h("option", { value, selected: value === state.scope }, label)));
  const periodSelect = h("select", { id: "usage-period", onchange: (e) => ((state.days = Number(e.target.value)), rerender()) },
    PERIODS.map((d) => h("option", { value: d, selected: d === state.days }, `Last ${d} days`)));
  const controls = h("div", { class: "usage-controls" },
    h("label", { for: "usage-scope" }, "Show"), scopeSelect,
    h("label", { for: "usage-period" }, "Period"), periodSelect);
  const body = h("div", { class: "usage-body" });
  const heading = h("h1", { id: "usage-title", tabindex: "-1" }, "Usage and cost");
  page.append(heading, controls, body);

  async function render() {
    document.body.dataset.usage = "loading";
    for (const chart of charts.splice(0)) chart.destroy();
    const query = `?scope=${state.scope}&from=${since(state.days)}`;
    const [usage, budget] = await Promise.all([request("GET", `/usage${query}`), request("GET", "/usage/budget")]);
    body.replaceChildren(
      budgetCard(budget),
      totalsCard(usage.totals),
      await perDay(usage, charts),
      perAgent(usage.agents),
    );
    document.body.dataset.usage = "ready";
  }

  await render();
  heading.focus();
  return () => charts.forEach((chart) => chart.destroy());
}

function budgetCard(budget) {
  const mine = budget.user;
  const resets = new Date(budget.resets_at).toUTCString().replace(" GMT", " UTC");
  if (!mine || mine.limit === null) {
    return h("p", { class: "card usage-budget" }, `Today (${budget.day}, UTC): ${fmt(mine ? mine.used : 0)} tokens used; no daily limit.`);
  }
  const share = Math.min(mine.used / mine.limit, 1);
  return h(
    "section",
    { class: `card usage-budget${mine.exceeded ? " exceeded" : ""}`, "aria-label": "Today's budget" },
    h("h2", {}, "Today's budget"),
    h("progress", { max: 1, value: share, "aria-label": "Share of today's budget used" }),
    h("p", {}, `${fmt(mine.used)} of ${fmt(mine.limit)} tokens used on ${budget.day} (UTC).`),
    mine.exceeded ? h("p", { role: "status" }, `The budget is used up: agents answer again after ${resets}.`) : null,
  );
}

function totalsCard(totals) {
  const item = (label, value) => h("div", { class: "usage-total" }, h("dt", {}, label), h("dd", {}, value));
  return h(
    "section",
    { class: "card usage-totals", "aria-label": "Totals" },
    h("dl", {},
      item("Cost", money(totals.cost)),
      item("Input tokens", fmt(totals.input_tokens)),
      item("Cached input", fmt(totals.cached_tokens)),
      item("Output tokens", fmt(totals.output_tokens)),
      item("Agent turns", fmt(totals.turns)),
      item("Playbook runs", fmt(totals.runs - totals.turns))),
    totals.unpriced_models.length
      ? h("p", { class: "hint unpriced" }, `No price is set for ${totals.unpriced_models.join(", ")}: counted at $0. Add them to ELEVATE_MODEL_PRICES.`)
      : null,
  );
}

async function perDay(usage, charts) {
  const box = h("section", { class: "card", "aria-labelledby": "usage-days-title" }, h("h2", { id: "usage-days-title" }, "Tokens and cost per day"));
  if (!usage.days.length) {
    box.append(h("p", {}, "No model usage in this period."));
    return box;
  }
  const names = new Map(usage.agents.map((a) => [a.agent_id, a.name || a.handle || "deleted agent"]));
  const days = usage.days.map((d) => d.day);
  const { figure, canvas } = chartFigure({
    title: "Tokens per day, by agent",
    columns: [["Day", (d) => d.day], ["Input tokens", (d) => fmt(d.input_tokens)], ["Output tokens", (d) => fmt(d.output_tokens)], ["Cost", (d) => money(d.cost)]],
    rows: usage.days,
  });
  box.append(figure);
  const datasets = [...names].map(([id, name]) => ({
    label: name,
    data: days.map((day) => {
      const row = usage.agent_days.find((r) => r.day === day && r.agent_id === id);
      return row ? row.input_tokens + row.output_tokens : 0;
    }),
  }));
  charts.push(await draw(canvas, { type: "bar", labels: days, datasets, stacked: true }));
  return box;
}

function perAgent(agents) {
  const box = h("section", { class: "card", "aria-labelledby": "usage-agents-title" }, h("h2", { id: "usage-agents-title" }, "Per agent"));
  if (!agents.length) {
    box.append(h("p", {}, "No agent has run in this period."));
    return box;
  }
  const head = ["Agent", "Turns", "Input", "Cached", "Output", "Cost"];
  box.append(
    h("table", { class: "usage-agents" },
      h("thead", {}, h("tr", {}, head.map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, agents.map((a) => h("tr", {},
        h("th", { scope: "row" }, a.name || a.handle || "deleted agent"),
        h("td", {}, fmt(a.turns)),
        h("td", {}, fmt(a.input_tokens)),
        h("td", {}, fmt(a.cached_tokens)),
        h("td", {}, fmt(a.output_tokens)),
        h("td", {}, money(a.cost)))))),
  );
  return box;
}
