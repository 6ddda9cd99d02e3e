// REST calls for managing a conversation and for one's own view of it (read, mute, notifications).

import { request } from "./api.js";

const c = (id) => `/conversations/${encodeURIComponent(id)}`;

export const roomsApi = {
  update: (id, body) => request("PATCH", c(id), body),
  remove: (id) => request("DELETE", c(id)),
  archive: (id, archived) => request("PUT", `${c(id)}/archive`, { archived }),
  read: (id, seq) => request("PUT", `${c(id)}/read`, { seq }),
  mute: (id, muted) => request("PUT", `${c(id)}/mute`, { muted }),
  readState: (id) => request("GET", `${c(id)}/read`),
  addParticipant: (id, body) => request("POST", `${c(id)}/participants`, body),
  removeParticipant: (id, participantId) =>
    request("DELETE", `${c(id)}/participants/${encodeURIComponent(participantId)}`),
  setRole: (id, participantId, role) =>
    request("PATCH", `${c(id)}/participants/${encodeURIComponent(participantId)}`, { role }),
  notifications: () => request("GET", "/notifications"),
  readNotifications: (body) => request("POST", "/notifications/read", body),
};
