// The course owner's page (staff): module completion as a funnel across students, drop-off per
// module, ratings and open tickets, from GET /api/course/analytics.

import { h, clear } from "../dom.js";
import { request, session } from "../api.js";
import { chartFigure, draw, fmt, csvButton } from "./dashboard_charts.js";

export async function mountCourseOwner(main) {
  const charts = [];
  const data = await request("GET", "/course/analytics");
  const modules = data.modules;
  const name = (m) => `${m.module_number}. ${m.step}`;
  const heading = h("h1", { id: "owner-title", tabindex: "-1" }, "Course analytics");
  const page = h(
    "section",
    { class: "page dashboard owner", "aria-labelledby": "owner-title" },
    heading,
    h("p", {}, `Students: ${fmt(data.students)}`),
  );
  clear(main).append(page);
  if (!modules.length) {
    page.append(h("p", {}, "The course has no modules yet."));
    return () => {};
  }
  const completion = chartFigure({
    title: "Module completion across students",
    columns: [
      ["Module", name],
      ["Started", (m) => fmt(m.started)],
      ["Completed", (m) => fmt(m.completed)],
      ["Completion rate", (m) => fmt(m.completion_rate, "percent")],
      ["Drop-off (started, not completed)", (m) => fmt(m.drop_off, "percent")],
    ],
    rows: modules,
  });
  const ratings = chartFigure({
    title: "Ratings and open tickets per module",
    columns: [
      ["Module", name],
      ["Responses", (m) => fmt(m.responses)],
      ["CSAT (%)", (m) => fmt(m.csat, "score")],
      ["NPS", (m) => fmt(m.nps, "score")],
      ["Open tickets", (m) => fmt(m.open_tickets)],
      ["Assets made", (m) => fmt(m.assets)],
    ],
    rows: modules,
  });
  page.append(
    h(
      "div",
      { class: "dash-grid" },
      h("section", { class: "card wide" }, h("h2", {}, "Completion funnel"), completion.figure),
      h("section", { class: "card wide" }, h("h2", {}, "Ratings and tickets"), ratings.figure),
    ),
    h("div", { class: "actions" }, csvButton("/course/analytics", "course-analytics.csv", session.token)),
  );
  const labels = modules.map(name);
  charts.push(
    await draw(completion.canvas, {
      type: "bar",
      labels,
      datasets: [
        { label: "Started", data: modules.map((m) => m.started) },
        { label: "Completed", data: modules.map((m) => m.completed) },
      ],
    }),
    await draw(ratings.canvas, {
      type: "bar",
      labels,
      datasets: [
        { label: "CSAT (%)", data: modules.map((m) => m.csat) },
        { label: "NPS", data: modules.map((m) => m.nps) },
        { label: "Open tickets", data: modules.map((m) => m.open_tickets) },
      ],
    }),
  );
  document.body.dataset.dashboard = "ready";
  heading.focus();
  return () => charts.forEach((chart) => chart.destroy());
}
