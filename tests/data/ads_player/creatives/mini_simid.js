// A very small SIMID 1.2 creative-side helper for Moviola's browser tests (written for these
// tests). It creates a session, answers the player's messages through `handlers`, and sends
// its own messages, resolving each with the player's {type: "resolve"|"reject", value}.
"use strict";

class MiniSimid {
  constructor() {
    this.sessionId = crypto.randomUUID();
    this.nextId = 0;
    this.waiting = new Map();
    this.handlers = {};  // message type -> (args, reply(ok, value)) ; default: resolve
    this.received = [];  // the types the player sent, in order
    window.addEventListener("message", (event) => this.receive(event));
  }

  post(type, args) {
    const messageId = this.nextId++;
    window.parent.postMessage(JSON.stringify({ sessionId: this.sessionId, messageId, timestamp: Date.now(), type, args }), "*");
    return messageId;
  }

  /** Sends a message and resolves with the player's answer (or {type: "none"} after 3 s). */
  send(type, args = {}) {
    return new Promise((resolve) => {
      const id = this.post(type, args);
      this.waiting.set(id, resolve);
      setTimeout(() => { if (this.waiting.delete(id)) resolve({ type: "none" }); }, 3000);
    });
  }

  createSession() {
    return this.send("createSession", {});
  }

  receive(event) {
    if (event.source !== window.parent || typeof event.data !== "string") return;
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.sessionId !== this.sessionId) return;
    if (message.type === "resolve" || message.type === "reject") {
      const done = this.waiting.get(message.args.messageId);
      if (done) { this.waiting.delete(message.args.messageId); done({ type: message.type, value: message.args.value }); }
      return;
    }
    this.received.push(message.type);
    if (message.type.startsWith("SIMID:Media:")) return;  // information only
    const reply = (ok, value = {}) => this.post(ok ? "resolve" : "reject", { messageId: message.messageId, value });
    const handler = this.handlers[message.type];
    if (handler) handler(message.args || {}, reply);
    else reply(true);
  }
}
