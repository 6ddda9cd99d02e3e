// Groups: teams of people and agents. A group's conversations are open to its members with
// their group role, and its agents take part in every one of them (so they answer there).

import { api, request } from "../api.js";
import { h, clear, field, errorBox, showError, announce } from "../dom.js";

const ROLES = ["admin", "member", "observer"];
const g = (id) => `/groups/${encodeURIComponent(id)}`;
const roleSelect = (label, current, disabled) =>
  h("select", { "aria-label": label, disabled }, ROLES.map((r) => h("option", { value: r, selected: r === current }, r)));

export async function mountGroupList(main) {
  const heading = h("h1", { tabindex: "-1" }, "Groups");
  const name = h("input", { type: "text", name: "name", maxlength: "200", required: true });
  const error = errorBox();
  const form = h("form", { class: "card settings-row" }, field("New group", name), h("button", { type: "submit" }, "Create group"), error);
  const list = h("ul", { class: "conversation-list" });
  clear(main).append(h("section", { class: "page" }, h("div", { class: "page-head" }, heading), form, list));
  const render = (groups) => {
    clear(list);
    if (!groups.length) list.append(h("li", { class: "muted" }, "No groups yet."));
    for (const group of groups) {
      list.append(h("li", {}, h("a", { href: `#/groups/${encodeURIComponent(group.id)}` },
        h("span", { class: "conv-title" }, group.name), h("span", { class: "tag" }, group.role || "member"))));
    }
  };
  render(await api.groups());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(error, null);
    try {
      const created = await request("POST", "/groups", { name: name.value.trim() });
      location.hash = `#/groups/${encodeURIComponent(created.id)}`;
    } catch (err) {
      showError(error, err);
    }
  });
  heading.focus();
}

export async function mountGroup(main, { id, me }) {
  let group = await request("GET", g(id));
  const heading = h("h1", { tabindex: "-1" }, group.name);
  const error = errorBox();
  const body = h("div", {});
  clear(main).append(h("section", { class: "page" }, h("div", { class: "page-head" }, heading,
    h("a", { class: "button", href: `#/new/${encodeURIComponent(id)}` }, "New conversation in this group")), error, body));

  async function act(fn, done) {
    showError(error, null);
    try {
      await fn();
      if (done) announce(done);
      await render();
    } catch (err) {
      showError(error, err);
    }
  }

  async function render() {
    group = await request("GET", g(id));
    heading.textContent = group.name;
    const admin = group.role === "admin";
    const members = await request("GET", `${g(id)}/members`);
    const agents = await api.agents();
    const rows = members.map((m) => {
      const self = m.user_id === me.id;
      const owner = m.user_id === group.owner_id;
      const label = m.kind === "agent" ? `${m.name} (@${m.handle})` : `${m.name}${self ? " (you)" : ""}`;
      const role = roleSelect(`Role of ${m.name}`, m.role, !admin || owner);
      role.addEventListener("change", () => act(() => request("PATCH", `${g(id)}/members/${encodeURIComponent(m.id)}`, { role: role.value }), `${m.name} is now ${role.value}`));
      const removable = !owner && (admin || self);
      return h("li", { class: "settings-person" },
        h("span", {}, label, m.kind === "agent" ? h("span", { class: "tag" }, "agent") : null, owner ? h("span", { class: "tag" }, "owner") : null),
        role,
        removable ? h("button", { type: "button", class: "link danger", onclick: () => act(async () => {
          await request("DELETE", `${g(id)}/members/${encodeURIComponent(m.id)}`);
          if (self) location.hash = "#/groups";
        }, self ? "You left the group" : `${m.name} removed`) }, self ? "Leave" : "Remove") : null);
    });
    const parts = [h("h2", {}, "Members"), h("ul", { class: "settings-people" }, rows)];
    if (admin) {
      const rename = h("input", { type: "text", value: group.name, maxlength: "200", "aria-label": "Group name" });
      parts.unshift(h("form", { class: "settings-row", onsubmit: (ev) => {
        ev.preventDefault();
        act(() => request("PATCH", g(id), { name: rename.value.trim() }), "Renamed");
      } }, rename, h("button", { type: "submit" }, "Rename")));
      const search = h("input", { type: "search", autocomplete: "off", placeholder: "Name or email" });
      const found = h("ul", { class: "search-results", "aria-label": "People to add" });
      const personRole = roleSelect("Role for the person", "member", false);
      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          clear(found);
          const here = new Set(members.map((m) => m.user_id));
          if (!search.value.trim()) return;
          for (const u of (await api.users(search.value.trim())).filter((u) => !here.has(u.id))) {
            found.append(h("li", {}, h("button", { type: "button", class: "secondary", onclick: () =>
              act(() => request("POST", `${g(id)}/members`, { kind: "user", user_id: u.id, role: personRole.value }), `${u.name} added`) }, `Add ${u.name}`)));
          }
        }, 250);
      });
      const here = new Set(members.map((m) => m.agent_id));
      const agentSelect = h("select", { "aria-label": "Agent to add" }, h("option", { value: "" }, "Choose an agent"),
        agents.filter((a) => !here.has(a.id)).map((a) => h("option", { value: a.id }, `${a.name} (@${a.handle})`)));
      const agentRole = roleSelect("Role for the agent", "member", false);
      parts.push(
        h("h2", {}, "Add people and agents"),
        h("div", { class: "settings-row" }, field("Find a person", search), personRole), found,
        h("div", { class: "settings-row" }, agentSelect, agentRole, h("button", { type: "button", class: "secondary", onclick: () =>
          agentSelect.value && act(() => request("POST", `${g(id)}/members`, { kind: "agent", agent_id: agentSelect.value, role: agentRole.value }), "Agent added") }, "Add agent")),
      );
    }
    if (group.owner_id === me.id) {
      parts.push(h("div", { class: "settings-row owner-actions" }, h("button", { type: "button", class: "danger", onclick: () => {
        if (window.confirm(`Delete the group "${group.name}"?`)) act(async () => {
          await request("DELETE", g(id));
          location.hash = "#/groups";
        }, "Group deleted");
      } }, "Delete group")));
    }
    clear(body).append(...parts);
  }
  await render();
  heading.focus();
}
