// The agent's live stream: /ws (docs/realtime.md). Reconnects with jittered backoff; after any reconnect the
// page refetches (events sent while disconnected are not replayed), through the "resync" listeners.
import { config } from "./i18n.js";

const PING_MS = 10000;
const DO_NOT_RETRY = new Set([4400, 4401, 4403, 1009]);

export class Realtime {
  constructor(accountId = config.accountId) {
    this.accountId = accountId;
    this.listeners = new Map();
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.connectedOnce = false;
    this.stopped = false;
  }

  /** on("message.created", (data) => ...); also "open", "resync" (refetch state) and "closed". */
  on(name, handler) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(handler);
    return () => this.listeners.get(name).delete(handler);
  }

  emit(name, data) {
    for (const handler of this.listeners.get(name) || []) {
      try {
        handler(data);
      } catch (error) {
        console.error(error);
      }
    }
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws?account_id=${this.accountId}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.emit("open");
      if (this.connectedOnce) this.emit("resync");
      this.connectedOnce = true;
      clearInterval(this.timer);
      this.timer = setInterval(() => this.send({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.event) this.emit(frame.event, frame.data);
    });
    socket.addEventListener("close", (close) => {
      clearInterval(this.timer);
      if (this.stopped) return;
      if (DO_NOT_RETRY.has(close.code)) {
        this.emit("closed", close.code);
        return;
      }
      // 0.5 s doubling up to 15 s, with jitter so a deploy does not bring every browser back at once.
      const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    });
    return this;
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  setAvailability(availability) {
    this.send({ type: "presence", availability });
  }

  close() {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.socket) this.socket.close();
  }
}

let shared = null;
/** The page's one socket (created on first use). */
export function realtime() {
  if (!shared && config.accountId) shared = new Realtime().connect();
  return shared;
}
