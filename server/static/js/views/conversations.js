// The form that starts a new conversation with people, agents, a group and a policy.

import { api } from "../api.js";
import { h, clear, field, errorBox, showError, nextId } from "../dom.js";

const SPEAKERS = [
  ["", "Default: agents answer when @mentioned (a lone agent always answers)"],
  ["mentions", "Only when @mentioned"],
  ["round_robin", "Round robin: agents take turns"],
  ["selector", "Selector: a model picks the best agent"],
];
const MID_TURN = [
  ["", "Default: queue it until the reply ends"],
  ["queue", "Queue it"],
  ["interrupt", "Interrupt the running reply"],
  ["reject", "Reject it"],
  ["coalesce", "Coalesce queued messages into one"],
];

function select(name, options) {
  return h("select", { name }, options.map(([value, label]) => h("option", { value }, label)));
}

export async function mountNewConversation(main, { me, navigate, groupId }) {
  const [agents, groups] = await Promise.all([api.agents(), api.groups().catch(() => [])]);
  const title = h("input", { type: "text", name: "title", required: true, maxlength: "300" });
  const group = h("select", { name: "group" },
    h("option", { value: "" }, "No group"),
    groups.map((g) => h("option", { value: g.id, selected: g.id === groupId }, g.name)),
  );
  const speaker = select("speaker", SPEAKERS);
  const midTurn = select("mid_turn", MID_TURN);
  const maxTurns = h("input", { type: "number", name: "max_agent_turns", min: "1", max: "50", inputmode: "numeric" });
  const error = errorBox();

  const agentBoxes = agents.map((a) => {
    const box = h("input", { type: "checkbox", name: "agents", value: a.id, id: nextId("agent") });
    return h("li", {}, box, " ", h("label", { for: box.id }, a.name, a.handle ? h("span", { class: "muted" }, ` @${a.handle}`) : null,
      a.description ? h("small", { class: "hint block" }, a.description) : null));
  });

  // People are searched on the server; the chosen ones stay as removable chips.
  const chosen = new Map();
  const chips = h("ul", { class: "chips", "aria-label": "People added", "aria-live": "polite" });
  const results = h("ul", { class: "search-results", "aria-label": "People found" });
  const search = h("input", { type: "search", name: "people", autocomplete: "off", placeholder: "Name or email" });
  const renderChips = () => {
    clear(chips);
    for (const u of chosen.values()) {
      chips.append(h("li", { class: "chip" }, u.name, " ",
        h("button", { type: "button", class: "link", "aria-label": `Remove ${u.name}`, onclick: () => {
          chosen.delete(u.id);
          renderChips();
          search.focus();
        } }, "×")));
    }
  };
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const query = search.value.trim();
      clear(results);
      if (!query) return;
      try {
        const users = (await api.users(query)).filter((u) => u.id !== me.id);
        if (!users.length) results.append(h("li", { class: "muted" }, "Nobody found"));
        for (const u of users) {
          results.append(h("li", {}, h("button", { type: "button", class: "secondary", onclick: () => {
            chosen.set(u.id, u);
            renderChips();
            clear(results);
            search.value = "";
            search.focus();
          } }, `Add ${u.name}`), u.email ? h("span", { class: "muted" }, ` ${u.email}`) : null));
        }
      } catch (err) {
        results.append(h("li", { class: "error" }, err.message));
      }
    }, 250);
  });

  const heading = h("h1", { tabindex: "-1" }, "New conversation");
  const submit = h("button", { type: "submit" }, "Create conversation");
  const form = h("form", { class: "card wide" },
    heading,
    field("Title", title),
    h("fieldset", {}, h("legend", {}, "Agents"),
      agents.length ? h("ul", { class: "checklist" }, agentBoxes) : h("p", { class: "muted" }, "No agents yet. ", h("a", { href: "#/agents/new" }, "Create one"), ".")),
    h("fieldset", {}, h("legend", {}, "People"), field("Find people", search), results, chips),
    groups.length ? field("Group", group, "Members of the group can read and post too.") : null,
    h("fieldset", {}, h("legend", {}, "Who speaks"),
      field("When no agent is mentioned", speaker),
      field("A message sent while an agent replies", midTurn),
      field("Agent turns per message (loop guard)", maxTurns, "Leave empty for the server's default.")),
    error,
    submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(error, null);
    const participants = [
      ...[...chosen.keys()].map((userId) => ({ kind: "user", user_id: userId })),
      ...agentBoxes.map((li) => li.querySelector("input")).filter((b) => b.checked).map((b) => ({ kind: "agent", agent_id: b.value })),
    ];
    const policy = {};
    if (speaker.value) policy.speaker = speaker.value;
    if (midTurn.value) policy.mid_turn = midTurn.value;
    if (maxTurns.value) policy.max_agent_turns = Number(maxTurns.value);
    const body = { title: title.value.trim(), participants };
    if (group.value) body.group_id = group.value;
    if (Object.keys(policy).length) body.policy = policy;
    if (!body.title) {
      showError(error, new Error("Give the conversation a title."));
      title.focus();
      return;
    }
    submit.disabled = true;
    try {
      const created = await api.createConversation(body);
      navigate(`#/c/${encodeURIComponent(created.id)}`);
    } catch (err) {
      showError(error, err);
      error.focus?.();
    } finally {
      submit.disabled = false;
    }
  });
  clear(main).append(h("section", { class: "page" }, form));
  title.focus();
}
