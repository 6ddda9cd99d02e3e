// Marks an open room read while a person can see it: on every new message and whenever the tab
// comes back into view. The read position lives on the server, shared by all their devices.

import { roomsApi } from "./rooms_api.js";

const SETTLE_MS = 400;

export function trackReading({ id, socket }) {
  let seen = 0;
  let sent = 0;
  let timer = null;
  const flush = () => {
    timer = null;
    if (document.visibilityState !== "visible" || seen <= sent) return;
    const seq = seen;
    roomsApi.read(id, seq).then((state) => {
      sent = Math.max(sent, state.last_read_seq);
    }).catch(() => {
      // Best effort: the next message or visit tries again.
    });
    sent = seq;
  };
  const soon = () => {
    if (!timer) timer = setTimeout(flush, SETTLE_MS);
  };
  const offs = [
    socket.on("message", (f) => {
      if (f.conversation_id !== id) return;
      seen = Math.max(seen, f.seq || 0);
      soon();
    }),
    socket.on("subscribed", (f) => {
      if (f.conversation_id !== id) return;
      seen = Math.max(seen, f.last_seq || 0);
      soon();
    }),
  ];
  const onVisible = () => document.visibilityState === "visible" && soon();
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    clearTimeout(timer);
    offs.forEach((off) => off());
    document.removeEventListener("visibilitychange", onVisible);
  };
}
