// The room: one conversation's transcript, who is here and typing, the composer, and Stop.

import { api } from "../api.js";
import { h, clear, announce, randomId } from "../dom.js";
import { MentionPicker } from "../mentions.js";
import { MessageTabs } from "../message_tabs.js";
import { Transcript } from "../transcript.js";
import { AttachmentTray } from "../attachments.js";
import { installMessageActions } from "../message_actions.js";
import { trackReading } from "../read_marker.js";
import { mountRoomSettings } from "./room_settings.js";

const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 5000;
const QUIET_ERRORS = /rate|too_fast|too_many/i;

function participantLabel(p) {
  if (p.kind === "agent") return p.handle ? `${p.name} (@${p.handle})` : p.name;
  return p.name || "Someone";
}

export async function mountRoom(main, { id, socket, me }) {
  const conversation = await api.conversation(id);
  let participants = (conversation.participants || []).filter((p) => !p.is_removed);
  let present = new Map();
  const typing = new Map();
  const cleanups = [];

  const title = h("h1", { tabindex: "-1", class: "room-title", id: `room-title-${id}` }, conversation.title || "Conversation");
  const connState = h("span", { class: "conn-state", role: "status" });
  const stop = h("button", { type: "button", class: "stop danger", hidden: true, "aria-label": "Stop the agent's reply" }, "Stop");
  const peopleList = h("ul", { class: "people-list" });
  const peopleSummary = h("summary", {}, "People");
  const people = h("details", { class: "people" }, peopleSummary, peopleList);
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const errors = h("div", { class: "room-errors", role: "alert" });
  const textarea = h("textarea", {
    id: `composer-${id}`,
    name: "content",
    rows: "2",
    placeholder: "Message… (@ to mention)",
    autocomplete: "off",
    "aria-describedby": `composer-hint-${id}`,
  });
  const sendButton = h("button", { type: "submit", class: "send" }, "Send");
  const tray = new AttachmentTray({ onError: (text, code) => showRoomError(text, code) });
  const picker = new MentionPicker(textarea, () => candidates());
  const composer = h(
    "form",
    { class: "composer", "aria-label": "Write a message" },
    h("label", { for: textarea.id, class: "visually-hidden" }, "Message"),
    h("span", { id: `composer-hint-${id}`, class: "visually-hidden" },
      "Enter sends, Shift+Enter starts a new line, @ mentions an agent or a person."),
    h("div", { class: "composer-input" }, picker.listbox, textarea),
    tray.el,
    sendButton,
  );

  const tabs = new MessageTabs({
    conversationId: id,
    canEdit: conversation.role !== "observer",
    onError: (err) => showError(err),
  });
  const transcript = new Transcript({
    conversationId: id,
    me,
    onChange: () => updateStop(),
    decorate: (el, message) => tabs.decorate(el, message),
  });
  tabs.list = transcript.list;

  cleanups.push(installMessageActions({ transcript, socket, conversationId: id, me }));

  const policy = conversation.policy || {};
  const policyNote = policy.speaker ? h("span", { class: "policy" }, `Speaker: ${policy.speaker.replace("_", " ")}`) : null;

  clear(main).append(
    h(
      "section",
      { class: "room", "aria-labelledby": title.id },
      h("header", { class: "room-header" },
        h("div", { class: "room-heading" }, title, policyNote, connState),
        h("div", { class: "room-tools" }, stop, people),
      ),
      errors,
      tabs.filterBar,
      transcript.scroller,
      typingLine,
      composer,
    ),
  );

  cleanups.push(trackReading({ id, socket }));
  cleanups.push(mountRoomSettings({
    id, conversation, me, socket, titleEl: title, navigate: (hash) => { location.hash = hash; },
    tools: main.querySelector(".room-tools"), after: main.querySelector(".room-header"),
  }));

  // ---- participants, presence, typing ----------------------------------------------------

  function candidates() {
    return participants
      .filter((p) => !(p.kind === "user" && p.user_id === me.id))
      .map((p) => ({ kind: p.kind, name: p.name, handle: p.kind === "agent" ? p.handle : null }));
  }

  function renderPeople() {
    clear(peopleList);
    const here = participants.filter((p) => p.kind === "user" && present.has(p.user_id)).length;
    peopleSummary.textContent = `${participants.length} in conversation · ${here} here now`;
    for (const p of participants) {
      const isHere = p.kind === "user" && present.has(p.user_id);
      peopleList.append(
        h("li", { class: `person kind-${p.kind}${isHere ? " present" : ""}`, dataset: { userId: p.user_id || "", agentId: p.agent_id || "" } },
          h("span", { class: "dot", "aria-hidden": "true" }),
          participantLabel(p),
          p.kind === "user" && p.user_id === me.id ? " (you)" : "",
          p.kind === "agent" ? h("span", { class: "tag" }, "agent") : null,
          p.role && p.role !== "member" ? h("span", { class: "tag" }, p.role) : null,
          isHere ? h("span", { class: "visually-hidden" }, ", here now") : null,
        ),
      );
    }
  }

  function renderTyping() {
    const now = Date.now();
    const names = [...typing.values()].filter((t) => t.until > now).map((t) => t.name);
    if (!names.length) typingLine.textContent = "";
    else if (names.length === 1) typingLine.textContent = `${names[0]} is typing…`;
    else typingLine.textContent = `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  }

  const typingTimer = setInterval(renderTyping, 1000);
  cleanups.push(() => clearInterval(typingTimer));

  async function reloadParticipants() {
    try {
      const fresh = await api.conversation(id);
      participants = (fresh.participants || []).filter((p) => !p.is_removed);
      renderPeople();
    } catch (err) {
      if (err.status === 403 || err.status === 404) removedFromRoom();
    }
  }

  function removedFromRoom() {
    if (textarea.disabled) return;
    textarea.disabled = true;
    sendButton.disabled = true;
    stop.hidden = true;
    errors.append(h("p", {}, "You are no longer a participant of this conversation."));
    // The server already dropped the subscription; only stop resubscribing after reconnects.
    socket.subs.delete(id);
  }

  // ---- stop ------------------------------------------------------------------------------

  function updateStop() {
    const running = transcript.runningTurns();
    const wasHidden = stop.hidden;
    stop.hidden = running.length === 0 || textarea.disabled;
    if (wasHidden !== stop.hidden) announce(stop.hidden ? "Reply finished" : "An agent is replying");
  }

  stop.addEventListener("click", () => {
    const running = transcript.runningTurns();
    const root = running.find((t) => !t.parent) || running[0];
    const frame = { type: "cancel", conversation_id: id };
    if (root) frame.turn_id = root.id;
    socket.send(frame);
    stop.textContent = "Stopping…";
    setTimeout(() => {
      stop.textContent = "Stop";
    }, 1500);
  });

  // ---- sending ---------------------------------------------------------------------------

  let lastTypingSent = 0;
  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (textarea.value.trim() && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
      lastTypingSent = now;
      socket.send({ type: "typing", conversation_id: id });
    }
  });

  textarea.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      composer.requestSubmit();
    }
  });

  const retry = (frame) =>
    socket.sendMessage(frame.conversation_id, frame.client_msg_id, frame.content,
      frame.attachment_ids ? { attachment_ids: frame.attachment_ids } : {});
  const discard = (frame) => socket.discard(frame.client_msg_id);

  composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const content = textarea.value.trim();
    if (!content || textarea.disabled) return;
    if (tray.busy) return showRoomError("Wait until the files have finished uploading.", "uploading");
    const ids = tray.ids();
    const frame = socket.sendMessage(id, randomId(), content, ids.length ? { attachment_ids: ids } : {});
    tray.clear();
    transcript.addPending(frame, retry, discard);
    textarea.value = "";
    lastTypingSent = 0;
    picker.close();
    textarea.focus();
  });

  // Sends left unacknowledged by a previous page (a reload mid-send) are shown and retried.
  for (const frame of socket.pending(id)) transcript.addPending(frame, retry, discard);

  function showRoomError(text, code) {
    const note = h("p", {}, `${text} `, h("small", {}, `(${code || "error"})`));
    errors.append(note);
    setTimeout(() => note.remove(), 8000);
  }

  // ---- frames ----------------------------------------------------------------------------

  const mine = (frame) => !frame.conversation_id || frame.conversation_id === id;
  const on = (type, fn) => cleanups.push(socket.on(type, (frame) => mine(frame) && fn(frame)));

  on("subscribed", (f) => f.conversation_id === id && transcript.expectLastSeq(f.last_seq));
  on("message", (f) => {
    if (f.conversation_id !== id) return;
    const message = { seq: f.seq, ...f.message };
    transcript.addMessage(message);
    // My message is stored: nothing left to resend, even if its ack was lost with a socket.
    if (message.client_msg_id && message.author?.user_id === me.id) socket.discard(message.client_msg_id);
  });
  on("ack", (f) => transcript.ack(f));
  on("turn.start", (f) => transcript.turnStart(f));
  on("delta", (f) => transcript.delta(f));
  on("tool.call", (f) => transcript.toolCall(f));
  on("tool.result", (f) => transcript.toolResult(f));
  on("tool.approval", (f) => transcript.toolApproval(f));
  on("tool.decision", (f) => transcript.toolDecision(f));
  on("turn.end", (f) => transcript.turnEnd(f));
  on("message.tagged", (f) => tabs.apply(f));
  on("subscribed", (f) => f.conversation_id === id && f.role && tabs.setCanEdit(f.role !== "observer"));
  on("typing", (f) => {
    if (f.conversation_id !== id || !f.user || f.user.id === me.id) return;
    typing.set(f.user.id, { name: f.user.name || "Someone", until: Date.now() + TYPING_SHOW_MS });
    renderTyping();
  });
  on("presence", (f) => {
    if (f.conversation_id !== id) return;
    present = new Map((f.users || []).map((u) => [u.id, u]));
    renderPeople();
  });
  on("participant.added", () => reloadParticipants());
  on("unsubscribed", (f) => f.conversation_id === id && f.reason === "removed" && removedFromRoom());
  on("participant.removed", (f) => {
    if (f.conversation_id !== id) return;
    if (f.user_id && f.user_id === me.id) removedFromRoom();
    else reloadParticipants();
  });
  cleanups.push(socket.on("send-failed", (f) => f.conversation_id === id && transcript.sendFailed(f)));
  function showError(f) {
    const note = h("p", {}, `${f.message || "Something went wrong"} `, h("small", {}, `(${f.code || "error"})`));
    errors.append(note);
    setTimeout(() => note.remove(), 8000);
  }
  cleanups.push(
    socket.on("error", (f) => {
      if ((f.ref || "").startsWith("send:") || QUIET_ERRORS.test(f.code || "")) return;
      if (f.conversation_id && f.conversation_id !== id) return;
      showError(f);
    }),
  );

  const showConn = (state) => {
    connState.textContent = state === "ready" ? "" : state === "closed" ? "Disconnected" : "Reconnecting…";
    connState.dataset.state = state;
    if (state !== "ready") transcript.markGap();
  };
  cleanups.push(socket.on("state", showConn));
  showConn(socket.state);

  socket.subscribe(id, () => transcript.contiguous);
  cleanups.push(() => socket.unsubscribe(id));

  renderPeople();
  // The composer is what people came for; the heading names the room for screen readers.
  textarea.focus({ preventScroll: true });

  window.__elevateRoom = transcript;
  return () => {
    for (const fn of cleanups.reverse()) fn();
    if (window.__elevateRoom === transcript) window.__elevateRoom = null;
  };
}
