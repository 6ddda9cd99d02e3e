// The Elevate course: the course map (#/course) and a module page (#/course/<id>), and the
// dispatcher for the course's other pages (#/foundation, #/assets).

import { h, clear, field, errorBox, showError, announce } from "../dom.js";
import { course, runPrompt, streamRun, outputText, useCourseStyles } from "../course/api.js";
import { mountFoundation, labelOf } from "./foundation.js";
import { mountAssets } from "./assets.js";
import { mountRoom } from "./room.js";
import { staffModuleEditor, staffNewModule, staffNewPrompt, staffPromptEditor } from "./course_admin.js";

const STATUSES = ["Not Started", "In Progress", "Completed"];

export async function mountCourse(main, { section, id, me, socket, navigate }) {
  useCourseStyles();
  if (section === "foundation") return mountFoundation(main, { focusPath: id });
  if (section === "assets") return mountAssets(main);
  if (id) return mountModule(main, { id, me, socket, navigate });
  return mountCourseMap(main, { me });
}

function statusTag(status) {
  const kind = status === "Completed" ? "done" : status === "In Progress" ? "doing" : "todo";
  return h("span", { class: `status status-${kind}` }, status);
}

export async function mountCourseMap(main, { me } = {}) {
  const [modules, overview] = await Promise.all([course.modules(), course.overview()]);
  const heading = h("h1", { tabindex: "-1" }, "Your course");
  const list = h("ol", { class: "course-map", "aria-label": "Course modules" });
  for (const m of modules) {
    const total = m.checklist_items.length;
    list.append(
      h("li", { class: "module-card", dataset: { step: m.step, status: m.status } },
        h("a", { href: `#/course/${encodeURIComponent(m.id)}` },
          h("span", { class: "module-number" }, m.module_number === 0 ? "0" : String(m.module_number)),
          h("span", { class: "module-title" }, m.title),
        ),
        statusTag(m.status),
        h("p", { class: "hint" }, m.objective),
        h("progress", { max: String(total || 1), value: String(m.completed_checklist), "aria-label": `${m.step} checklist` }),
        h("small", { class: "muted" }, ` ${m.completed_checklist} of ${total} checklist items`),
      ),
    );
  }
  const next = modules.find((m) => m.id === overview.continue_module_id);
  clear(main).append(
    h("section", { class: "page course" },
      h("div", { class: "page-head" }, heading,
        h("div", { class: "actions" },
          h("a", { class: "button secondary", href: "#/foundation" }, "Foundation"),
          h("a", { class: "button secondary", href: "#/assets" }, "Assets"))),
      h("p", { class: "course-summary" },
        h("strong", { class: "completion" }, `${overview.completion_percent}% complete`),
        ` (${overview.modules_completed} of ${overview.modules} modules). Foundation ${Math.round(overview.foundation_completeness.overall * 100)}% filled.`),
      next ? h("p", {}, h("a", { class: "button", href: `#/course/${encodeURIComponent(next.id)}` }, `Continue: ${next.title.split(":")[0]}`)) : null,
      list,
      me?.is_staff ? staffNewModule(modules) : null,
    ),
  );
  heading.focus();
}

function paragraphs(text) {
  return (text || "").split(/\n\s*\n/).map((p) => h("p", { class: "prewrap" }, p.trim()));
}

function gridView(grid) {
  if (!grid) return null;
  const cells = [];
  for (const g of grid.grids || []) cells.push(h("li", {}, h("strong", {}, g.name), `: ${(g.cells || []).map(labelOf).join(", ")}`));
  if (grid.uses) cells.push(h("li", {}, h("strong", {}, "From your Foundation"), `: ${grid.uses.map(labelOf).join(", ")}`));
  for (const c of grid.cells || []) cells.push(h("li", {}, h("strong", {}, c.label), c.hint ? `: ${c.hint}` : ""));
  return h("section", { class: "card" }, h("h2", {}, "Grid"), grid.description ? h("p", { class: "hint block" }, grid.description) : null, h("ul", {}, cells));
}

async function mountModule(main, { id, me, socket }) {
  const module = await course.module(id);
  const heading = h("h1", { tabindex: "-1" }, module.title);
  const statusLine = h("p", { class: "module-status" }, "Status: ", statusTag(module.progress.status));
  const refreshStatus = async () => {
    const fresh = await course.module(id);
    statusLine.replaceChildren("Status: ", statusTag(fresh.progress.status));
    statusSelect.value = fresh.progress.status;
  };
  const statusSelect = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s, selected: s === module.progress.status }, s)));
  const notes = h("textarea", { name: "notes", rows: "3" });
  notes.value = module.progress.notes || "";
  const progressError = errorBox();
  const progressForm = h("form", { class: "card", "aria-label": "Your progress" },
    h("h2", {}, "Your progress"),
    field("Module status", statusSelect),
    field("Notes", notes),
    progressError,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save progress")),
  );
  progressForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await course.setProgress(id, { status: statusSelect.value, notes: notes.value });
      await refreshStatus();
      announce("Progress saved");
    } catch (err) {
      showError(progressError, err);
    }
  });

  const checked = new Set(module.progress.checked);
  const checklist = h("ul", { class: "checklist", "aria-label": "Checklist" },
    module.checklist_items.map((item, index) => {
      const box = h("input", { type: "checkbox", id: `check-${index}`, checked: checked.has(index) });
      box.addEventListener("change", async () => {
        await course.tick(id, index, box.checked);
        await refreshStatus();
        announce(box.checked ? "Ticked" : "Unticked");
      });
      return h("li", {}, box, " ", h("label", { for: box.id }, item));
    }),
  );

  const assetsList = h("ul", { class: "asset-list", "aria-label": "Assets of this step" });
  const loadAssets = async () => {
    const assets = await course.assets(module.step);
    assetsList.replaceChildren(...(assets.length
      ? assets.map((a) => h("li", { class: "asset" }, h("strong", {}, a.asset_type), " ", h("span", { class: "tag" }, a.status), a.channel ? h("span", { class: "muted" }, ` ${a.channel}`) : null, h("pre", {}, a.content)))
      : [h("li", { class: "empty" }, "No assets yet: run a prompt and save the result.")]));
  };

  const roomBox = h("div", { class: "module-room" });
  const prompts = h("div", { class: "prompts" },
    module.playbook_prompts.map((p) => promptCard(p, module, { onSaved: loadAssets, onRun: refreshStatus, me })),
  );

  clear(main).append(
    h("section", { class: "page course module" },
      h("p", {}, h("a", { href: "#/course" }, "← Course map")),
      heading,
      statusLine,
      h("p", { class: "objective" }, h("strong", {}, "Objective: "), module.objective),
      module.conversation_id
        ? h("p", {}, h("a", { class: "button", href: `#/c/${encodeURIComponent(module.conversation_id)}` }, "Talk to your step agent"),
          h("small", { class: "hint" }, " Your own conversation for this module; invite a coach or a teammate from its participants."))
        : null,
      h("section", { class: "card lesson" }, h("h2", {}, "Lesson"), paragraphs(module.text_content)),
      gridView(module.grid_definition),
      h("section", { class: "card" }, h("h2", {}, "Checklist"), checklist),
      module.implementation_guide ? h("section", { class: "card" }, h("h2", {}, "Implementation guide"), h("p", { class: "prewrap" }, module.implementation_guide)) : null,
      module.example_text ? h("section", { class: "card" }, h("h2", {}, "Example"), h("p", { class: "prewrap" }, module.example_text)) : null,
      module.playbook_prompts.length ? h("section", {}, h("h2", {}, "Playbook prompts"), prompts) : null,
      h("section", { class: "card" }, h("h2", {}, "Your assets for this step"), assetsList),
      module.conversation_id ? h("section", { class: "card" }, h("h2", {}, "Your step agent"), roomBox) : null,
      progressForm,
      me?.is_staff ? staffModuleEditor(module) : null,
      me?.is_staff ? staffNewPrompt(module) : null,
    ),
  );
  await loadAssets();
  // The student's own conversation with the step agent, embedded (the room view as is).
  const leave = module.conversation_id && socket
    ? await mountRoom(roomBox, { id: module.conversation_id, socket, me })
    : null;
  heading.focus();
  return leave;
}

function contextList(refs) {
  return h("ul", { class: "context", "aria-label": "Required context" },
    refs.map((r) => h("li", { class: r.filled ? "filled" : "missing", dataset: { path: r.path } },
      r.filled ? `✓ ${r.label}` : `✗ ${r.label} (missing) `,
      r.filled ? null : h("a", { href: `#/foundation/${encodeURIComponent(r.path)}` }, `Fill ${r.label}`))),
  );
}

function promptCard(prompt, module, { onSaved, onRun, me }) {
  const context = contextList(prompt.required_context);
  const output = h("pre", { class: "run-output", "aria-live": "polite", hidden: true });
  const state = h("p", { class: "run-state", role: "status" });
  const error = errorBox();
  const saveBox = h("div", { class: "save-asset", hidden: true });
  const runButton = h("button", { type: "button" }, `Run ${prompt.prompt_code}`);
  runButton.addEventListener("click", async () => {
    showError(error, null);
    saveBox.hidden = true;
    runButton.disabled = true;
    try {
      const started = await runPrompt(prompt.prompt_code);
      if (started.missing) {
        context.replaceWith(contextList(prompt.required_context.map((r) => ({ ...r, filled: !started.missing.some((m) => m.path === r.path) }))));
        showError(error, { message: `Fill these Foundation fields first: ${started.missing.map((m) => m.label).join(", ")}` });
        return;
      }
      output.hidden = false;
      output.textContent = "";
      state.textContent = "Running…";
      const done = await streamRun(started.execution.id, (text) => { output.textContent += text; });
      await onRun();
      if (done.status === "Success") {
        output.textContent = outputText(done.ai_response);
        state.textContent = "Done";
        saveBox.replaceChildren(assetForm(done, module, onSaved, saveBox));
        saveBox.hidden = false;
      } else {
        state.textContent = "Failed";
        showError(error, { message: done.error || "The run failed" });
      }
    } catch (err) {
      showError(error, err);
    } finally {
      runButton.disabled = false;
    }
  });
  return h("article", { class: "card prompt", dataset: { code: prompt.prompt_code } },
    h("h3", {}, h("span", { class: "tag" }, prompt.prompt_code), " ", prompt.title),
    h("p", {}, prompt.description),
    h("p", { class: "hint block" }, `Output: ${prompt.output_type}`),
    h("h4", {}, "Needs from your Foundation"),
    context,
    h("details", {}, h("summary", {}, "ROCKET template"), h("pre", {}, prompt.rocket_template)),
    h("div", { class: "actions" }, runButton),
    state, error, output, saveBox,
    me?.is_staff ? staffPromptEditor(prompt) : null,
  );
}

function assetForm(execution, module, onSaved, box) {
  const type = h("input", { type: "text", name: "asset_type", value: module.step === "Hook" ? "Headline" : "Draft" });
  const channel = h("input", { type: "text", name: "channel", placeholder: "e.g. Facebook Ads" });
  const content = h("textarea", { name: "content", rows: "6" });
  content.value = outputText(execution.ai_response);
  const error = errorBox();
  const form = h("form", { class: "asset-form", "aria-label": "Save as asset" },
    field("Asset type", type), field("Channel", channel), field("Content", content, "Edit it into the version you will use."),
    error, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save as asset")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await course.createAsset({
        elevate_step: module.step, asset_type: type.value, content: content.value,
        channel: channel.value || null, prompt_execution_id: execution.id,
      });
      box.replaceChildren(h("p", { class: "saved", role: "status" }, "Saved to your assets"));
      await onSaved();
    } catch (err) {
      showError(error, err);
    }
  });
  return form;
}
