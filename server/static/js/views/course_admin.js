// Staff-only editors on the module page: the module's content and each playbook prompt.
// The server refuses these edits for students (403); the page only shows them to staff.

import { h, field, errorBox, showError, announce } from "../dom.js";
import { course } from "../course/api.js";

function editor(title, fields, save) {
  const controls = {};
  const rows = fields.map(([key, label, value, lines]) => {
    const control = lines > 1 ? h("textarea", { name: key, rows: String(lines) }) : h("input", { type: "text", name: key });
    control.value = value ?? "";
    controls[key] = control;
    return field(label, control);
  });
  const error = errorBox();
  const form = h("form", {}, rows, error, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save (staff)")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await save(Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value])));
      announce("Saved");
      location.reload();
    } catch (err) {
      showError(error, err);
    }
  });
  return h("details", { class: "card staff" }, h("summary", {}, title), form);
}

export function staffModuleEditor(module) {
  return editor("Edit this module (staff)", [
    ["title", "Title", module.title, 1],
    ["objective", "Objective", module.objective, 3],
    ["text_content", "Lesson", module.text_content, 10],
    ["checklist_items", "Checklist (one per line)", (module.checklist_items || []).join("\n"), 5],
    ["implementation_guide", "Implementation guide", module.implementation_guide, 6],
    ["example_text", "Example", module.example_text, 4],
  ], (v) => course.updateModule(module.id, {
    ...v, checklist_items: v.checklist_items.split("\n").map((l) => l.trim()).filter(Boolean),
  }));
}

export function staffPromptEditor(prompt) {
  return editor(`Edit ${prompt.prompt_code} (staff)`, [
    ["title", "Title", prompt.title, 1],
    ["description", "Description", prompt.description, 2],
    ["rocket_template", "ROCKET template", prompt.rocket_template, 12],
  ], (v) => course.updatePrompt(prompt.prompt_code, v));
}

const SKELETON = "Role: \nObjective: \nContext:\n- Customer pains: {customer_avatar.pains}\nKey constraints:\n- \nExamples:\n- \nTone: {company_context.brand_voice_adjectives}.";
const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);

export function staffNewPrompt(module) {
  return editor(`Add a prompt to ${module.step} (staff)`, [
    ["prompt_code", "Code (e.g. H4)", "", 1],
    ["title", "Title", "", 1],
    ["description", "Description", "", 2],
    ["output_type", "Output type (Text, List, JSON, Email Draft, Page Copy)", "Text", 1],
    ["required_context", "Required context (one Foundation path per line)", "customer_avatar.pains", 3],
    ["rocket_template", "ROCKET template", SKELETON, 12],
  ], (v) => course.createPrompt({ ...v, step: module.step, required_context: lines(v.required_context) }));
}

export function staffNewModule(modules) {
  const next = Math.max(...modules.map((m) => m.module_number)) + 1;
  return editor("Add a module (staff)", [
    ["module_number", "Module number", String(next), 1],
    ["step", "Step (Foundation, Hook, ... Share)", "Share", 1],
    ["title", "Title", "", 1],
    ["objective", "Objective", "", 3],
    ["text_content", "Lesson", "", 8],
    ["checklist_items", "Checklist (one per line)", "", 4],
  ], (v) => course.createModule({
    ...v, module_number: Number(v.module_number), checklist_items: lines(v.checklist_items),
  }));
}
