// Per-message tools and the room's filter: copy a message's raw text, put it under a tab
// (the seed's now/top/todo/done) and tag it, and show only the messages of one tab or tag.
//
// Members and admins change tabs (PATCH .../messages/{id}/tabs); observers only see them. Every
// page in the room hears `message.tagged` and keeps the newest state by `tagged_at`.

import { request } from "./api.js";
import { copyText } from "./clipboard.js";
import { h, clear, announce } from "./dom.js";

export const TABS = [
  ["now", "Now"],
  ["top", "Top"],
  ["todo", "To do"],
  ["done", "Done"],
];
const TAB_LABEL = Object.fromEntries(TABS);
const MAX_TAGS = 10;
const MAX_TAG_CHARS = 32;

export class MessageTabs {
  constructor({ conversationId, canEdit, list, onError }) {
    this.conversationId = conversationId;
    this.canEdit = canEdit;
    this.list = list; // the transcript's <ol>
    this.onError = onError || (() => {});
    this.states = new Map(); // seq -> {id, tab, tags, tagged_at}
    this.filter = { tab: null, tag: "" };
    this.filterBar = this.buildFilterBar();
  }

  // ---- one message ---------------------------------------------------------------------

  // Called for every message the transcript renders: its tools row and its current state.
  decorate(li, message) {
    const seq = Number(message.seq);
    const known = this.states.get(seq);
    const incoming = { id: message.id, tab: message.tab || null, tags: message.tags || [], tagged_at: message.tagged_at || null };
    const state = known && newer(known.tagged_at, incoming.tagged_at) ? { ...known, id: message.id } : incoming;
    this.states.set(seq, state);
    const copy = h("button", { type: "button", class: "msg-copy link-button", "aria-label": "Copy message text" }, "Copy");
    copy.addEventListener("click", async () => {
      const ok = await copyText(message.content || "");
      copy.textContent = ok ? "Copied" : "Copy failed";
      announce(ok ? "Message copied" : "Could not copy the message");
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    const tools = h("div", { class: "msg-tools" }, h("span", { class: "msg-tabs" }), copy);
    li.append(tools);
    this.paint(li, state);
    this.applyFilterTo(li);
    if (state.tags.length) this.scheduleTagRefresh();
  }

  scheduleTagRefresh() {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    queueMicrotask(() => {
      this.refreshQueued = false;
      this.refreshTagFilter();
    });
  }

  element(seq) {
    return [...this.list.children].find((li) => Number(li.dataset.seq) === seq) || null;
  }

  // Draw a message's tab and tags (and, for members, the controls to change them).
  paint(li, state) {
    li.dataset.tab = state.tab || "";
    li.dataset.tags = JSON.stringify(state.tags);
    const box = li.querySelector(".msg-tabs");
    if (!box) return;
    // A tag being typed survives a repaint (someone else's change, our own save's answer).
    const editing = box.querySelector(".tag-input");
    const hadFocus = editing && document.activeElement === editing;
    clear(box);
    const seq = Number(li.dataset.seq);
    if (this.canEdit) {
      const select = h(
        "select",
        { class: "tab-select", "aria-label": "Tab" },
        h("option", { value: "" }, "No tab"),
        TABS.map(([value, label]) => h("option", { value, selected: value === state.tab }, label)),
      );
      select.addEventListener("change", () => this.save(seq, { tab: select.value || null }));
      box.append(select);
    } else if (state.tab) {
      box.append(h("span", { class: `tab-badge tab-${state.tab}` }, TAB_LABEL[state.tab] || state.tab));
    }
    for (const tag of state.tags) {
      const chip = h("span", { class: "tag-chip" }, tag);
      if (this.canEdit) {
        chip.append(
          h("button", {
            type: "button",
            class: "tag-remove",
            "aria-label": `Remove tag ${tag}`,
            onclick: () => this.save(seq, { tags: state.tags.filter((t) => t !== tag) }),
          }, "×"),
        );
      }
      box.append(chip);
    }
    if (this.canEdit && state.tags.length < MAX_TAGS) box.append(this.addTagButton(seq, box));
    if (editing && this.canEdit) {
      const add = box.querySelector(".add-tag");
      if (add) add.replaceWith(editing);
      else box.append(editing);
      if (hadFocus) editing.focus();
    }
  }

  addTagButton(seq, box) {
    const button = h("button", { type: "button", class: "add-tag link-button", "aria-label": "Add a tag" }, "+ tag");
    button.addEventListener("click", () => {
      const input = h("input", { type: "text", class: "tag-input", maxlength: String(MAX_TAG_CHARS), "aria-label": "New tag", placeholder: "tag" });
      const done = (save) => {
        const tag = input.value.trim();
        input.replaceWith(button);
        if (save && tag) this.save(seq, { tags: [...this.states.get(seq).tags, tag] });
      };
      input.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          done(true);
        } else if (ev.key === "Escape") done(false);
      });
      input.addEventListener("blur", () => input.isConnected && done(true));
      button.replaceWith(input);
      input.focus();
    });
    return button;
  }

  async save(seq, change) {
    const state = this.states.get(seq);
    if (!state) return;
    const path = `/conversations/${encodeURIComponent(this.conversationId)}/messages/${encodeURIComponent(state.id)}/tabs`;
    try {
      this.apply(await request("PATCH", path, change));
    } catch (err) {
      this.onError(err);
      const li = this.element(seq);
      if (li) this.paint(li, state); // put the controls back as they were
    }
  }

  // A `message.tagged` frame (or our own PATCH answer): the newest state wins.
  apply(frame) {
    const seq = Number(frame.seq);
    const known = this.states.get(seq);
    if (known && newer(known.tagged_at, frame.tagged_at)) return;
    const state = { id: frame.message_id || known?.id, tab: frame.tab || null, tags: frame.tags || [], tagged_at: frame.tagged_at || null };
    this.states.set(seq, state);
    const li = this.element(seq);
    if (li) {
      this.paint(li, state);
      this.applyFilterTo(li);
    }
    this.refreshTagFilter();
  }

  setCanEdit(canEdit) {
    if (canEdit === this.canEdit) return;
    this.canEdit = canEdit;
    for (const li of this.list.children) {
      const state = this.states.get(Number(li.dataset.seq));
      if (state) this.paint(li, state);
    }
  }

  // ---- the filter ----------------------------------------------------------------------

  buildFilterBar() {
    this.tabButtons = [["", "All"], ...TABS].map(([value, label]) =>
      h("button", {
        type: "button",
        class: "filter-tab",
        "aria-pressed": value === "" ? "true" : "false",
        dataset: { tab: value },
        onclick: () => this.setFilter({ tab: value || null }),
      }, label),
    );
    this.tagSelect = h("select", { class: "filter-tag", "aria-label": "Filter by tag" }, h("option", { value: "" }, "All tags"));
    this.tagSelect.addEventListener("change", () => this.setFilter({ tag: this.tagSelect.value }));
    this.filterStatus = h("span", { class: "filter-status", role: "status" });
    return h(
      "div",
      { class: "tab-filter", role: "toolbar", "aria-label": "Show messages by tab or tag" },
      h("div", { class: "filter-tabs" }, this.tabButtons),
      this.tagSelect,
      this.filterStatus,
    );
  }

  setFilter(change) {
    this.filter = { ...this.filter, ...change };
    for (const button of this.tabButtons) {
      button.setAttribute("aria-pressed", String((button.dataset.tab || null) === this.filter.tab));
    }
    for (const li of this.list.children) this.applyFilterTo(li);
  }

  matches(li) {
    const { tab, tag } = this.filter;
    if (tab && li.dataset.tab !== tab) return false;
    if (tag) {
      const tags = JSON.parse(li.dataset.tags || "[]").map((t) => t.toLowerCase());
      if (!tags.includes(tag.toLowerCase())) return false;
    }
    return true;
  }

  applyFilterTo(li) {
    if (!li.dataset.seq) return;
    li.classList.toggle("filtered-out", !this.matches(li));
    this.updateStatus();
  }

  updateStatus() {
    const all = this.list.children.length;
    const active = this.filter.tab || this.filter.tag;
    if (!active) {
      this.filterStatus.textContent = "";
      return;
    }
    const shown = [...this.list.children].filter((li) => !li.classList.contains("filtered-out")).length;
    this.filterStatus.textContent = `${shown} of ${all} shown`;
  }

  // The tag filter lists the tags in use in the room, alphabetically.
  refreshTagFilter() {
    const tags = new Map();
    for (const state of this.states.values()) for (const tag of state.tags) tags.set(tag.toLowerCase(), tag);
    const current = this.tagSelect.value;
    clear(this.tagSelect).append(h("option", { value: "" }, "All tags"));
    for (const [key, tag] of [...tags].sort((a, b) => a[0].localeCompare(b[0]))) {
      this.tagSelect.append(h("option", { value: key, selected: key === current }, tag));
    }
    if (current && !tags.has(current)) this.setFilter({ tag: "" });
  }
}

// Is `a` strictly newer than `b` (ISO timestamps; a missing one is oldest)?
function newer(a, b) {
  if (!a) return false;
  if (!b) return true;
  return Date.parse(a) > Date.parse(b);
}
