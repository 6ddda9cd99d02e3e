// The course REST API (/api/course) and the NDJSON stream of a playbook run.

import { request, session, ApiError } from "../api.js";

const enc = encodeURIComponent;
const q = (step) => (step ? `?step=${enc(step)}` : "");

export const course = {
  modules: () => request("GET", "/course/modules"),
  module: (id) => request("GET", `/course/modules/${enc(id)}`),
  overview: () => request("GET", "/course/overview"),
  setProgress: (id, body) => request("PUT", `/course/modules/${enc(id)}/progress`, body),
  tick: (id, index, done) => request("PUT", `/course/modules/${enc(id)}/checklist/${index}`, { done }),
  createModule: (body) => request("POST", "/course/modules", body),
  updateModule: (id, body) => request("PATCH", `/course/modules/${enc(id)}`, body),
  updatePrompt: (code, body) => request("PATCH", `/course/prompts/${enc(code)}`, body),
  createPrompt: (body) => request("POST", "/course/prompts", body),
  foundation: () => request("GET", "/course/foundation"),
  patchFoundation: (body) => request("PATCH", "/course/foundation", body),
  history: () => request("GET", "/course/foundation/history"),
  assets: (step) => request("GET", `/course/assets${q(step)}`),
  createAsset: (body) => request("POST", "/course/assets", body),
  updateAsset: (id, body) => request("PATCH", `/course/assets/${enc(id)}`, body),
  execution: (id) => request("GET", `/course/executions/${enc(id)}`),
};

// Start a run. Resolves {execution} (202) or {missing: [{path, label}], message} (422).
export async function runPrompt(code) {
  const response = await fetch(`/api/course/prompts/${enc(code)}/run`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${session.token}` },
    body: "{}",
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 422 && body.code === "missing_context") return body;
  if (!response.ok) throw new ApiError(response.status, body.code || "http", body.message || `HTTP ${response.status}`);
  return body;
}

// Read a run's stream; `onDelta(text)` per piece; resolves with the stored execution.
export async function streamRun(executionId, onDelta) {
  const response = await fetch(`/api/course/executions/${enc(executionId)}/stream`, {
    headers: { Authorization: `Bearer ${session.token}` },
  });
  if (!response.ok || !response.body) throw new ApiError(response.status, "stream", "The run could not be followed");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const event = JSON.parse(line);
      if (event.type === "delta") onDelta(event.text);
      else if (event.type === "end") last = event.execution;
    }
  }
  return last || course.execution(executionId);
}

// How an output reads as text (lists and JSON items as lines), e.g. to save it as an asset.
export function outputText(output) {
  if (output === null || output === undefined) return "";
  if (typeof output === "string") return output;
  const lines = output.note ? [output.note, ""] : [];
  for (const item of output.items || []) {
    if (item && typeof item === "object") {
      lines.push(`- ${Object.entries(item).map(([k, v]) => `${k}: ${v}`).join("; ")}`);
    } else lines.push(`- ${item}`);
  }
  return lines.join("\n");
}

let styled = false;
// The course pages' stylesheet, added once (no inline styles: the CSP allows only files).
export function useCourseStyles() {
  if (styled) return;
  styled = true;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/course.css";
  document.head.append(link);
}
