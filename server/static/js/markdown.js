// Messages as markdown: marked turns the raw text into HTML, DOMPurify keeps only safe markup,
// highlight.js colours fenced code. Stored content stays the raw text; this is only its view.
//
// Raw HTML typed in a message is shown as text, never as markup. Links open in a new tab with
// rel="noopener noreferrer" and only for http(s), mailto and in-page addresses; anything else
// (javascript:, data:, vbscript:) loses its href. Every code block gets a copy button.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.mjs";
import hljs from "../vendor/highlightjs/core.min.js";
import bash from "../vendor/highlightjs/languages/bash.min.js";
import css from "../vendor/highlightjs/languages/css.min.js";
import go from "../vendor/highlightjs/languages/go.min.js";
import java from "../vendor/highlightjs/languages/java.min.js";
import javascript from "../vendor/highlightjs/languages/javascript.min.js";
import json from "../vendor/highlightjs/languages/json.min.js";
import plaintext from "../vendor/highlightjs/languages/plaintext.min.js";
import python from "../vendor/highlightjs/languages/python.min.js";
import rust from "../vendor/highlightjs/languages/rust.min.js";
import shell from "../vendor/highlightjs/languages/shell.min.js";
import sql from "../vendor/highlightjs/languages/sql.min.js";
import typescript from "../vendor/highlightjs/languages/typescript.min.js";
import xml from "../vendor/highlightjs/languages/xml.min.js";
import yaml from "../vendor/highlightjs/languages/yaml.min.js";
import { copyText } from "./clipboard.js";

const LANGUAGES = { bash, css, go, java, javascript, json, plaintext, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, grammar] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, grammar);

const SAFE_HREF = /^(?:https?:|mailto:|#)/i;
const SAFE_SRC = /^https?:/i;
const MENTION = /(^|\s)(@[\w.-]+)/g;
// Long messages are shown as text past this size: a renderer should never stall the page.
const MAX_MARKDOWN_CHARS = 100_000;

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Typed HTML is content, not markup.
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const name = (lang || "").trim().split(/\s+/)[0].toLowerCase();
      const known = name && hljs.getLanguage(name);
      const body = known ? hljs.highlight(text, { language: name, ignoreIllegals: true }).value : escapeHtml(text);
      return `<pre><code class="hljs${known ? ` language-${escapeHtml(name)}` : ""}">${body}</code></pre>`;
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    const href = node.getAttribute("href") || "";
    if (!SAFE_HREF.test(href.trim())) node.removeAttribute("href");
    if (node.hasAttribute("href") && !href.startsWith("#")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  }
  if (node.nodeName === "IMG" && !SAFE_SRC.test((node.getAttribute("src") || "").trim())) {
    node.removeAttribute("src");
  }
});

const PURIFY = {
  FORBID_TAGS: ["style", "form", "button", "textarea", "select", "iframe", "object", "embed", "svg", "math"],
  FORBID_ATTR: ["style", "id", "name"],
  ADD_ATTR: ["target"],
  ALLOW_DATA_ATTR: false,
  ADD_DATA_URI_TAGS: [],
  RETURN_DOM_FRAGMENT: true,
};

// Highlight @mentions in text outside code and links, as the plain transcript did.
function markMentions(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) if (node.nodeValue.includes("@")) nodes.push(node);
  for (const node of nodes) {
    const text = node.nodeValue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(MENTION)) {
      const start = match.index + match[1].length;
      parts.append(text.slice(last, start));
      const span = document.createElement("span");
      span.className = "mention";
      span.textContent = match[2];
      parts.append(span);
      last = start + match[2].length;
    }
    if (!last) continue;
    parts.append(text.slice(last));
    node.replaceWith(parts);
  }
}

// A copy button on each code block; its label comes from CSS so the block's text stays the code.
function addCodeTools(root) {
  for (const pre of root.querySelectorAll("pre")) {
    const code = pre.querySelector("code") || pre;
    // The sanitizer drops data attributes; the language survives as the code's class.
    const lang = (/\blanguage-([\w-]+)/.exec(code.className) || [])[1] || "";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.setAttribute("aria-label", lang ? `Copy ${lang} code` : "Copy code");
    button.addEventListener("click", async () => {
      const ok = await copyText(code.textContent);
      button.dataset.state = ok ? "copied" : "failed";
      setTimeout(() => delete button.dataset.state, 1500);
    });
    const wrap = document.createElement("div");
    wrap.className = "codeblock";
    if (lang) wrap.dataset.lang = lang;
    pre.replaceWith(wrap);
    wrap.append(pre, button);
  }
}

// Blocks are separated by newlines in marked's output; they are layout, not text.
function dropLayoutWhitespace(fragment) {
  for (const node of [...fragment.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE && !node.nodeValue.trim()) node.remove();
  }
}

// A DocumentFragment showing `text` as sanitized markdown.
export function renderMarkdown(text) {
  const source = String(text || "");
  if (source.length > MAX_MARKDOWN_CHARS) {
    const p = document.createElement("p");
    p.textContent = source;
    const fragment = document.createDocumentFragment();
    fragment.append(p);
    return fragment;
  }
  const fragment = DOMPurify.sanitize(marked.parse(source), PURIFY);
  dropLayoutWhitespace(fragment);
  markMentions(fragment);
  addCodeTools(fragment);
  return fragment;
}

// Put `text` into `el` as markdown, replacing what was there.
export function renderInto(el, text) {
  el.replaceChildren(renderMarkdown(text));
  el.classList.add("markdown");
}

// Streaming: a reply grows by many small deltas. Re-render the same element at most once per
// animation frame (a timer stands in where frames are not drawn, e.g. a hidden tab), so the
// text grows in place without rebuilding the transcript or flickering.
// `around(render)` runs the render (e.g. inside a keep-scrolled-to-the-bottom wrapper).
const pending = new Map(); // element -> {text, around, frame, timer}

export function streamInto(el, text, around = (render) => render()) {
  const entry = pending.get(el);
  if (entry) {
    entry.text = text;
    return;
  }
  const next = { text, around, frame: 0, timer: 0 };
  const run = () => flushStream(el);
  next.frame = requestAnimationFrame(run);
  next.timer = setTimeout(run, 100);
  pending.set(el, next);
}

// Render now whatever is waiting for `el` (before something else is appended to it).
export function flushStream(el) {
  const entry = pending.get(el);
  if (!entry) return;
  pending.delete(el);
  cancelAnimationFrame(entry.frame);
  clearTimeout(entry.timer);
  entry.around(() => renderInto(el, entry.text));
}
