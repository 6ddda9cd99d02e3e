// The transcript of one room: stored messages keyed by seq (so replays and resumes never
// duplicate), plus the live turns that stream in before their message is stored.

import { api } from "./api.js";
import { h, clear, formatTime } from "./dom.js";
import { flushStream, renderMarkdown, streamInto } from "./markdown.js";
import { toolResultView } from "./tool_result.js";
import { attachmentList } from "./attachments.js";

const PAGE = 200;

function pretty(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export class Transcript {
  constructor({ conversationId, me, onChange, decide, decorate }) {
    this.conversationId = conversationId;
    this.decorate = decorate || (() => {}); // adds per-message tools (copy, tabs)
    this.me = me;
    this.onChange = onChange || (() => {});
    this.decide = decide || ((id, ok) => api.decide(id, ok));
    this.messages = new Map(); // seq -> message
    this.contiguous = 0; // every seq up to this one is held
    this.maxSeq = 0;
    this.turns = new Map(); // turn_id -> live turn state
    this.finishedTurns = new Map(); // turn_id -> turn state kept for the stored message
    this.pendingSends = new Map(); // client_msg_id -> {frame, seq?, failed?}
    this.filling = null;

    this.list = h("ol", {
      class: "transcript",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": "Messages",
    });
    this.live = h("ol", { class: "live", "aria-label": "Replies in progress" });
    this.empty = h("p", { class: "empty" }, "No messages yet. Say hello, or mention an agent with @.");
    this.scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Conversation transcript" },
      this.empty, this.list, this.live);
  }

  // Stick to the bottom only when the reader already is there; never yank someone reading back.
  withScroll(fn) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    fn();
    if (atBottom) s.scrollTop = s.scrollHeight;
  }

  runningTurns() {
    return [...this.turns.values()].filter((t) => !t.ended);
  }

  // ---- stored messages -------------------------------------------------------------------

  addMessage(message) {
    const seq = Number(message?.seq);
    if (!Number.isInteger(seq) || seq < 1 || this.messages.has(seq)) return false;
    this.messages.set(seq, message);
    this.maxSeq = Math.max(this.maxSeq, seq);
    while (this.messages.has(this.contiguous + 1)) this.contiguous += 1;
    this.withScroll(() => {
      this.insertSorted(seq, this.renderMessage(message));
      this.settleTurn(message);
      this.settlePending(message);
      this.empty.hidden = true;
    });
    if (seq > this.contiguous + 1) this.fillGap();
    this.onChange();
    return true;
  }

  insertSorted(seq, el) {
    // Almost always the newest: walk back from the end.
    let before = null;
    for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.dataset.seq) < seq) break;
      before = node;
    }
    this.list.insertBefore(el, before);
  }

  authorClass(message) {
    const author = message.author || {};
    if (message.kind === "system" || !author.kind) return "msg-system";
    return author.kind === "agent" ? "msg-agent" : "msg-user";
  }

  renderMessage(message) {
    const author = message.author || {};
    const mine = author.kind === "user" && this.me && author.user_id === this.me.id;
    const status = message.status && message.status !== "complete" ? message.status : null;
    const turn = message.turn_id ? this.turns.get(message.turn_id) || this.finishedTurns.get(message.turn_id) : null;
    const name = author.name || (message.kind === "system" ? "System" : turn?.agent?.name || "Unknown");
    // Live, the page knows the caller from the turn; read back, the server says who delegated.
    const caller = turn?.parent ? turn.parentName || "another agent" : message.delegated_by?.agent?.name || null;
    const reason = status === "failed" ? this.failureReason(message) : null;
    const el = h(
      "li",
      {
        class: `msg ${this.authorClass(message)}${mine ? " mine" : ""}${status ? ` status-${status}` : ""}${caller ? " nested" : ""}`,
        id: `msg-${this.conversationId}-${message.seq}`,
        dataset: { seq: String(message.seq), turn: message.turn_id || "" },
      },
      h(
        "div",
        { class: "meta" },
        h("span", { class: "author" }, mine ? `${name} (you)` : name),
        caller ? h("span", { class: "via" }, `delegated by ${caller}`) : null,
        h("time", { datetime: message.created_at || "" }, formatTime(message.created_at)),
        status ? h("span", { class: `badge badge-${status}` }, status) : null,
      ),
      h("div", { class: "body markdown" }, renderMarkdown(message.content || "")),
      attachmentList(message),
      reason ? h("p", { class: "turn-error", role: "note" }, `Failed: ${reason}`) : null,
    );
    const activity = turn ? turn.activity : this.storedActivity(message);
    if (activity && activity.querySelector("li")) el.append(activity);
    this.decorate(el, message);
    return el;
  }

  // Why a turn failed, as stored with its message (`meta.error`), e.g. a turn timeout.
  failureReason(message) {
    const error = message.meta && message.meta.error;
    return error ? pretty(error) : "the reply could not be finished";
  }

  // Messages read back from the server (a reload, a late join) carry their turn's tool calls
  // and hand-offs; render them as the live frames were.
  storedActivity(message) {
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    if (!calls.length) return null;
    const { box, items } = this.activityBox();
    for (const call of calls) {
      items.append(this.renderToolCall(call));
      if (call.tool === "delegate" && call.status === "ok" && call.arguments?.agent) {
        items.append(this.delegationItem(`@${call.arguments.agent}`));
      }
    }
    this.updateActivitySummary(box, items);
    return box;
  }

  settleTurn(message) {
    const turn = message.turn_id && this.turns.get(message.turn_id);
    if (!turn) return;
    turn.el.remove();
    // Its reply is stored, so nothing in it can still be decided: say how each wait ended (a
    // decision this page missed while offline), or that the turn ended first.
    const stored = new Map((message.tool_calls || []).map((c) => [c.tool_call_id, c.approval]));
    for (const card of turn.items.querySelectorAll(".approval.awaiting")) {
      const approval = stored.get(card.dataset.toolCall);
      if (approval && approval.status !== "pending") this.closeApproval(card, this.decisionText(approval), `decision-${approval.status}`);
      else this.closeApproval(card, "Closed: the turn ended before a decision", "decision-closed");
    }
    turn.stored = true;
    turn.ended = true;
    this.turns.delete(message.turn_id);
    this.finishedTurns.set(message.turn_id, turn);
  }

  // Fetch whatever the socket did not deliver (a capped replay, a lost frame): REST pages from
  // the last contiguous seq. Overlaps are harmless because messages are keyed by seq.
  fillGap() {
    if (this.filling) return this.filling;
    this.filling = (async () => {
      try {
        for (;;) {
          const from = this.contiguous;
          const page = await api.messages(this.conversationId, from, PAGE);
          for (const m of page) this.addMessage(m);
          // Stop when the server has nothing newer or the hole cannot be filled (a page cap, a race).
          if (!page.length || this.contiguous === from) break;
        }
      } catch (err) {
        console.warn("could not fill the transcript", err);
      } finally {
        this.filling = null;
      }
    })();
    return this.filling;
  }

  expectLastSeq(lastSeq) {
    if (Number(lastSeq) > this.contiguous) {
      // The replay normally follows `subscribed`; fetch by REST only what is still missing then.
      setTimeout(() => {
        if (Number(lastSeq) > this.contiguous) this.fillGap();
      }, 1500);
    }
  }

  // ---- live turns ------------------------------------------------------------------------

  activityBox() {
    const items = h("ul", { class: "activity-items" });
    const summary = h("summary", {}, "Activity");
    const box = h("details", { class: "activity", hidden: true }, summary, items);
    return { box, items };
  }

  updateActivitySummary(box, items) {
    const tools = items.querySelectorAll(".tool").length;
    const delegations = items.querySelectorAll(".delegation").length;
    const waiting = items.querySelectorAll(".approval.awaiting").length;
    const parts = [];
    if (tools) parts.push(`${tools} tool call${tools > 1 ? "s" : ""}`);
    if (delegations) parts.push(`${delegations} delegation${delegations > 1 ? "s" : ""}`);
    if (waiting) parts.push(`${waiting} awaiting approval`);
    box.querySelector("summary").textContent = parts.join(", ") || "Activity";
    box.hidden = !items.children.length;
  }

  ensureTurn(turnId, agent, parentTurnId) {
    let turn = this.turns.get(turnId);
    if (turn) {
      if (agent && !turn.agent?.name) {
        turn.agent = agent;
        turn.nameEl.textContent = agent.name;
      }
      return turn;
    }
    if (this.finishedTurns.has(turnId)) return null;
    const parent = parentTurnId ? this.turns.get(parentTurnId) || this.finishedTurns.get(parentTurnId) : null;
    const { box, items } = this.activityBox();
    const nameEl = h("span", { class: "author" }, agent?.name || "Agent");
    const stateEl = h("span", { class: "state" }, "replying…");
    const textEl = h("div", { class: "body" });
    const el = h(
      "li",
      {
        class: `msg msg-agent streaming${parentTurnId ? " nested" : ""}`,
        "aria-busy": "true",
        dataset: { turn: turnId, parentTurn: parentTurnId || "" },
      },
      h(
        "div",
        { class: "meta" },
        nameEl,
        parentTurnId ? h("span", { class: "via" }, `delegated by ${parent?.agent?.name || "another agent"}`) : null,
        stateEl,
      ),
      textEl,
      box,
    );
    turn = {
      id: turnId,
      agent: agent || null,
      parent: parentTurnId || null,
      parentName: parent?.agent?.name || null,
      text: "",
      ended: false,
      el,
      nameEl,
      stateEl,
      textEl,
      activity: box,
      items,
      calls: new Map(),
      // Known only from a later frame: this page joined mid-turn and missed its start.
      gap: !agent,
    };
    this.turns.set(turnId, turn);
    if (parent) this.noteDelegation(parent, turn);
    this.withScroll(() => this.live.append(el));
    this.onChange();
    return turn;
  }

  delegationItem(who) {
    return h("li", { class: "delegation" }, h("span", { class: "arrow", "aria-hidden": "true" }, "↳ "), `Delegated to ${who}`);
  }

  noteDelegation(parent, child) {
    const who = child.agent?.handle ? `@${child.agent.handle}` : child.agent?.name || "another agent";
    parent.items.append(this.delegationItem(who));
    this.updateActivitySummary(parent.activity, parent.items);
  }

  turnStart(frame) {
    const turn = this.ensureTurn(frame.turn_id, frame.agent, frame.parent_turn_id);
    // A turn announced on subscribe (`resumed`) already streamed text this page never saw.
    if (turn && frame.resumed && !turn.text) turn.gap = true;
  }

  delta(frame) {
    const turn = this.ensureTurn(frame.turn_id, null, null);
    if (!turn || turn.ended) return;
    if (turn.gap) {
      // Deltas sent while the socket was down (or before this page loaded) are gone; mark the
      // hole until the stored message replaces this text.
      turn.gap = false;
      turn.text += turn.text ? " … " : "… ";
    }
    turn.text += frame.text || "";
    streamInto(turn.textEl, turn.text, (render) => this.withScroll(render));
  }

  renderToolCall(call) {
    const status = call.status || "running";
    const result = call.error !== undefined && call.error !== null ? call.error : call.result;
    return h(
      "li",
      { class: `tool status-${status}`, dataset: { call: call.call_id || call.id || "" } },
      h(
        "details",
        {},
        h("summary", {}, h("code", {}, call.tool || call.name || "tool"), " ", h("span", { class: "tool-status" }, status)),
        h("div", { class: "tool-detail" },
          h("p", { class: "label" }, "Arguments"),
          h("pre", {}, pretty(call.arguments ?? {})),
          result !== undefined ? h("p", { class: "label" }, status === "ok" ? "Result" : "Error") : null,
          result !== undefined ? toolResultView(result) : null,
          call.approval ? h("p", { class: "approval-outcome" }, this.decisionText(call.approval)) : null,
        ),
      ),
    );
  }

  // "Approved by Bob", "Denied by you", "Expired: no decision within 300 s".
  decisionText(decision) {
    const who = decision.decided_by;
    const by = who ? (this.me && who.id === this.me.id ? "you" : who.name || "someone") : null;
    switch (decision.status) {
      case "approved":
        return `Approved by ${by || "someone"}`;
      case "denied":
        return `Denied by ${by || "someone"}`;
      case "timeout":
        return `Expired: ${decision.reason || "nobody decided in time"}`;
      case "pending":
        return "Waiting for approval";
      default:
        return `Closed: ${decision.reason || decision.status}`;
    }
  }

  toolCall(frame) {
    const turn = this.ensureTurn(frame.turn_id, null, null);
    if (!turn) return;
    const el = this.renderToolCall({ ...frame, status: "running" });
    el._frame = frame;
    const existing = turn.calls.get(frame.call_id);
    if (existing) existing.replaceWith(el);
    else turn.items.append(el);
    turn.calls.set(frame.call_id, el);
    this.updateActivitySummary(turn.activity, turn.items);
  }

  toolResult(frame) {
    const turn = this.turns.get(frame.turn_id) || this.finishedTurns.get(frame.turn_id);
    if (!turn) return;
    const old = turn.calls.get(frame.call_id);
    const el = this.renderToolCall({ ...(old?._frame || {}), ...frame });
    el._frame = { ...(old?._frame || {}), ...frame };
    if (old) old.replaceWith(el);
    else turn.items.append(el);
    turn.calls.set(frame.call_id, el);
    this.updateActivitySummary(turn.activity, turn.items);
  }

  approvalCard(toolCallId) {
    return [...this.scroller.querySelectorAll(".approval")].find((el) => el.dataset.toolCall === toolCallId) || null;
  }

  toolApproval(frame) {
    const turn = this.ensureTurn(frame.turn_id, null, null);
    if (!turn) return;
    const id = frame.tool_call_id;
    // A resubscribe replays the calls of a running turn: one card per call.
    if (this.approvalCard(id)) return;
    const status = h("span", { class: "approval-status", role: "status" });
    const approve = h("button", { type: "button", class: "approve" }, "Approve");
    const deny = h("button", { type: "button", class: "deny secondary" }, "Deny");
    const decide = async (approved) => {
      approve.disabled = true;
      deny.disabled = true;
      status.textContent = approved ? "Approving…" : "Denying…";
      try {
        await this.decide(id, approved);
        // The `tool.decision` frame that follows says it for everyone, this page included.
        if (el.classList.contains("awaiting")) status.textContent = approved ? "Approved" : "Denied";
      } catch (err) {
        if (err.code === "already_decided") {
          // Someone else was first (or time ran out): their decision stands.
          if (el.classList.contains("awaiting")) status.textContent = `Already decided: ${err.message}`;
          return;
        }
        status.textContent = `Could not record the decision: ${err.message}`;
        approve.disabled = false;
        deny.disabled = false;
      }
    };
    approve.addEventListener("click", () => decide(true));
    deny.addEventListener("click", () => decide(false));
    const el = h(
      "li",
      { class: "approval awaiting", dataset: { toolCall: id || "" } },
      h("p", {}, h("strong", {}, turn.agent?.name || "The agent"), " wants to run ", h("code", {}, frame.tool), ":"),
      h("pre", {}, pretty(frame.arguments ?? {})),
      h("div", { class: "actions", role: "group", "aria-label": `Approve or deny ${frame.tool}` }, approve, deny, status),
    );
    el._status = status;
    turn.items.append(el);
    turn.activity.open = true;
    turn.stateEl.textContent = "waiting for approval";
    this.updateActivitySummary(turn.activity, turn.items);
    this.withScroll(() => {});
    approve.focus({ preventScroll: true });
  }

  // Someone decided (maybe on another page), or time ran out: the card stops being live.
  toolDecision(frame) {
    const el = this.approvalCard(frame.tool_call_id);
    if (!el) return;
    this.closeApproval(el, this.decisionText(frame), `decision-${frame.status}`);
    const turn = this.turns.get(frame.turn_id);
    if (turn && !turn.ended && !turn.activity.querySelector(".approval.awaiting")) turn.stateEl.textContent = "replying…";
  }

  closeApproval(el, text, kind) {
    el.classList.remove("awaiting");
    el.classList.add("decided", kind);
    for (const button of el.querySelectorAll("button")) button.remove();
    el._status.textContent = text;
    const box = el.closest(".activity");
    if (box) this.updateActivitySummary(box, box.querySelector(".activity-items"));
  }

  turnEnd(frame) {
    const turn = this.turns.get(frame.turn_id);
    if (!turn) return;
    turn.ended = true;
    turn.el.removeAttribute("aria-busy");
    turn.el.classList.remove("streaming");
    turn.stateEl.textContent = frame.status === "completed" ? "" : frame.status;
    flushStream(turn.textEl);
    if (frame.status && frame.status !== "completed") turn.el.classList.add(`status-${frame.status}`);
    if (frame.error) turn.textEl.append(h("p", { class: "turn-error" }, pretty(frame.error)));
    for (const card of turn.items.querySelectorAll(".approval.awaiting")) {
      this.closeApproval(card, "Closed: the turn ended before a decision", "decision-closed");
    }
    const seq = Number(frame.message_seq);
    if (seq && this.messages.has(seq)) {
      this.settleTurn(this.messages.get(seq));
    } else if (seq && seq > this.contiguous) {
      setTimeout(() => {
        if (!this.messages.has(seq)) this.fillGap();
      }, 1000);
    }
    this.onChange();
  }

  // The socket dropped: deltas in between are lost, so mark every live turn as having a hole.
  markGap() {
    for (const turn of this.turns.values()) if (!turn.ended) turn.gap = true;
  }

  // ---- my own sends ----------------------------------------------------------------------

  addPending(frame, onRetry, onDiscard) {
    if (this.pendingSends.has(frame.client_msg_id)) return;
    const state = h("span", { class: "state" }, "sending…");
    const actions = h("div", { class: "actions", hidden: true });
    const el = h(
      "li",
      { class: "msg msg-user mine pending", dataset: { clientMsgId: frame.client_msg_id } },
      h("div", { class: "meta" }, h("span", { class: "author" }, `${this.me?.name || "You"} (you)`), state),
      h("div", { class: "body markdown" }, renderMarkdown(frame.content)),
      actions,
    );
    const entry = { frame, el, state, actions, seq: null, onRetry, onDiscard };
    this.pendingSends.set(frame.client_msg_id, entry);
    // Below my earlier unsent messages, above the replies already streaming.
    const firstReply = [...this.live.children].find((node) => !node.classList.contains("pending"));
    this.withScroll(() => this.live.insertBefore(el, firstReply || null));
  }

  ack(frame) {
    const entry = this.pendingSends.get(frame.client_msg_id);
    if (!entry) return;
    entry.seq = Number(frame.seq);
    entry.state.textContent = "sent";
    if (this.messages.has(entry.seq)) this.dropPending(frame.client_msg_id);
  }

  settlePending(message) {
    for (const [id, entry] of this.pendingSends) {
      if (id === message.client_msg_id || entry.seq === Number(message.seq)) this.dropPending(id);
    }
  }

  dropPending(clientMsgId) {
    const entry = this.pendingSends.get(clientMsgId);
    if (!entry) return;
    entry.el.remove();
    this.pendingSends.delete(clientMsgId);
  }

  sendFailed(failure) {
    const entry = this.pendingSends.get(failure.client_msg_id);
    if (!entry) return;
    entry.el.classList.add("failed");
    entry.state.textContent = `not sent: ${failure.message || failure.code || "error"}`;
    clear(entry.actions);
    entry.actions.hidden = false;
    entry.actions.append(
      h("button", { type: "button", class: "secondary", onclick: () => {
        entry.el.classList.remove("failed");
        entry.state.textContent = "sending…";
        entry.actions.hidden = true;
        entry.onRetry?.(entry.frame);
      } }, "Retry"),
      h("button", { type: "button", class: "secondary", onclick: () => {
        this.dropPending(failure.client_msg_id);
        entry.onDiscard?.(entry.frame);
      } }, "Discard"),
    );
  }

  // Plain data for tests and debugging: what the reader sees, in order.
  snapshot() {
    return [...this.messages.keys()].sort((a, b) => a - b).map((seq) => {
      const m = this.messages.get(seq);
      return { seq, author: m.author?.name || null, content: m.content, status: m.status };
    });
  }
}
