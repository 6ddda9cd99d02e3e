// My conversations, live: a room I am added to appears at once, the latest message first, with
// its preview and my unread count. Everything arrives on my own channel of the socket.

import { api } from "../api.js";
import { h, clear } from "../dom.js";

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

export async function mountConversationList(main, { socket } = {}) {
  const heading = h("h1", { tabindex: "-1", id: "conv-heading" }, "Conversations");
  const list = h("ul", { class: "conversation-list", "aria-labelledby": "conv-heading" });
  const empty = h("p", { class: "empty" }, "No conversations yet. Start one with people and agents.");
  const archivedList = h("ul", { class: "conversation-list" });
  const archived = h("details", { class: "archived-conversations", hidden: true },
    h("summary", {}, "Archived"), archivedList);
  clear(main).append(
    h("section", { class: "page" },
      h("div", { class: "page-head" }, heading, h("a", { class: "button", href: "#/new" }, "New conversation")),
      list, empty, archived,
    ),
  );
  const rooms = new Map((await api.conversations()).map((c) => [c.id, c]));

  function item(c) {
    const unread = c.unread || 0;
    const label = `${c.title || "Untitled"}${unread ? `, ${unread} unread` : ""}`;
    return h("li", { dataset: { conversationId: c.id }, class: unread ? "has-unread" : "" },
      h("a", { href: `#/c/${encodeURIComponent(c.id)}`, "aria-label": label },
        h("span", { class: "conv-main" },
          h("span", { class: "conv-title" }, c.title || "Untitled", c.muted ? h("span", { class: "tag" }, "muted") : null),
          c.last_message
            ? h("span", { class: "conv-preview" }, c.last_message.author ? `${c.last_message.author}: ` : "", c.last_message.text)
            : h("span", { class: "conv-preview muted" }, "No messages yet"),
        ),
        h("span", { class: "conv-side" },
          c.last_message_time ? h("time", { datetime: c.last_message_time }, when(c.last_message_time)) : null,
          unread ? h("span", { class: "unread-count", "aria-hidden": "true" }, unread > 99 ? "99+" : String(unread)) : null,
        ),
      ),
    );
  }

  function render() {
    const all = [...rooms.values()].sort((a, b) => (b.last_message_time || "").localeCompare(a.last_message_time || ""));
    clear(list);
    clear(archivedList);
    for (const c of all) (c.archived_at ? archivedList : list).append(item(c));
    empty.hidden = all.length > 0;
    archived.hidden = !archivedList.children.length;
  }
  render();

  const offs = [];
  const on = (type, fn) => socket && offs.push(socket.on(type, fn));
  on("conversation.added", (f) => {
    rooms.set(f.conversation_id, { ...rooms.get(f.conversation_id), ...f.conversation });
    render();
  });
  on("conversation.updated", (f) => {
    const c = rooms.get(f.conversation_id);
    if (!c) return;
    Object.assign(c, f.conversation);
    render();
  });
  on("conversation.removed", (f) => {
    rooms.delete(f.conversation_id);
    render();
  });
  on("conversation.activity", (f) => {
    const c = rooms.get(f.conversation_id);
    if (!c) return;
    Object.assign(c, {
      last_message: f.last_message,
      last_message_time: f.last_message_time || c.last_message_time,
      last_seq: Math.max(c.last_seq || 0, f.seq || 0),
      unread: f.unread,
      last_read_seq: f.last_read_seq,
      muted: f.muted,
    });
    render();
  });
  on("conversation.read", (f) => {
    const c = rooms.get(f.conversation_id);
    if (!c) return;
    c.unread = f.unread;
    c.last_read_seq = f.last_read_seq;
    render();
  });
  heading.focus();
  return () => offs.forEach((off) => off());
}
