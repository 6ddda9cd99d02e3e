// Data in for the KPI dashboard: a snapshot form, and CSV import with a column-mapping step.
// The header row is read in the browser; each column gets a field (pre-filled from the mapping
// the student confirmed last time, or from a column named like the field), then the file and
// the confirmed mapping go to the server, which checks every row and stores all or nothing.

import { h, field, announce } from "../dom.js";
import { request, session } from "../api.js";
import { LABELS, RATES } from "./dashboard_metrics.js";

const KINDS = { snapshots: "Funnel snapshots", customers: "Customers", events: "Journey events" };
const IMPORT_PATHS = { snapshots: "/kpis/snapshots/import", customers: "/kpis/customers/import", events: "/kpis/events/import" };

// The first CSV record's cells (quotes and doubled quotes handled).
export function headerOf(text) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      cells.push(cell.trim());
      cell = "";
    } else if (c === "\n" || c === "\r") break;
    else cell += c;
  }
  cells.push(cell.trim());
  return cells.map((c) => c.replace(/^\uFEFF/, ""));
}

async function upload(kind, file, mapping) {
  const form = new FormData();
  form.append("file", file);
  form.append("mapping", JSON.stringify(mapping));
  const response = await fetch(`/api${IMPORT_PATHS[kind]}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}` },
    body: form,
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

export function importForm({ onImported }) {
  const kind = h("select", { name: "kind" }, Object.entries(KINDS).map(([k, label]) => h("option", { value: k }, label)));
  const file = h("input", { type: "file", name: "file", accept: ".csv,text/csv" });
  const mappingBox = h("div", { class: "mapping", hidden: true });
  const result = h("div", { class: "import-result", role: "status" });
  const submit = h("button", { type: "submit", disabled: true }, "Import");
  let selects = [];

  async function prepare() {
    result.textContent = "";
    mappingBox.replaceChildren();
    selects = [];
    submit.disabled = true;
    const chosen = file.files[0];
    if (!chosen) return;
    const header = headerOf(await chosen.slice(0, 65536).text());
    const { fields, mapping } = await request("GET", `/kpis/imports/${kind.value}/mapping`);
    const rows = header.map((column) => {
      const guess = column in mapping ? mapping[column] || "" : fields.includes(column) ? column : "";
      const select = h(
        "select",
        { "aria-label": `Field for column ${column}`, dataset: { column } },
        h("option", { value: "" }, "(skip this column)"),
        fields.map((f) => h("option", { value: f, selected: f === guess }, LABELS[f] ? `${LABELS[f]} (${f})` : f)),
      );
      selects.push(select);
      return h("tr", {}, h("th", { scope: "row" }, column), h("td", {}, select));
    });
    mappingBox.append(
      h("p", {}, "Match each column of your file to a field. Your choice is remembered for the next import."),
      h("table", { class: "mapping-table" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Column in your file"), h("th", { scope: "col" }, "Field"))), h("tbody", {}, rows)),
    );
    mappingBox.hidden = false;
    submit.disabled = false;
  }

  async function send(event) {
    event.preventDefault();
    const mapping = Object.fromEntries(selects.map((s) => [s.dataset.column, s.value || null]));
    submit.disabled = true;
    const { ok, body } = await upload(kind.value, file.files[0], mapping);
    submit.disabled = false;
    result.replaceChildren();
    if (ok) {
      result.append(h("p", { class: "ok" }, `Imported ${body.imported} row(s).`));
      announce(`Imported ${body.imported} rows`);
      onImported?.();
      return;
    }
    const problems = Array.isArray(body.details) ? body.details : [];
    result.append(
      h("p", { role: "alert", class: "error" }, `Nothing was imported: ${body.message || "the file was refused"}`),
      problems.length && problems[0].row !== undefined
        ? h("ul", { class: "problems" }, problems.map((p) => h("li", {}, `Row ${p.row}${p.row === 0 ? " (header)" : ""}, ${p.column}: ${p.reason}`)))
        : null,
    );
  }

  kind.addEventListener("change", prepare);
  file.addEventListener("change", prepare);
  return h(
    "form",
    { class: "card import-form", onsubmit: send, "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import a CSV"),
    h("p", { class: "hint" }, "A GA4 or Shopify export works: pick the file, then match its columns. Rates may be fractions (0.021) or percentages (2.1%)."),
    field("What the file holds", kind),
    field("CSV file", file),
    mappingBox,
    h("div", { class: "actions" }, submit),
    result,
  );
}

export function snapshotForm({ onSaved }) {
  const today = new Date().toISOString().slice(0, 10);
  const date = h("input", { type: "date", name: "snapshot_date", required: true, value: today });
  const period = h("input", { type: "text", name: "time_period", value: "month", maxlength: "64" });
  const channel = h("input", { type: "text", name: "channel", maxlength: "128" });
  const inputs = Object.keys(LABELS).map((metric) => {
    const input = h("input", { type: "number", step: "any", name: metric, inputmode: "decimal" });
    return [metric, input, field(LABELS[metric], input, RATES.has(metric) ? "a fraction: 0.021 is 2.1%" : null)];
  });
  const result = h("p", { role: "status" });
  async function save(event) {
    event.preventDefault();
    const body = { snapshot_date: date.value, time_period: period.value || "custom" };
    if (channel.value) body.channel = channel.value;
    for (const [metric, input] of inputs) if (input.value !== "") body[metric] = Number(input.value);
    try {
      await request("POST", "/kpis/snapshots", body);
      result.textContent = "Snapshot saved.";
      onSaved?.();
    } catch (err) {
      result.textContent = `Not saved: ${err.message}`;
    }
  }
  return h(
    "details",
    { class: "card snapshot-form" },
    h("summary", {}, "Enter a snapshot by hand"),
    h(
      "form",
      { onsubmit: save },
      h("div", { class: "form-grid" }, field("Date", date), field("Period", period), field("Channel", channel), inputs.map(([, , f]) => f)),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Save snapshot")),
      result,
    ),
  );
}
