// Stream keeps one WebSocket to /v1/stream open across network blips and
// server restarts: after a reconnection it resubscribes every chat from the
// last seq it delivered, so the page sees each event once and in order.
// A "resync" means the events are gone from the server's log: onResync
// lets the page reload that chat from the API.

export class Stream {
  // token() returns the token to connect with (it may change after a
  // refresh); onEvent(frame) gets every event frame.
  // calls subscribes to the voice handovers the user may see; onCall gets
  // each {"type":"call_transfer"} frame's transfer (they are not replayed:
  // after a reconnection the page reads the list again, see onState).
  constructor({ token, onEvent, onResync, onState, all, calls, onCall }) {
    this.token = token; this.onEvent = onEvent || (() => {}); this.onResync = onResync || (() => {});
    this.onState = onState || (() => {}); this.all = !!all;
    this.calls = !!calls; this.onCall = onCall || (() => {});
    this.seqs = new Map(); // chat id -> last seq delivered (null: from now)
    this.delay = 250; this.closed = false;
    this.connect();
  }

  watch(chatId, after) {
    if (!this.seqs.has(chatId) || (after !== undefined && after !== null)) this.seqs.set(chatId, after ?? null);
    this.send({ type: "subscribe", chats: [this.req(chatId)] });
  }

  unwatch(chatId) { this.seqs.delete(chatId); this.send({ type: "unsubscribe", chat_ids: [chatId] }); }

  req(id) { const a = this.seqs.get(id); return a === null || a === undefined ? { chat_id: id } : { chat_id: id, after: a }; }

  send(frame) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame)); }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/v1/stream?access_token=" + encodeURIComponent(this.token()));
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 250; this.onState("online");
      if (this.all) this.send({ type: "subscribe", all: true });
      if (this.calls) this.send({ type: "subscribe", calls: true });
      const chats = [...this.seqs.keys()].map((id) => this.req(id));
      if (chats.length) this.send({ type: "subscribe", chats });
    };
    ws.onmessage = (m) => {
      let f; try { f = JSON.parse(m.data); } catch { return; }
      if (f.type === "call_transfer") {
        if (f.transfer) this.onCall(f.transfer);
      } else if (f.type === "event" && (f.seq === undefined || f.seq === null)) {
        this.onEvent(f); // ephemeral (typing): not logged, never resumed
      } else if (f.type === "event") {
        const last = this.seqs.get(f.chat_id);
        if (last !== undefined && last !== null && f.seq <= last) return; // already delivered
        if (this.seqs.has(f.chat_id)) this.seqs.set(f.chat_id, f.seq);
        this.onEvent(f);
      } else if (f.type === "resync") {
        if (this.seqs.has(f.chat_id)) this.seqs.set(f.chat_id, f.seq ?? null);
        this.onResync(f.chat_id);
      } else if (f.type === "synced") {
        if (this.seqs.has(f.chat_id) && this.seqs.get(f.chat_id) === null) this.seqs.set(f.chat_id, f.seq);
      }
    };
    ws.onclose = () => {
      this.onState("offline");
      if (this.closed) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  close() { this.closed = true; if (this.ws) this.ws.close(); }
}
