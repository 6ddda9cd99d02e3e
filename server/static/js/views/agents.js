// Agents: the list, the editor (definition, delegates, granted tools with their limits) and the
// memories an agent keeps.

import { api } from "../api.js";
import { h, clear, field, errorBox, showError, nextId, announce } from "../dom.js";

export async function mountAgentList(main) {
  const agents = await api.agents();
  const heading = h("h1", { tabindex: "-1", id: "agents-heading" }, "Agents");
  const list = h("ul", { class: "agent-list", "aria-labelledby": "agents-heading" });
  for (const a of agents) {
    list.append(
      h("li", { class: "agent-card" },
        h("a", { href: `#/agents/${encodeURIComponent(a.id)}`, dataset: { agentId: a.id } },
          h("span", { class: "agent-name" }, a.name),
          a.handle ? h("span", { class: "muted" }, ` @${a.handle}`) : null,
        ),
        a.kind === "system_agent" ? h("span", { class: "tag" }, "built-in") : null,
        a.description ? h("p", { class: "hint" }, a.description) : null,
      ),
    );
  }
  clear(main).append(
    h("section", { class: "page" },
      h("div", { class: "page-head" }, heading, h("a", { class: "button", href: "#/agents/new" }, "New agent")),
      agents.length ? list : h("p", { class: "empty" }, "No agents yet."),
    ),
  );
  heading.focus();
}

const PROFILE_FIELDS = new Set(["name", "handle", "description"]);

const TEXT_FIELDS = [
  ["name", "Name", "input", "Shown in the transcript."],
  ["handle", "Handle", "input", "What people type after @ to call this agent. Letters, digits, - and _."],
  ["description", "Description", "textarea", "One line; the selector policy reads it to choose who speaks."],
  ["model", "Model", "input", "provider:model, e.g. openai:gpt-4o-mini. Empty: the server's default."],
  ["instructions", "Instructions", "textarea", null],
  ["personality", "Personality", "textarea", null],
  ["goal", "Goal", "textarea", null],
  ["system_prompt", "System prompt", "textarea", "Replaces the generated system prompt when set."],
];

export async function mountAgentEditor(main, { id, navigate }) {
  const isNew = !id || id === "new";
  const [agent, agents] = await Promise.all([isNew ? Promise.resolve({}) : api.agent(id), api.agents()]);
  const controls = {};
  // Others see an agent's public profile only: its definition is for its editors.
  const readOnly = agent.can_edit === false;
  const shown = readOnly ? TEXT_FIELDS.filter(([key]) => PROFILE_FIELDS.has(key)) : TEXT_FIELDS;
  const fields = shown.map(([key, label, tag, hint]) => {
    const control = tag === "textarea"
      ? h("textarea", { name: key, rows: key === "description" ? "2" : "4" })
      : h("input", { type: "text", name: key, autocomplete: "off" });
    control.value = agent[key] ?? "";
    control.readOnly = readOnly;
    if (key === "name") control.required = true;
    if (key === "handle") control.setAttribute("pattern", "[A-Za-z0-9_.\\-]+");
    controls[key] = control;
    return field(label, control, hint);
  });
  const delegates = new Set(agent.delegates_to || []);
  const delegateBoxes = agents.filter((a) => a.id !== agent.id).map((a) => {
    const box = h("input", { type: "checkbox", value: a.id, id: nextId("delegate"), checked: delegates.has(a.id) });
    return h("li", {}, box, " ", h("label", { for: box.id }, a.name, a.handle ? h("span", { class: "muted" }, ` @${a.handle}`) : null));
  });
  const error = errorBox();
  const saved = h("span", { class: "saved", role: "status" });
  const submit = readOnly ? null : h("button", { type: "submit" }, isNew ? "Create agent" : "Save changes");
  const heading = h("h1", { tabindex: "-1" }, isNew ? "New agent" : `Edit ${agent.name}`);
  const form = h("form", { class: "card wide agent-form" },
    heading,
    agent.version ? h("p", { class: "muted" }, `Version ${agent.version}. Edits apply from the next turn.`) : null,
    readOnly ? h("p", { class: "muted" }, "Only its creator or staff can see its instructions and edit this agent.") : null,
    fields,
    readOnly ? null : h("fieldset", {}, h("legend", {}, "May delegate to"),
      delegateBoxes.length ? h("ul", { class: "checklist" }, delegateBoxes) : h("p", { class: "muted" }, "No other agents.")),
    error,
    h("div", { class: "actions" }, submit, saved),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (readOnly) return;
    showError(error, null);
    const body = {};
    for (const [key] of TEXT_FIELDS) {
      const value = controls[key].value.trim();
      // An empty handle means "derive one from the name", which only creation supports.
      if (key === "handle" && !value) continue;
      body[key] = value;
    }
    body.delegates_to = delegateBoxes.map((li) => li.querySelector("input")).filter((b) => b.checked).map((b) => b.value);
    if (!body.name) {
      showError(error, new Error("An agent needs a name."));
      controls.name.focus();
      return;
    }
    submit.disabled = true;
    try {
      if (isNew) {
        const created = await api.createAgent(body);
        announce(`Agent ${created.name} created`);
        navigate(`#/agents/${encodeURIComponent(created.id)}`);
      } else {
        const updated = await api.updateAgent(agent.id, body);
        saved.textContent = `Saved (version ${updated?.version ?? "?"})`;
      }
    } catch (err) {
      showError(error, err);
    } finally {
      submit.disabled = false;
    }
  });

  const sections = [form];
  if (!isNew) {
    sections.push(await toolsSection(agent), await memoriesSection(agent));
    if (agent.can_edit !== false) sections.push(dangerSection(agent, navigate));
  }
  clear(main).append(h("section", { class: "page agent-page" }, sections));
  heading.focus();
}

function grantName(grant) {
  return grant.tool_name || grant.name || grant.tool?.name || (typeof grant.tool === "string" ? grant.tool : "");
}

async function toolsSection(agent) {
  const [tools, grants] = await Promise.all([api.tools(), api.grants(agent.id)]);
  if (agent.can_edit === false) {
    // Grant configs (limits, fixed arguments) are its editors'; others see what it may use.
    const names = grants.map(grantName);
    return h("section", { class: "card wide", "aria-labelledby": "tools-heading" },
      h("h2", { id: "tools-heading" }, "Tools"),
      names.length
        ? h("ul", { class: "tool-grants" }, names.map((n) => h("li", { class: "tool-grant", dataset: { tool: n } }, h("code", {}, n))))
        : h("p", { class: "muted" }, "This agent uses no tools."),
    );
  }
  const granted = new Map(grants.map((g) => [grantName(g), g.config || {}]));
  const rows = tools.map((tool) => toolRow(agent, tool, granted.get(tool.name)));
  return h("section", { class: "card wide", "aria-labelledby": "tools-heading" },
    h("h2", { id: "tools-heading" }, "Tools"),
    tools.length ? h("ul", { class: "tool-grants" }, rows) : h("p", { class: "muted" }, "No tools are registered."),
  );
}

function toolRow(agent, tool, config) {
  const isGranted = config !== undefined;
  const cfg = config || {};
  const grantedBox = h("input", { type: "checkbox", id: nextId("grant"), checked: isGranted });
  const timeout = h("input", { type: "number", min: "0.1", step: "0.1", value: cfg.timeout_seconds ?? "" });
  const maxCalls = h("input", { type: "number", min: "1", step: "1", value: cfg.max_calls_per_turn ?? "" });
  const approval = h("input", { type: "checkbox", id: nextId("approval"), checked: Boolean(cfg.requires_approval) });
  const fixedArgs = h("textarea", { rows: "2", spellcheck: "false" });
  fixedArgs.value = cfg.fixed_args && Object.keys(cfg.fixed_args).length ? JSON.stringify(cfg.fixed_args, null, 2) : "";
  // Secret fixed arguments never come back from the server; saving keeps their stored values.
  const secrets = Array.isArray(cfg.secret_args) ? cfg.secret_args : [];
  const status = h("span", { class: "saved", role: "status" });
  const error = errorBox();
  const save = h("button", { type: "button", class: "secondary" }, "Save tool");
  const config_ = h("div", { class: "grant-config", hidden: !isGranted },
    field("Timeout (seconds)", timeout),
    field("Max calls per turn", maxCalls),
    h("div", { class: "field inline" }, approval, h("label", { for: approval.id }, "Ask a person to approve each call")),
    field("Fixed arguments (JSON object)", fixedArgs, "Always passed to the tool; the model cannot change them."),
    secrets.length ? h("p", { class: "hint" }, `Secret, kept and never shown: ${secrets.join(", ")}`) : null,
  );
  grantedBox.addEventListener("change", () => {
    config_.hidden = !grantedBox.checked;
  });
  save.addEventListener("click", async () => {
    showError(error, null);
    status.textContent = "";
    try {
      if (!grantedBox.checked) {
        await api.revoke(agent.id, tool.name);
        status.textContent = "Not granted";
        return;
      }
      const body = { requires_approval: approval.checked };
      if (timeout.value) body.timeout_seconds = Number(timeout.value);
      if (maxCalls.value) body.max_calls_per_turn = Number(maxCalls.value);
      if (fixedArgs.value.trim()) {
        let parsed;
        try {
          parsed = JSON.parse(fixedArgs.value);
        } catch {
          throw new Error("Fixed arguments must be valid JSON.");
        }
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new Error("Fixed arguments must be a JSON object.");
        }
        body.fixed_args = parsed;
      }
      if (secrets.length) body.secret_args = secrets;
      await api.grant(agent.id, tool.name, body);
      status.textContent = "Granted";
    } catch (err) {
      if (err.status === 404 && !grantedBox.checked) status.textContent = "Not granted";
      else showError(error, err);
    }
  });
  return h("li", { class: "tool-grant", dataset: { tool: tool.name } },
    h("div", { class: "field inline" }, grantedBox, h("label", { for: grantedBox.id }, h("code", {}, tool.name))),
    tool.description ? h("p", { class: "hint" }, tool.description) : null,
    config_,
    error,
    h("div", { class: "actions" }, save, status),
  );
}

async function memoriesSection(agent) {
  let memories = [];
  let failure = null;
  try {
    memories = await api.memories(agent.id);
  } catch (err) {
    failure = err;
  }
  const describeSource = (source) => {
    if (!source) return null;
    const bits = [];
    if (source.conversation_id) bits.push(h("a", { href: `#/c/${encodeURIComponent(source.conversation_id)}` }, "conversation"));
    if (source.seq || source.message_seq) bits.push(` message #${source.seq || source.message_seq}`);
    if (source.tool_call_id) bits.push(" via a tool call");
    return bits.length ? h("small", { class: "hint" }, "From ", bits) : null;
  };
  return h("section", { class: "card wide", "aria-labelledby": "memories-heading" },
    h("h2", { id: "memories-heading" }, "Memories"),
    failure ? h("p", { class: "error" }, failure.message) : null,
    !failure && !memories.length ? h("p", { class: "muted" }, "This agent remembers nothing yet.") : null,
    h("ul", { class: "memories" }, memories.map((m) =>
      h("li", {},
        h("span", { class: "tag" }, m.scope || "agent"),
        " ",
        m.content,
        " ",
        describeSource(m.source),
      ))),
  );
}

function dangerSection(agent, navigate) {
  const button = h("button", { type: "button", class: "danger" }, "Delete agent");
  const error = errorBox();
  button.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${agent.name}? Conversations keep its past messages.`)) return;
    try {
      await api.deleteAgent(agent.id);
      navigate("#/agents");
    } catch (err) {
      showError(error, err);
    }
  });
  return h("section", { class: "card wide" }, h("h2", {}, "Delete"), error, button);
}
