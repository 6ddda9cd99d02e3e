// The asset library (#/assets): everything the student saved, by step, to edit or archive.

import { h, clear, field, errorBox, showError, announce } from "../dom.js";
import { course } from "../course/api.js";

const STATUSES = ["Draft", "Implemented", "Archived"];

function assetEditor(asset, reload) {
  const content = h("textarea", { rows: "5", name: "content" });
  content.value = asset.content;
  const status = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s, selected: s === asset.status }, s)));
  const error = errorBox();
  const form = h("form", { class: "card asset", "aria-label": `${asset.asset_type} (${asset.elevate_step})` },
    h("h3", {}, h("span", { class: "tag" }, asset.elevate_step), " ", asset.asset_type, asset.channel ? h("span", { class: "muted" }, ` · ${asset.channel}`) : null),
    field("Content", content), field("Status", status), error,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await course.updateAsset(asset.id, { content: content.value, status: status.value });
      announce("Asset saved");
      await reload();
    } catch (err) {
      showError(error, err);
    }
  });
  return form;
}

export async function mountAssets(main) {
  const heading = h("h1", { tabindex: "-1" }, "Your assets");
  const list = h("div", { class: "asset-library" });
  const reload = async () => {
    const assets = await course.assets();
    list.replaceChildren(...(assets.length ? assets.map((a) => assetEditor(a, reload)) : [h("p", { class: "empty" }, "No assets yet.")]));
  };
  clear(main).append(h("section", { class: "page course" }, h("p", {}, h("a", { href: "#/course" }, "← Course map")), heading, list));
  await reload();
  heading.focus();
}
