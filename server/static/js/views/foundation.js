// The Foundation editor (#/foundation, or #/foundation/<field path> to jump to one field) and
// its history: every version, who made it (you or a step agent) and what changed.

import { h, clear, field, errorBox, showError, announce, formatTime } from "../dom.js";
import { course } from "../course/api.js";

// Form order and kinds; labels match the server's (store/foundation.py).
const SECTIONS = [
  ["company_context", "Company context", [
    ["business_name", "Business name", "text"], ["core_offers", "Core offers", "area"],
    ["unique_mechanism", "Unique mechanism", "area"], ["value_proposition", "Value proposition", "area"],
    ["brand_pillars", "Brand pillars", "area"], ["brand_voice_adjectives", "Brand voice", "list"],
    ["positioning_price", "Price positioning", "text"], ["mission_vision", "Mission and vision", "area"],
    ["brand_story_personality", "Brand story and personality", "area"],
  ]],
  ["market_awareness", "Market awareness", [
    ["competitors", "Competitors", "competitors"], ["differentiation", "Differentiation", "area"],
    ["market_trends", "Market trends", "area"], ["channel_analysis", "Channel analysis", "area"],
  ]],
  ["customer_avatar", "Customer avatar", [
    ["profile_summary", "Customer profile", "area"], ["pains", "Customer pains", "list"],
    ["fears", "Customer fears", "list"], ["goals", "Customer goals", "list"],
    ["dreams", "Customer dreams", "list"], ["needs", "Customer needs", "list"],
    ["watering_holes", "Watering holes", "area"],
  ]],
];
// "Customer pains" for "customer_avatar.pains" (the path itself when unknown).
export function labelOf(path) {
  if (path === "strategic_blueprint_summary") return "Strategic blueprint summary";
  const [section, name] = path.split(".");
  const fields = SECTIONS.find(([s]) => s === section)?.[2] || [];
  return fields.find(([n]) => n === name)?.[1] || path;
}

const HINTS = {
  list: "One per line, in your customer's words.",
  competitors: "One per line: name: the weakness buyers complain about.",
};

function toText(kind, value) {
  if (!value) return "";
  if (kind === "list") return value.join("\n");
  if (kind === "competitors") return value.map((c) => `${c.name}: ${c.weakness}`).join("\n");
  return value;
}

function fromText(kind, text) {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  if (kind === "list") return lines.length ? lines : null;
  if (kind === "competitors") {
    if (!lines.length) return null;
    return lines.map((l) => {
      const at = l.indexOf(":");
      return at < 0 ? { name: l, weakness: "" } : { name: l.slice(0, at).trim(), weakness: l.slice(at + 1).trim() };
    });
  }
  return text.trim() ? text.trim() : null;
}

function show(value) {
  if (value === null || value === undefined) return "(empty)";
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? `${v.name}: ${v.weakness}` : v)).join("; ");
  return String(value);
}

export async function mountFoundation(main, { focusPath } = {}) {
  const [foundation, history] = await Promise.all([course.foundation(), course.history()]);
  const heading = h("h1", { tabindex: "-1" }, "Your Foundation");
  const controls = [];
  const fieldsets = SECTIONS.map(([section, title, fields]) => {
    const score = Math.round((foundation.completeness?.sections?.[section] || 0) * 100);
    return h("fieldset", {},
      h("legend", {}, `${title} (${score}% filled)`),
      fields.map(([name, label, kind]) => {
        const path = `${section}.${name}`;
        const control = kind === "text"
          ? h("input", { type: "text", name: path })
          : h("textarea", { name: path, rows: kind === "area" ? "2" : "4" });
        control.value = toText(kind, foundation[section]?.[name]);
        control.id = `f-${path.replace(".", "-")}`;
        controls.push({ section, name, kind, control });
        return field(label, control, HINTS[kind]);
      }),
    );
  });
  const summary = h("textarea", { name: "strategic_blueprint_summary", rows: "4", id: "f-strategic_blueprint_summary" });
  summary.value = foundation.strategic_blueprint_summary || "";
  const error = errorBox();
  const saved = h("span", { class: "saved", role: "status" });
  const form = h("form", { class: "foundation-form", "aria-label": "Foundation" },
    fieldsets,
    h("fieldset", {}, h("legend", {}, "Blueprint"), field("Strategic blueprint summary", summary, "Three or four sentences: the avatar's main pain, your mechanism, your offer.")),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save Foundation"), saved),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, null);
    const body = { strategic_blueprint_summary: summary.value.trim() || null };
    for (const { section, name, kind, control } of controls) {
      body[section] = body[section] || {};
      body[section][name] = fromText(kind, control.value);
    }
    try {
      const result = await course.patchFoundation(body);
      saved.textContent = `Saved (version ${result.version})`;
      announce("Foundation saved");
      await mountFoundation(main);
    } catch (err) {
      showError(error, err);
    }
  });
  const versions = h("ol", { class: "history", "aria-label": "Foundation history" },
    history.length ? history.map((v) => h("li", {},
      h("strong", {}, `Version ${v.version}`), " ",
      h("span", { class: "muted" }, `${new Date(v.created_at).toLocaleDateString()} ${formatTime(v.created_at)} by ${v.changed_by_agent_id ? "your step agent" : "you"}`),
      h("ul", {}, v.changes.map((c) => h("li", {}, h("em", {}, c.label), `: ${show(c.old)} → ${show(c.new)}`))),
    )) : [h("li", { class: "empty" }, "No changes yet.")]);
  clear(main).append(
    h("section", { class: "page course" },
      h("p", {}, h("a", { href: "#/course" }, "← Course map")),
      heading,
      h("p", { class: "hint block" }, `Version ${foundation.version}; ${Math.round((foundation.completeness?.overall || 0) * 100)}% filled. Every step agent reads this; write it in your customer's words.`),
      form,
      h("section", { class: "card" }, h("h2", {}, "History"), versions),
    ),
  );
  const target = focusPath ? document.getElementById(`f-${focusPath.replace(".", "-")}`) : null;
  if (target) {
    target.scrollIntoView({ block: "center" });
    target.focus();
  } else heading.focus();
}
