// The one websocket of the page (protocol v1). It survives drops: reconnects with backoff,
// re-authenticates, resubscribes each conversation from the last seq the page holds, and
// resends every unacknowledged `send` with its original client_msg_id (the server dedupes).

const OUTBOX_KEY = "elevate.outbox";
const RETRYABLE = /rate|too_fast|too_many|busy_retry|unavailable|internal/i;
const TICK_MS = 5000;
const PING_EVERY_MS = 25000;
const SILENCE_LIMIT_MS = 70000;
const RESEND_AFTER_MS = 10000;

export class Socket {
  constructor(token, { url } = {}) {
    this.token = token;
    this.url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.ws = null;
    this.state = "idle"; // idle | connecting | authenticating | ready | closed
    this.user = null;
    this.handlers = new Map();
    this.subs = new Map(); // conversation_id -> () => after_seq
    this.outbox = new Map(); // client_msg_id -> send frame
    this.sentAt = new Map(); // client_msg_id -> when it last went out
    this.attempt = 0;
    this.refSeq = 0;
    this.everReady = false;
    this.timers = { reconnect: null, ping: null };
    this.lastFrameAt = 0;
    this.lastPingAt = 0;
    this.loadOutbox();
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  emit(type, payload) {
    for (const fn of this.handlers.get(type) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`handler for ${type} failed`, err);
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  connect() {
    if (this.state === "closed") return;
    clearTimeout(this.timers.reconnect);
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      this.setState("authenticating");
      // The token goes in the first frame rather than the URL, so it stays out of access logs.
      this.raw({ type: "auth", token: this.token, ref: this.nextRef() });
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.timers.ping);
      if (this.state === "closed") return;
      // 4401: no valid token (also when it is revoked while the socket is open).
      if (ev.code === 4401 || ev.code === 1008) this.emit("auth-failed", ev);
      this.setState("connecting");
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and decides what to do.
    };
  }

  scheduleReconnect() {
    clearTimeout(this.timers.reconnect);
    const base = Math.min(10000, 400 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.state === "closed" || this.state === "ready") return;
    this.attempt = 0;
    if (this.ws) this.ws.close();
    else this.connect();
  }

  // Used by the UI's "reconnect" affordance and by tests of resume: drop and come back.
  drop() {
    if (this.ws) this.ws.close(4000, "client drop");
  }

  close() {
    this.setState("closed");
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.ping);
    window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000, "bye");
    this.ws = null;
  }

  nextRef() {
    this.refSeq += 1;
    return `r${this.refSeq}`;
  }

  raw(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Fire-and-forget frames (typing, cancel, ping) go only while ready; there is nothing to resume.
  send(frame) {
    if (this.state !== "ready") return false;
    return this.raw({ ref: this.nextRef(), ...frame });
  }

  receive(data) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        this.onReady(frame);
        break;
      case "ack":
        this.outbox.delete(frame.client_msg_id);
        this.sentAt.delete(frame.client_msg_id);
        this.saveOutbox();
        break;
      case "error":
        this.onError(frame);
        break;
      default:
        break;
    }
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  onReady(frame) {
    this.user = frame.user || null;
    this.attempt = 0;
    const resumed = this.everReady;
    this.everReady = true;
    this.setState("ready");
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => this.keepalive(), TICK_MS);
    for (const [conversationId, afterSeq] of this.subs) this.sendSubscribe(conversationId, afterSeq);
    for (const frameOut of this.outbox.values()) this.transmit(frameOut);
    if (resumed) this.emit("resumed", frame);
  }

  onError(frame) {
    const ref = frame.ref || "";
    if (this.state === "authenticating") {
      this.emit("auth-failed", frame);
      return;
    }
    if (!ref.startsWith("send:")) return;
    const clientMsgId = ref.slice(5);
    const pending = this.outbox.get(clientMsgId);
    if (!pending) return;
    if (RETRYABLE.test(frame.code || "")) {
      setTimeout(() => this.outbox.has(clientMsgId) && this.transmit(pending), 1500);
      return;
    }
    this.outbox.delete(clientMsgId);
    this.saveOutbox();
    this.emit("send-failed", { ...pending, code: frame.code, message: frame.message });
  }

  keepalive() {
    if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS && this.ws) {
      // A half-open TCP connection never fires onclose by itself.
      this.ws.close(4000, "silent");
      return;
    }
    const now = Date.now();
    if (now - this.lastPingAt > PING_EVERY_MS) {
      this.lastPingAt = now;
      this.send({ type: "ping" });
    }
    // A send dropped without a ref'd answer (e.g. rate limited) would otherwise wait for a
    // reconnect; resending is safe because the server dedupes by client_msg_id.
    for (const [id, frameOut] of this.outbox) {
      if (now - (this.sentAt.get(id) || 0) > RESEND_AFTER_MS) this.transmit(frameOut);
    }
  }

  transmit(frame) {
    if (this.state !== "ready") return false;
    this.sentAt.set(frame.client_msg_id, Date.now());
    return this.raw(frame);
  }

  sendSubscribe(conversationId, afterSeq) {
    this.raw({
      type: "subscribe",
      conversation_id: conversationId,
      after_seq: Math.max(0, Number(afterSeq()) || 0),
      ref: this.nextRef(),
    });
  }

  // `afterSeq` is read at every (re)subscribe so a resume starts from what the page holds then.
  subscribe(conversationId, afterSeq) {
    this.subs.set(conversationId, afterSeq);
    if (this.state === "ready") this.sendSubscribe(conversationId, afterSeq);
  }

  unsubscribe(conversationId) {
    if (!this.subs.delete(conversationId)) return;
    this.send({ type: "unsubscribe", conversation_id: conversationId });
  }

  sendMessage(conversationId, clientMsgId, content, extra = {}) {
    const frame = {
      type: "send",
      conversation_id: conversationId,
      client_msg_id: clientMsgId,
      content,
      ref: `send:${clientMsgId}`,
      ...extra,
    };
    this.outbox.set(clientMsgId, frame);
    this.saveOutbox();
    this.transmit(frame);
    return frame;
  }

  discard(clientMsgId) {
    this.sentAt.delete(clientMsgId);
    if (this.outbox.delete(clientMsgId)) this.saveOutbox();
  }

  pending(conversationId) {
    return [...this.outbox.values()].filter((f) => f.conversation_id === conversationId);
  }

  // The outbox outlives a reload so a send the server never acknowledged is retried after it.
  loadOutbox() {
    try {
      for (const frame of JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]")) {
        if (frame?.client_msg_id) this.outbox.set(frame.client_msg_id, frame);
      }
    } catch {
      sessionStorage.removeItem(OUTBOX_KEY);
    }
  }

  saveOutbox() {
    sessionStorage.setItem(OUTBOX_KEY, JSON.stringify([...this.outbox.values()]));
  }
}
