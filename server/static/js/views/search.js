// Search: a box in the top bar, and a page of hits (`#/search/<words>`) that each open the
// conversation at that message. Snippets come from the server escaped, with <mark> around
// the matches; the page rebuilds them as text and mark elements.

import { request } from "../api.js";
import { h, clear, formatTime } from "../dom.js";

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
const unescape = (text) => text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (e) => ENTITIES[e]);

export function searchBox(navigate, current = "") {
  const input = h("input", {
    type: "search",
    name: "q",
    class: "search-input",
    placeholder: "Search messages",
    "aria-label": "Search messages",
    maxlength: "200",
  });
  input.value = current;
  const form = h("form", { class: "search-box", role: "search" }, input);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (q) navigate(`#/search/${encodeURIComponent(q)}`);
  });
  return form;
}

// Built as text and <mark> elements: the snippet is never parsed as HTML.
function snippetNode(snippet) {
  const node = h("p", { class: "hit-snippet" });
  snippet.split(/(<mark>.*?<\/mark>)/).forEach((part) => {
    const marked = /^<mark>(.*)<\/mark>$/.exec(part);
    if (marked) node.append(h("mark", {}, unescape(marked[1])));
    else if (part) node.append(unescape(part));
  });
  return node;
}

export async function mountSearch(main, { query, navigate }) {
  const heading = h("h1", { tabindex: "-1" }, query ? `Search: ${query}` : "Search");
  const status = h("p", { class: "search-status", role: "status" });
  const results = h("ol", { class: "search-results" });
  clear(main).append(h("section", { class: "page search-page" }, heading, searchBox(navigate, query), status, results));
  heading.focus();
  if (!query) return;
  status.textContent = "Searching…";
  try {
    const body = await request("GET", `/search?q=${encodeURIComponent(query)}&limit=50`);
    status.textContent = body.results.length
      ? `${body.results.length} message${body.results.length === 1 ? "" : "s"} found`
      : "No message matches every word.";
    for (const hit of body.results) {
      const href = `#/c/${encodeURIComponent(hit.conversation_id)}/m/${hit.seq}`;
      results.append(
        h("li", { class: "search-hit", dataset: { conversationId: hit.conversation_id, seq: String(hit.seq) } },
          h("a", { href, class: "hit-link" },
            h("span", { class: "hit-room" }, hit.conversation_title || "Conversation"),
            h("span", { class: "hit-author" }, hit.author?.name || "System"),
            h("time", { datetime: hit.created_at }, formatTime(hit.created_at)),
            hit.edited_at ? h("span", { class: "edited" }, "(edited)") : null,
          ),
          snippetNode(hit.snippet),
        ),
      );
    }
  } catch (err) {
    status.textContent = `${err.message} (${err.code || "error"})`;
  }
}
