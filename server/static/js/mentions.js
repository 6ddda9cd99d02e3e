// @mention autocomplete for the composer, as an ARIA combobox: arrows move, Enter or Tab pick,
// Escape closes. Agents insert their handle (what the runtime routes on); people their name.

import { h, clear, nextId } from "./dom.js";

const TOKEN = /(^|\s)@([\w.-]*)$/;

export function mentionText(candidate) {
  if (candidate.handle) return candidate.handle;
  return (candidate.name || "").trim().replace(/\s+/g, "_");
}

export class MentionPicker {
  constructor(textarea, getCandidates) {
    this.input = textarea;
    this.getCandidates = getCandidates;
    this.options = [];
    this.active = -1;
    this.range = null;
    this.listbox = h("ul", { class: "mention-list", role: "listbox", id: nextId("mentions"), hidden: true, "aria-label": "Mention suggestions" });
    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-expanded", "false");
    textarea.setAttribute("aria-controls", this.listbox.id);
    textarea.addEventListener("input", () => this.refresh());
    textarea.addEventListener("click", () => this.refresh());
    textarea.addEventListener("keydown", (ev) => this.onKey(ev), true);
    textarea.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  get open() {
    return !this.listbox.hidden;
  }

  refresh() {
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret);
    const match = TOKEN.exec(before);
    if (!match) return this.close();
    const query = match[2].toLowerCase();
    const found = this.getCandidates().filter((c) => {
      const hay = `${c.handle || ""} ${c.name || ""}`.toLowerCase();
      return !query || hay.split(/\s+/).some((w) => w.startsWith(query)) || hay.includes(query);
    });
    if (!found.length) return this.close();
    this.range = { start: caret - match[2].length - 1, end: caret };
    this.render(found.slice(0, 8));
  }

  render(options) {
    this.options = options;
    this.active = 0;
    clear(this.listbox);
    options.forEach((c, i) => {
      const li = h(
        "li",
        { role: "option", id: `${this.listbox.id}-${i}`, class: `mention-option kind-${c.kind}`, "aria-selected": String(i === 0) },
        h("span", { class: "mention-handle" }, `@${mentionText(c)}`),
        " ",
        h("span", { class: "mention-name" }, c.kind === "agent" ? `${c.name} · agent` : c.name),
      );
      // mousedown, not click: it must win against the textarea's blur.
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        this.pick(i);
      });
      this.listbox.append(li);
    });
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.highlight();
  }

  highlight() {
    [...this.listbox.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === this.active)));
    const current = this.listbox.children[this.active];
    if (current) {
      this.input.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    }
  }

  close() {
    if (this.listbox.hidden) return;
    this.listbox.hidden = true;
    this.options = [];
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  pick(index) {
    const c = this.options[index];
    if (!c || !this.range) return;
    const value = this.input.value;
    const insert = `@${mentionText(c)} `;
    this.input.value = value.slice(0, this.range.start) + insert + value.slice(this.range.end);
    const caret = this.range.start + insert.length;
    this.input.setSelectionRange(caret, caret);
    this.close();
    this.input.focus();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  onKey(ev) {
    if (!this.open) return;
    const n = this.options.length;
    if (ev.key === "ArrowDown") this.active = (this.active + 1) % n;
    else if (ev.key === "ArrowUp") this.active = (this.active - 1 + n) % n;
    else if (ev.key === "Enter" || ev.key === "Tab") this.pick(this.active);
    else if (ev.key === "Escape") this.close();
    else return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (this.open) this.highlight();
  }
}
