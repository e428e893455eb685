// The page's one live socket (/api/live): every tile watches its camera over it, since a
// browser opens at most six HTTP/1.1 connections to the room. Reconnects by itself and
// watches again what it watched; the server decides and audits each camera's live view.

const RETRY_MS = [500, 1000, 2000, 5000];

function parseCaptureTime(text) {
  if (!text) return null;
  const ms = Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? null : ms;
}

export class LiveSocket {
  constructor() {
    this.watchers = new Map(); // camera id -> {maxFps, onFrame, onEnd}
    this.socket = null;
    this.failures = 0;
    this.closed = false;
    this.decoder = new TextDecoder();
  }

  connect() {
    if (this.socket || this.closed) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.failures = 0;
      for (const [cameraId, watcher] of this.watchers) this.send({ watch: cameraId, max_fps: watcher.maxFps || null });
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      this.socket = null;
      if (this.closed || event.code === 4401 || event.code === 4403) return;
      const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
      setTimeout(() => this.connect(), wait);
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  receive(data) {
    if (typeof data === "string") {
      let message;
      try {
        message = JSON.parse(data);
      } catch {
        return;
      }
      const watcher = this.watchers.get(message.camera_id);
      if (watcher && (message.event === "refused" || message.event === "ended")) {
        this.watchers.delete(message.camera_id);
        watcher.onEnd(message.error || message.reason || message.event);
      }
      return;
    }
    const view = new DataView(data);
    const length = view.getUint16(0);
    let header;
    try {
      header = JSON.parse(this.decoder.decode(new Uint8Array(data, 2, length)));
    } catch {
      return;
    }
    const watcher = this.watchers.get(header.camera_id);
    if (!watcher) return; // unwatched meanwhile
    const jpeg = new Blob([new Uint8Array(data, 2 + length)], { type: "image/jpeg" });
    watcher.onFrame({ jpeg, captureMs: parseCaptureTime(header.capture_time) });
  }

  /** Watch `cameraId` at most `maxFps` frames a second (0: all). */
  watch(cameraId, maxFps, onFrame, onEnd) {
    this.watchers.set(cameraId, { maxFps, onFrame, onEnd });
    this.connect();
    this.send({ watch: cameraId, max_fps: maxFps || null });
  }

  unwatch(cameraId) {
    if (!this.watchers.delete(cameraId)) return;
    this.send({ unwatch: cameraId });
  }
}
