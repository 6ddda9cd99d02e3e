// Attachments: the composer's tray (pick files, upload each at once, show and remove them before
// sending) and the attachment list under a message (image thumbnails, file chips that download).
// Bytes are fetched with the bearer token, so an <img> or link never needs a cookie or a token
// in its URL; images become data: URLs (the page's CSP allows those), downloads a blob link.

import { ApiError, request, session } from "./api.js";
import { h, clear, announce } from "./dom.js";

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

async function fetchBytes(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, "The file is not available.");
  return response.blob();
}

// A protected image (an attachment, an avatar) shown in `img` once fetched.
export async function showImage(img, path) {
  const blob = await fetchBytes(path);
  const reader = new FileReader();
  reader.onload = () => {
    img.src = reader.result;
  };
  reader.readAsDataURL(blob);
}

async function download(attachment) {
  const blob = await fetchBytes(contentPath(attachment.upload_id));
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: attachment.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const contentPath = (id) => `/api/uploads/${encodeURIComponent(id)}/content`;

export async function upload(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  const response = await fetch("/api/uploads", {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}`, Accept: "application/json" },
    body,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.code || `http_${response.status}`, data?.message || "Upload failed");
  return data;
}

function describe(a) {
  const parts = [a.kind === "pdf" ? "PDF" : a.kind === "image" ? "image" : "file"];
  if (a.pages) parts.push(`${a.pages} page${a.pages === 1 ? "" : "s"}`);
  parts.push(formatSize(a.size));
  return parts.join(", ");
}

// The uploads a message carries, or null when it has none.
export function attachmentList(message) {
  const items = (message.attachments || []).filter((a) => a && a.type === "upload" && a.upload_id);
  if (!items.length) return null;
  return h("ul", { class: "attachments", "aria-label": "Attachments" }, items.map(attachmentItem));
}

function attachmentItem(a) {
  const label = `${a.name} (${describe(a)})`;
  const button = h("button", { type: "button", class: "file-chip", "aria-label": `Download ${label}`, title: `Download ${label}`, dataset: { uploadId: a.upload_id } },
    h("span", { class: "file-name" }, a.name), " ", h("small", {}, describe(a)));
  button.addEventListener("click", () => download(a).catch((err) => announce(err.message)));
  const item = h("li", { class: `attachment kind-${a.kind}` });
  if (a.kind === "image") {
    const img = h("img", { class: "thumb", alt: a.name, loading: "lazy" });
    showImage(img, contentPath(a.upload_id)).catch(() => img.replaceWith(h("span", { class: "thumb missing" }, "image unavailable")));
    item.append(img);
  }
  item.append(button);
  return item;
}

// The composer's tray: a button that opens the file picker, and the files ready to send.
export class AttachmentTray {
  constructor({ onError }) {
    this.items = [];
    this.onError = onError;
    this.input = h("input", { type: "file", multiple: true, class: "visually-hidden", tabindex: "-1", "aria-hidden": "true" });
    this.button = h("button", { type: "button", class: "attach", "aria-label": "Attach files" }, "Attach");
    this.list = h("ul", { class: "tray", "aria-label": "Files to send", hidden: true });
    this.el = h("div", { class: "attach-tray" }, this.input, this.button, this.list);
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const files = [...this.input.files];
      this.input.value = "";
      for (const file of files) this.add(file);
    });
  }

  async add(file) {
    const entry = { name: file.name, size: file.size, upload: null };
    this.items.push(entry);
    this.render();
    try {
      entry.upload = await upload(file);
      announce(`${file.name} is ready to send`);
    } catch (err) {
      this.items = this.items.filter((i) => i !== entry);
      this.onError(`${file.name}: ${err.message}`, err.code);
    }
    this.render();
  }

  get busy() {
    return this.items.some((i) => !i.upload);
  }

  ids() {
    return this.items.filter((i) => i.upload).map((i) => i.upload.id);
  }

  clear() {
    this.items = [];
    this.render();
  }

  remove(entry) {
    this.items = this.items.filter((i) => i !== entry);
    if (entry.upload) request("DELETE", `/uploads/${encodeURIComponent(entry.upload.id)}`).catch(() => {});
    this.render();
  }

  render() {
    clear(this.list);
    this.list.hidden = !this.items.length;
    for (const entry of this.items) {
      const what = entry.upload ? describe(entry.upload) : "uploading…";
      this.list.append(
        h("li", { class: `tray-item${entry.upload ? "" : " uploading"}` },
          h("span", { class: "file-name" }, entry.name), " ", h("small", {}, what),
          h("button", { type: "button", class: "link", "aria-label": `Remove ${entry.name}`, onclick: () => this.remove(entry) }, "×"),
        ),
      );
    }
  }
}
