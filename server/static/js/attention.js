// What waits for me, for the top bar: unread messages across my conversations and my
// notifications (mentions of me, agents' replies to me while I was elsewhere), kept live from
// my own channel on the socket. Muted conversations count unread but never notify.

import { api } from "./api.js";
import { h, clear } from "./dom.js";
import { roomsApi } from "./rooms_api.js";

export class Attention {
  constructor() {
    this.unread = new Map(); // conversation_id -> unread count
    this.notes = [];
    this.unreadNotes = 0;
    this.offs = [];
    this.unreadBadge = h("span", { class: "nav-badge", hidden: true, "aria-label": "" });
    this.bellCount = h("span", { class: "nav-badge" });
    this.list = h("ul", { class: "notification-list" });
    this.bell = h("details", { class: "notifications" },
      h("summary", { "aria-label": "Notifications" }, "Notifications", this.bellCount),
      h("div", { class: "notification-panel card" },
        h("div", { class: "notification-head" }, h("strong", {}, "Notifications"),
          h("button", { type: "button", class: "link", onclick: () => this.readAll() }, "Mark all read")),
        this.list));
  }

  async start(socket) {
    this.stop();
    const on = (type, fn) => this.offs.push(socket.on(type, fn));
    on("conversation.added", (f) => this.setUnread(f.conversation_id, f.conversation?.unread || 0));
    on("conversation.activity", (f) => this.setUnread(f.conversation_id, f.unread || 0));
    on("conversation.read", (f) => {
      this.setUnread(f.conversation_id, f.unread || 0);
      if (typeof f.unread_notifications === "number") {
        for (const n of this.notes) if (n.conversation_id === f.conversation_id) n.read_at = n.read_at || "now";
        this.setNotes(f.unread_notifications);
      }
    });
    on("conversation.removed", (f) => this.setUnread(f.conversation_id, 0));
    on("notification", (f) => {
      this.notes.unshift(f.notification);
      this.notes = this.notes.slice(0, 50);
      this.setNotes(f.unread_notifications);
    });
    try {
      const [rooms, notes] = await Promise.all([api.conversations(), roomsApi.notifications()]);
      for (const c of rooms) this.unread.set(c.id, c.unread || 0);
      this.notes = notes.notifications;
      this.setNotes(notes.unread);
      this.render();
    } catch {
      // The badges stay empty until the next frame.
    }
  }

  stop() {
    this.offs.forEach((off) => off());
    this.offs = [];
  }

  setUnread(id, count) {
    this.unread.set(id, count);
    this.render();
  }

  setNotes(unread) {
    this.unreadNotes = unread;
    this.render();
  }

  async readAll() {
    const result = await roomsApi.readNotifications({});
    for (const n of this.notes) n.read_at = n.read_at || "now";
    this.setNotes(result.unread);
  }

  render() {
    const total = [...this.unread.values()].reduce((a, b) => a + b, 0);
    this.unreadBadge.hidden = total === 0;
    this.unreadBadge.textContent = total > 99 ? "99+" : String(total);
    this.unreadBadge.setAttribute("aria-label", `${total} unread`);
    this.bellCount.hidden = this.unreadNotes === 0;
    this.bellCount.textContent = String(this.unreadNotes);
    this.bell.querySelector("summary").setAttribute("aria-label", `Notifications, ${this.unreadNotes} unread`);
    clear(this.list);
    if (!this.notes.length) this.list.append(h("li", { class: "muted" }, "Nothing yet"));
    for (const n of this.notes.slice(0, 20)) {
      const what = n.kind === "mention" ? "mentioned you" : "replied to you";
      this.list.append(h("li", { class: n.read_at ? "" : "unread" },
        h("a", { href: `#/c/${encodeURIComponent(n.conversation_id)}` },
          h("strong", {}, n.actor_name || "Someone"), ` ${what}: `, n.preview)));
    }
  }
}
