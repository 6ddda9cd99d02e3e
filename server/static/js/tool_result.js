// A tool's result as a person reads it: fields as a short list of name and value, lists as
// bullets, text as text (a string holding JSON is read as that JSON), never escaped JSON.
// Built from DOM nodes only, so nothing in a result can become markup.

import { h } from "./dom.js";

const MAX_DEPTH = 3;
const MAX_ITEMS = 50;
const MAX_TEXT = 2000;

function parsedIfJson(text) {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

function clip(text) {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function label(key) {
  return String(key).replace(/_/g, " ");
}

function valueView(value, depth) {
  if (value === null || value === undefined) return h("span", { class: "tr-empty" }, "none");
  if (typeof value === "string") {
    const parsed = parsedIfJson(value);
    if (parsed !== undefined && depth < MAX_DEPTH) return valueView(parsed, depth);
    return h("span", { class: "tr-text" }, clip(value));
  }
  if (typeof value === "boolean") return h("span", { class: "tr-scalar" }, value ? "yes" : "no");
  if (typeof value !== "object") return h("span", { class: "tr-scalar" }, String(value));
  if (depth >= MAX_DEPTH) return h("code", { class: "tr-text" }, clip(JSON.stringify(value)));
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "tr-empty" }, "nothing");
    const items = value.slice(0, MAX_ITEMS).map((item) => h("li", {}, valueView(item, depth + 1)));
    if (value.length > MAX_ITEMS) items.push(h("li", { class: "tr-more" }, `… and ${value.length - MAX_ITEMS} more`));
    return h("ul", { class: "tr-list" }, items);
  }
  const entries = Object.entries(value);
  if (!entries.length) return h("span", { class: "tr-empty" }, "nothing");
  return h(
    "dl",
    { class: "tr-fields" },
    entries.slice(0, MAX_ITEMS).map(([key, item]) => [h("dt", {}, label(key)), h("dd", {}, valueView(item, depth + 1))]),
  );
}

export function toolResultView(result) {
  return h("div", { class: "tool-result" }, valueView(result, 0));
}
