// REST client: one place that knows the token, the JSON shapes and the error format
// ({code, message}, possibly nested under `detail` by FastAPI).

const TOKEN_KEY = "elevate.token";
const USER_KEY = "elevate.user";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(localStorage.getItem(USER_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(user, token) {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  },
};

const listeners = new Set();
// Called with the ApiError whenever the server says the token is no good.
export function onUnauthorized(fn) {
  listeners.add(fn);
}

function errorFrom(status, body) {
  const detail = body && typeof body === "object" ? (body.detail ?? body) : null;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const err = new ApiError(status, detail.code || `http_${status}`, detail.message || `HTTP ${status}`);
    // Which fields were refused, when the server says (`[{loc: ["body", field], msg}]`).
    if (Array.isArray(detail.details)) err.fields = detail.details.map((d) => (d.loc || []).at(-1));
    return err;
  }
  if (Array.isArray(detail)) {
    // FastAPI's validation list: name the first offending field.
    const first = detail[0] || {};
    const where = (first.loc || []).filter((p) => p !== "body").join(".");
    return new ApiError(status, "invalid_input", `${where ? `${where}: ` : ""}${first.msg || "invalid input"}`);
  }
  return new ApiError(status, `http_${status}`, typeof detail === "string" ? detail : `HTTP ${status}`);
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const err = errorFrom(response.status, data);
    if (response.status === 401 && token) for (const fn of listeners) fn(err);
    throw err;
  }
  return data;
}

const q = (params) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, v);
  const s = search.toString();
  return s ? `?${s}` : "";
};

// Lists may come bare or wrapped ({items: [...]}, {agents: [...]}); accept both.
function list(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

export const api = {
  register: (email, password, name) => request("POST", "/auth/register", { email, password, name }),
  login: (email, password) => request("POST", "/auth/login", { email, password }),
  logout: () => request("POST", "/auth/logout"),
  me: () => request("GET", "/me"),
  status: () => request("GET", "/status"),

  agents: async () => list(await request("GET", "/agents"), "agents"),
  agent: (id) => request("GET", `/agents/${encodeURIComponent(id)}`),
  createAgent: (body) => request("POST", "/agents", body),
  updateAgent: (id, body) => request("PATCH", `/agents/${encodeURIComponent(id)}`, body),
  deleteAgent: (id) => request("DELETE", `/agents/${encodeURIComponent(id)}`),
  tools: async () => list(await request("GET", "/tools"), "tools"),
  grants: async (id) => list(await request("GET", `/agents/${encodeURIComponent(id)}/tools`), "tools"),
  grant: (id, tool, config) =>
    request("PUT", `/agents/${encodeURIComponent(id)}/tools/${encodeURIComponent(tool)}`, { config }),
  revoke: (id, tool) =>
    request("DELETE", `/agents/${encodeURIComponent(id)}/tools/${encodeURIComponent(tool)}`),
  memories: async (id) =>
    list(await request("GET", `/agents/${encodeURIComponent(id)}/memories`), "memories"),

  users: async (query) => list(await request("GET", `/users${q({ query })}`), "users"),
  groups: async () => list(await request("GET", "/groups"), "groups"),

  conversations: async () => list(await request("GET", "/conversations"), "conversations"),
  conversation: (id) => request("GET", `/conversations/${encodeURIComponent(id)}`),
  createConversation: (body) => request("POST", "/conversations", body),
  messages: async (id, afterSeq, limit) =>
    list(
      await request("GET", `/conversations/${encodeURIComponent(id)}/messages${q({ after_seq: afterSeq, limit })}`),
      "messages",
    ),
  decide: (toolCallId, approved) =>
    request("POST", `/tool-calls/${encodeURIComponent(toolCallId)}/decision`, { approved }),
};
