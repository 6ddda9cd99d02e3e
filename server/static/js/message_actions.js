// What a person can do with a message in the room: edit or delete their own, regenerate an
// agent's reply and switch between its versions, and follow a search hit to one message.
// It works beside the transcript: it listens for `message.updated` / `message.deleted`,
// decorates each rendered message and keeps the versions of a reply grouped.

import { request } from "./api.js";
import { h, announce } from "./dom.js";

const messagePath = (conversationId, seq) => `/conversations/${encodeURIComponent(conversationId)}/messages/${seq}`;

// The first version of the reply a message is a version of (its own id when none).
function versionRoot(message) {
  return message?.meta?.regenerates?.version_of || message.id;
}

function isRegenerateRequest(message) {
  return message?.type === "regenerate";
}

export function installMessageActions({ transcript, socket, conversationId, me }) {
  const chosen = new Map(); // version root -> id of the version shown
  const cleanups = [];
  const elementOf = (seq) => document.getElementById(`msg-${conversationId}-${seq}`);
  const errors = () => transcript.scroller.closest(".room")?.querySelector(".room-errors");

  function showError(err) {
    const box = errors();
    if (!box) return;
    const note = h("p", {}, `${err.message || "Something went wrong"} `, h("small", {}, `(${err.code || "error"})`));
    box.append(note);
    setTimeout(() => note.remove(), 8000);
  }

  // ---- live changes ----------------------------------------------------------------------

  function applyChange(frame) {
    if (frame.conversation_id !== conversationId || !frame.message) return;
    const seq = Number(frame.seq);
    const known = transcript.messages.get(seq);
    if (!known) return; // not here yet: it will come with its current content
    if ((known.edit_seq || 0) >= (frame.edit_seq || 0)) return; // an older change, or a repeat
    const message = { ...known, ...frame.message, seq };
    transcript.messages.set(seq, message);
    const old = elementOf(seq);
    if (old) {
      const fresh = transcript.renderMessage(message);
      old.replaceWith(fresh);
      decorate(fresh);
    }
    announce(frame.type === "message.deleted" ? "A message was deleted" : "A message was edited");
  }
  cleanups.push(socket.on("message.updated", applyChange), socket.on("message.deleted", applyChange));

  // ---- decorating each message -----------------------------------------------------------

  function decorate(el) {
    if (!el.matches?.("li.msg") || el.dataset.decorated) return;
    const message = transcript.messages.get(Number(el.dataset.seq));
    if (!message) return;
    el.dataset.decorated = "true";
    el.dataset.messageId = message.id || "";
    const meta = el.querySelector(".meta");
    const body = el.querySelector(".body");
    if (isRegenerateRequest(message)) {
      el.classList.add("msg-regenerate");
      const asked = message.meta?.regenerate || {};
      body.textContent = `asked for another version of reply #${asked.seq ?? "?"}`;
      return;
    }
    if (message.deleted) {
      el.classList.add("deleted");
      body.textContent = "This message was deleted.";
      return;
    }
    if (message.edited_at && meta) {
      meta.append(h("span", { class: "edited", title: `edited ${new Date(message.edited_at).toLocaleString()}` }, "(edited)"));
    }
    const author = message.author || {};
    const actions = h("div", { class: "msg-actions" });
    if (author.kind === "user" && me && author.user_id === me.id && message.kind !== "system") {
      actions.append(
        h("button", { type: "button", class: "link msg-edit", onclick: () => startEdit(el, message) }, "Edit"),
        h("button", { type: "button", class: "link msg-delete", onclick: () => askDelete(el, message, actions) }, "Delete"),
      );
    }
    if (author.kind === "agent" && message.turn_id && !message.meta?.parent_turn_id) {
      actions.append(h("button", { type: "button", class: "link msg-regenerate", onclick: () => regenerate(message) }, "Regenerate"));
    }
    if (actions.childElementCount) el.append(actions);
  }

  function startEdit(el, message) {
    const body = el.querySelector(".body");
    if (!body || el.querySelector(".edit-form")) return;
    const input = h("textarea", { class: "edit-input", rows: "3", "aria-label": "Edit message" });
    input.value = message.content || "";
    const form = h(
      "form",
      { class: "edit-form" },
      input,
      h("div", { class: "edit-buttons" },
        h("button", { type: "submit", class: "primary" }, "Save"),
        h("button", { type: "button", class: "link", onclick: () => cancel() }, "Cancel"),
      ),
    );
    const cancel = () => {
      form.remove();
      body.hidden = false;
    };
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const content = input.value.trim();
      if (!content) return;
      try {
        const updated = await request("PATCH", messagePath(conversationId, message.seq), { content });
        applyChange({ type: "message.updated", conversation_id: conversationId, seq: updated.seq, edit_seq: updated.edit_seq, message: updated });
      } catch (err) {
        showError(err);
        cancel();
      }
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") cancel();
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    body.hidden = true;
    body.after(form);
    input.focus();
  }

  // Asked in the page rather than with confirm(): one click more, no modal dialog.
  function askDelete(el, message, actions) {
    if (el.querySelector(".confirm-delete")) return;
    const box = h(
      "span",
      { class: "confirm-delete", role: "group", "aria-label": "Delete this message?" },
      "Delete this message? ",
      h("button", { type: "button", class: "danger confirm-yes", onclick: () => remove() }, "Delete"),
      h("button", { type: "button", class: "link", onclick: () => box.remove() }, "Keep"),
    );
    const remove = async () => {
      try {
        const deleted = await request("DELETE", messagePath(conversationId, message.seq));
        applyChange({ type: "message.deleted", conversation_id: conversationId, seq: deleted.seq, edit_seq: deleted.edit_seq, message: deleted });
      } catch (err) {
        showError(err);
        box.remove();
      }
    };
    actions.append(box);
  }

  async function regenerate(message) {
    try {
      await request("POST", `${messagePath(conversationId, message.seq)}/regenerate`, {});
      // The newest version is shown when it arrives.
      chosen.delete(versionRoot(message));
      announce("Asked for another version");
    } catch (err) {
      showError(err);
    }
  }

  // ---- versions of a reply ---------------------------------------------------------------

  function groupVersions() {
    const groups = new Map(); // root -> [message, ...] in seq order
    for (const seq of [...transcript.messages.keys()].sort((a, b) => a - b)) {
      const message = transcript.messages.get(seq);
      if (message.author?.kind !== "agent" || !message.turn_id) continue;
      const root = versionRoot(message);
      if (!groups.has(root)) groups.set(root, []);
      groups.get(root).push(message);
    }
    for (const [root, versions] of groups) {
      if (versions.length < 2) continue;
      const shownId = chosen.get(root) || versions.at(-1).id;
      const index = Math.max(0, versions.findIndex((m) => m.id === shownId));
      versions.forEach((m, i) => {
        const el = elementOf(m.seq);
        if (!el) return;
        el.hidden = i !== index;
        el.querySelector(".versions")?.remove();
        if (i === index) el.querySelector(".meta")?.append(versionControls(root, versions, index));
      });
    }
  }

  function versionControls(root, versions, index) {
    const go = (step) => {
      const next = versions[index + step];
      if (!next) return;
      chosen.set(root, next.id);
      groupVersions();
      elementOf(next.seq)?.querySelector(`.versions button[data-step="${step}"]`)?.focus();
    };
    return h(
      "span",
      { class: "versions", role: "group", "aria-label": "Versions of this reply" },
      h("button", { type: "button", class: "link", dataset: { step: "-1" }, disabled: index === 0 ? true : null, "aria-label": "Previous version", onclick: () => go(-1) }, "<"),
      h("span", { class: "version-count" }, `${index + 1}/${versions.length}`),
      h("button", { type: "button", class: "link", dataset: { step: "1" }, disabled: index === versions.length - 1 ? true : null, "aria-label": "Next version", onclick: () => go(1) }, ">"),
    );
  }

  // ---- opening at a message (from a search hit: #/c/<id>/m/<seq>) -------------------------

  function wantedSeq() {
    const found = /^#\/c\/[^/]+\/m\/(\d+)/.exec(location.hash);
    return found ? Number(found[1]) : null;
  }

  // Scrolled to once the replay is over, so that later messages do not move it away.
  let target = wantedSeq();
  let replayed = false;
  cleanups.push(
    socket.on("subscribed", (frame) => {
      if (frame.conversation_id !== conversationId) return;
      replayed = true;
      requestAnimationFrame(() => reachTarget());
    }),
  );
  function reachTarget() {
    if (target === null || !replayed) return;
    const el = elementOf(target);
    if (!el) return; // the replay has not brought it yet
    target = null;
    el.hidden = false;
    el.classList.add("highlight", "search-target");
    el.scrollIntoView({ block: "center" });
    setTimeout(() => el.classList.remove("highlight"), 4000);
  }

  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      for (const el of transcript.list.querySelectorAll("li.msg:not([data-decorated])")) decorate(el);
      groupVersions();
      reachTarget();
    });
  });
  observer.observe(transcript.list, { childList: true });
  cleanups.push(() => observer.disconnect());

  return () => {
    for (const fn of cleanups.reverse()) fn();
  };
}
