// Live tiles: one per camera the user may see now. A visible tile streams (at its own frame
// rate cap) over the page's one live socket; a hidden or paused tile keeps its last frame as a
// still and streams nothing. Status (online, offline with the reason, motion, tamper) comes from /api/cameras.

import { el, clear } from "./dom.js";
import { LiveSocket } from "./live.js";
import { t, formatClock } from "./i18n.js";

const FPS_CHOICES = [1, 5, 0]; // 0: as the camera sends them
const DEFAULT_FPS = 5;
const REVOKED_FADE_MS = 4000;
const LATENCY_KEEP = 5000;
const IDLE_MS = 5 * 60 * 1000; // no key or pointer for this long: the tiles rest as stills

// Capture -> painted, in milliseconds, per frame (read by the benchmark).
window.vigieLatencies = window.vigieLatencies || [];

class Tile {
  constructor(camera, grid) {
    this.camera = camera;
    this.grid = grid;
    this.fps = DEFAULT_FPS;
    this.paused = false;
    this.visible = true;
    this.watching = false;
    this.url = null;
    this.captureMs = null;
    this.image = el("img", { alt: "", class: "frame" });
    this.time = el("span", { class: "frame-time" });
    this.status = el("span", { class: "status" });
    this.name = el("strong", {}, camera.name);
    this.owner = el("span", { class: "owner" });
    this.fpsSelect = el("select", { class: "fps", onchange: () => this.setFps(Number(this.fpsSelect.value)) });
    this.pauseButton = el("button", { type: "button", class: "pause", onclick: () => this.togglePause() });
    this.node = el(
      "figure",
      { class: `tile${camera.shared ? " shared" : ""}`, tabindex: "0", dataset: { camera: camera.camera_id } },
      el("div", { class: "frame-box" }, this.image),
      el(
        "figcaption",
        {},
        el("div", { class: "line" }, this.name, this.owner),
        el("div", { class: "line" }, this.status, this.time),
        el("div", { class: "line controls" }, el("label", {}, el("span", { class: "fps-label" }), this.fpsSelect), this.pauseButton),
      ),
    );
    this.translate();
    this.update(camera);
  }

  translate() {
    this.node.setAttribute("aria-label", t("tile_label", { name: this.camera.name, operator: this.camera.operator }));
    this.image.alt = t("tile_image", { name: this.camera.name });
    this.owner.textContent = this.camera.shared ? t("shared_by", { operator: this.camera.operator }) : t("own_camera");
    this.node.querySelector(".fps-label").textContent = t("fps_cap");
    clear(this.fpsSelect);
    for (const fps of FPS_CHOICES) {
      this.fpsSelect.append(el("option", { value: fps, selected: fps === this.fps }, fps ? t("fps_n", { n: fps }) : t("fps_max")));
    }
    this.pauseButton.textContent = this.paused ? t("resume") : t("pause");
    this.update(this.camera);
    this.showTime();
  }

  update(camera) {
    this.camera = camera;
    const states = [];
    const status = String(camera.status || "unknown").toLowerCase();
    states.push(t(`status_${status}`) + (camera.reason && status !== "online" ? ` (${camera.reason})` : ""));
    if (camera.motion) states.push(t("motion"));
    if (camera.tamper) states.push(t("tamper", { reason: camera.tamper }));
    this.status.textContent = states.join(" · ");
    this.node.classList.toggle("offline", status === "offline" || status === "reconnecting");
    this.node.classList.toggle("tampered", Boolean(camera.tamper));
    this.node.classList.toggle("motion", Boolean(camera.motion));
  }

  showTime() {
    this.time.textContent = this.captureMs ? formatClock(new Date(this.captureMs)) : t("no_frame");
    if (this.captureMs) this.node.dataset.frameTime = String(this.captureMs);
  }

  paint({ jpeg, captureMs }) {
    const url = URL.createObjectURL(jpeg);
    const previous = this.url;
    this.url = url;
    this.image.src = url;
    this.image.decode().then(
      () => {
        requestAnimationFrame(() => {
          if (captureMs) {
            const latency = performance.timeOrigin + performance.now() - captureMs;
            const list = window.vigieLatencies;
            list.push(latency);
            if (list.length > LATENCY_KEEP) list.splice(0, list.length - LATENCY_KEEP);
          }
          if (previous) URL.revokeObjectURL(previous);
        });
      },
      () => previous && URL.revokeObjectURL(previous),
    );
    this.captureMs = captureMs;
    this.showTime();
  }

  wanted() {
    return this.visible && !this.paused && !document.hidden && !this.revoked && !this.grid.idle;
  }

  refresh() {
    if (this.wanted()) this.start();
    else this.stop();
    this.node.classList.toggle("still", !this.watching);
  }

  start() {
    if (this.watching) return;
    this.watching = true;
    delete this.node.dataset.error;
    this.grid.live.watch(
      this.camera.camera_id,
      this.fps,
      (frame) => this.paint(frame),
      (why) => {
        // Refused or ended by the server (grant over...): a still until asked again.
        this.watching = false;
        this.node.dataset.error = why;
        this.node.classList.add("still");
        if (!this.revoked) setTimeout(() => this.refresh(), 3000);
      },
    );
  }

  stop() {
    if (!this.watching) return;
    this.watching = false;
    this.grid.live.unwatch(this.camera.camera_id);
  }

  setFps(fps) {
    this.fps = fps;
    if (this.watching) {
      this.watching = false;
      this.start(); // the server changes the cap of the live view it has
    } else this.refresh();
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? t("resume") : t("pause");
    this.refresh();
  }

  revoke() {
    this.revoked = true;
    this.stop();
    this.node.classList.add("revoked");
    setTimeout(() => this.remove(), REVOKED_FADE_MS);
  }

  remove() {
    this.stop();
    this.node.remove();
    if (this.url) URL.revokeObjectURL(this.url);
    this.grid.forget(this);
  }
}

export class TileGrid {
  constructor(container) {
    this.container = container;
    this.tiles = new Map();
    this.live = new LiveSocket();
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const tile = this.tiles.get(entry.target.dataset.camera);
        if (!tile) continue;
        tile.visible = entry.isIntersecting;
        tile.refresh();
      }
    });
    document.addEventListener("visibilitychange", () => this.refreshAll());
    this.idle = false;
    this.idleTimer = null;
    const active = () => this.active();
    for (const kind of ["pointermove", "pointerdown", "keydown", "wheel", "touchstart"]) {
      document.addEventListener(kind, active, { passive: true });
    }
    this.active();
  }

  /** The user did something: stream again if resting, and rest after IDLE_MS without input. */
  active() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idle = true;
      document.body.classList.add("idle");
      this.refreshAll();
    }, IDLE_MS);
    if (this.idle) {
      this.idle = false;
      document.body.classList.remove("idle");
      this.refreshAll();
    }
  }

  /** Show exactly `cameras`; returns which appeared and which went (for the alerts). */
  show(cameras) {
    const appeared = [];
    const gone = [];
    const ids = new Set(cameras.map((c) => c.camera_id));
    for (const camera of cameras) {
      const tile = this.tiles.get(camera.camera_id);
      if (tile && !tile.revoked) {
        tile.update(camera);
        continue;
      }
      if (tile) tile.remove();
      const fresh = new Tile(camera, this);
      this.tiles.set(camera.camera_id, fresh);
      this.container.append(fresh.node);
      this.observer.observe(fresh.node);
      fresh.refresh();
      appeared.push(camera);
    }
    for (const tile of this.tiles.values()) {
      if (!ids.has(tile.camera.camera_id) && !tile.revoked) {
        tile.revoke();
        gone.push(tile.camera);
      }
    }
    return { appeared, gone };
  }

  forget(tile) {
    this.observer.unobserve(tile.node);
    if (this.tiles.get(tile.camera.camera_id) === tile) this.tiles.delete(tile.camera.camera_id);
  }

  refreshAll() {
    for (const tile of this.tiles.values()) tile.refresh();
  }

  translate() {
    for (const tile of this.tiles.values()) tile.translate();
  }

  clear() {
    for (const tile of [...this.tiles.values()]) tile.remove();
  }
}
