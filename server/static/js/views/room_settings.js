// The room's settings panel: rename, who speaks, people and agents with their roles, leave,
// mute, and for the owner archive and delete. Every change reaches everyone in the room live
// (`conversation.updated`, `participant.*`); this panel redraws from those frames too.

import { api } from "../api.js";
import { h, clear, field, errorBox, showError, announce } from "../dom.js";
import { roomsApi } from "../rooms_api.js";

const ROLES = ["admin", "member", "observer"];
const SPEAKERS = [["", "Default (mentions when several people)"], ["mentions", "Only when @mentioned"], ["round_robin", "Round robin"], ["selector", "Selector"]];
const MID_TURN = [["", "Default (queue)"], ["queue", "Queue it"], ["interrupt", "Interrupt"], ["reject", "Reject it"], ["coalesce", "Coalesce"]];

const options = (pairs, current) => pairs.map(([value, label]) => h("option", { value, selected: value === (current || "") }, label));

export function mountRoomSettings({ id, conversation, me, socket, titleEl, tools, after, navigate }) {
  let room = conversation;
  let participants = conversation.participants || [];
  let muted = false;
  const panelId = `room-settings-${id}`;
  const toggle = h("button", { type: "button", class: "secondary settings-toggle", "aria-expanded": "false", "aria-controls": panelId }, "Settings");
  const error = errorBox();
  const body = h("div", { class: "settings-body" });
  const panel = h("section", { class: "room-settings card", id: panelId, hidden: true, "aria-label": "Conversation settings" },
    h("h2", {}, "Conversation settings"), error, body);
  tools.prepend(toggle);
  after.after(panel);

  const isAdmin = () => room.role === "admin";
  const isOwner = () => room.created_by === me.id;

  async function act(fn, done) {
    showError(error, null);
    try {
      await fn();
      if (done) announce(done);
    } catch (err) {
      showError(error, err);
    }
  }

  function titleForm() {
    const input = h("input", { type: "text", name: "title", value: room.title, maxlength: "300", required: true, disabled: !isAdmin() });
    const form = h("form", { class: "settings-row" }, field("Title", input), isAdmin() ? h("button", { type: "submit" }, "Rename") : null);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const title = input.value.trim();
      if (title) act(() => roomsApi.update(id, { title }), "Renamed");
    });
    return form;
  }

  function policyForm() {
    const policy = room.policy || {};
    const speaker = h("select", { name: "speaker", disabled: !isAdmin() }, options(SPEAKERS, policy.speaker));
    const midTurn = h("select", { name: "mid_turn", disabled: !isAdmin() }, options(MID_TURN, policy.mid_turn));
    const form = h("form", { class: "settings-row" }, field("Who speaks", speaker), field("A message during a reply", midTurn),
      isAdmin() ? h("button", { type: "submit" }, "Save policy") : null);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const next = { ...policy };
      for (const [key, el] of [["speaker", speaker], ["mid_turn", midTurn]]) {
        if (el.value) next[key] = el.value;
        else delete next[key];
      }
      act(() => roomsApi.update(id, { policy: Object.keys(next).length ? next : null }), "Policy saved");
    });
    return form;
  }

  function person(p) {
    const self = p.kind === "user" && p.user_id === me.id;
    const owner = p.kind === "user" && p.user_id === room.created_by;
    const name = p.kind === "agent" ? `${p.name} (@${p.handle})` : `${p.name}${self ? " (you)" : ""}`;
    const role = h("select", { "aria-label": `Role of ${p.name}`, disabled: !isAdmin() || (owner && !isOwner()) },
      ROLES.map((r) => h("option", { value: r, selected: r === p.role }, r)));
    role.addEventListener("change", () => act(() => roomsApi.setRole(id, p.id, role.value), `${p.name} is now ${role.value}`));
    const canRemove = self ? !owner : isAdmin() && !owner;
    return h("li", { class: "settings-person", dataset: { participantId: p.id } },
      h("span", {}, name, p.kind === "agent" ? h("span", { class: "tag" }, "agent") : null, owner ? h("span", { class: "tag" }, "owner") : null),
      role,
      canRemove ? h("button", { type: "button", class: "link danger", onclick: () => act(async () => {
        await roomsApi.removeParticipant(id, p.id);
        if (self) navigate("#/");
      }, self ? "You left" : `${p.name} removed`) }, self ? "Leave" : "Remove") : null,
    );
  }

  function adders() {
    if (!isAdmin()) return null;
    const search = h("input", { type: "search", name: "add-person", autocomplete: "off", placeholder: "Name or email" });
    const found = h("ul", { class: "search-results", "aria-label": "People to add" });
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        clear(found);
        const query = search.value.trim();
        if (!query) return;
        const here = new Set(participants.map((p) => p.user_id));
        for (const u of (await api.users(query)).filter((u) => !here.has(u.id))) {
          found.append(h("li", {}, h("button", { type: "button", class: "secondary", onclick: () => act(async () => {
            await roomsApi.addParticipant(id, { kind: "user", user_id: u.id });
            search.value = "";
            clear(found);
          }, `${u.name} added`) }, `Add ${u.name}`)));
        }
      }, 250);
    });
    const agentSelect = h("select", { name: "add-agent", "aria-label": "Agent to add" }, h("option", { value: "" }, "Choose an agent"));
    api.agents().then((agents) => {
      const here = new Set(participants.map((p) => p.agent_id));
      for (const a of agents.filter((a) => !here.has(a.id))) agentSelect.append(h("option", { value: a.id }, `${a.name} (@${a.handle})`));
    }).catch(() => {});
    const addAgent = h("button", { type: "button", class: "secondary", onclick: () => agentSelect.value && act(() => roomsApi.addParticipant(id, { kind: "agent", agent_id: agentSelect.value }), "Agent added") }, "Add agent");
    return h("div", { class: "settings-adders" }, field("Add a person", search), found, h("div", { class: "settings-row" }, agentSelect, addAgent));
  }

  function mine() {
    const box = h("input", { type: "checkbox", name: "muted", checked: muted, id: `mute-${id}` });
    box.addEventListener("change", () => act(async () => {
      muted = (await roomsApi.mute(id, box.checked)).muted;
    }, box.checked ? "Muted: no notifications from this conversation" : "Unmuted"));
    return h("div", { class: "settings-row" }, box, h("label", { for: box.id }, " Mute notifications (unread is still counted)"));
  }

  function ownerActions() {
    if (!isOwner()) return null;
    const archived = Boolean(room.archived_at);
    return h("div", { class: "settings-row owner-actions" },
      h("button", { type: "button", class: "secondary", onclick: () => act(() => roomsApi.archive(id, !archived), archived ? "Unarchived" : "Archived") }, archived ? "Unarchive" : "Archive"),
      h("button", { type: "button", class: "danger", onclick: () => {
        if (!window.confirm(`Delete "${room.title}" and all its messages for everyone?`)) return;
        act(async () => {
          await roomsApi.remove(id);
          navigate("#/");
        }, "Conversation deleted");
      } }, "Delete conversation"),
    );
  }

  function render() {
    clear(body).append(
      titleForm(),
      policyForm(),
      h("h3", {}, "People and agents"),
      h("ul", { class: "settings-people" }, participants.map(person)),
      adders(),
      h("h3", {}, "For me"),
      mine(),
      ownerActions(),
    );
  }

  async function reload() {
    try {
      room = await api.conversation(id);
      participants = room.participants || [];
      if (!panel.hidden) render();
    } catch {
      // Removed from the room: the room view says so.
    }
  }

  toggle.addEventListener("click", async () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) {
      muted = (await roomsApi.readState(id).catch(() => ({ muted }))).muted;
      render();
      panel.querySelector("input, select, button")?.focus();
    }
  });

  const mineFrame = (f) => f.conversation_id === id;
  const offs = [
    socket.on("conversation.updated", (f) => {
      if (!mineFrame(f)) return;
      room = { ...room, ...f.conversation };
      titleEl.textContent = room.title || "Conversation";
      if (!panel.hidden) render();
    }),
    socket.on("participant.added", (f) => mineFrame(f) && reload()),
    socket.on("participant.removed", (f) => mineFrame(f) && reload()),
    socket.on("participant.updated", (f) => mineFrame(f) && reload()),
    socket.on("conversation.deleted", (f) => {
      if (!mineFrame(f)) return;
      announce("This conversation was deleted");
      navigate("#/");
    }),
  ];
  return () => {
    offs.forEach((off) => off());
    panel.remove();
    toggle.remove();
  };
}
