// The archive of the incident window, per camera: the chunks and the gaps between them, and
// playback in the page. H.264 chunks play as they are (<video>); MJPEG chunks are replayed by
// the server at their pace as a multipart stream an <img> shows. The server decides, per
// chunk, whether the user's operator may see it (its own camera, or an archive grant), and
// audits every playback.

import { el, clear } from "./dom.js";
import { api } from "./api.js";
import { t, formatClock, formatNumber } from "./i18n.js";

export function cameraChoices(select, cameras, incident) {
  const current = select.value;
  const ids = new Map(cameras.map((c) => [c.camera_id, `${c.name} (${c.operator})`]));
  for (const id of [...(incident?.ever_shared || []), ...(incident?.cameras || [])]) {
    if (!ids.has(id)) ids.set(id, id);
  }
  clear(select);
  for (const [id, name] of ids) select.append(el("option", { value: id, selected: id === current }, name));
}

export function incidentWindow(incident) {
  const end = incident.closed_at ? new Date(incident.closed_at) : new Date();
  const start = incident.opened_at ? new Date(incident.opened_at) : new Date(end.getTime() - 3600_000);
  return { start, end };
}

export async function showTimeline({ list, player, error, cameraId, incident }) {
  clear(list);
  clear(player);
  error.textContent = "";
  const { start, end } = incidentWindow(incident);
  const query = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
  let timeline;
  try {
    timeline = await api.get(`/api/cameras/${encodeURIComponent(cameraId)}/archive?${query}`);
  } catch (failure) {
    error.textContent = failure.message;
    return;
  }
  const spans = [
    ...timeline.chunks.map((chunk) => ({ kind: "chunk", start: chunk.window_start, end: chunk.window_end, chunk })),
    ...timeline.gaps.map((gap) => ({ kind: "gap", start: gap.start, end: gap.end })),
  ].sort((a, b) => new Date(a.start) - new Date(b.start));
  const total = end - start || 1;
  const bar = el("div", { class: "span-bar", "aria-hidden": "true" });
  for (const span of spans) {
    const part = el("span", { class: span.kind });
    const left = Math.min(100, Math.max(0, ((new Date(span.start) - start) / total) * 100));
    const right = Math.min(100, Math.max(0, ((new Date(span.end) - start) / total) * 100));
    part.style.left = `${left}%`;
    part.style.width = `${Math.max(0.3, right - left)}%`;
    bar.append(part);
  }
  list.append(el("li", { class: "bar-row" }, bar));
  if (!spans.length) list.append(el("li", { class: "muted" }, t("no_archive")));
  for (const span of spans) {
    const when = `${formatClock(span.start)} – ${formatClock(span.end)}`;
    if (span.kind === "gap") {
      list.append(el("li", { class: "gap-row" }, t("gap", { when })));
      continue;
    }
    const chunk = span.chunk;
    list.append(
      el(
        "li",
        { class: "chunk-row" },
        el(
          "button",
          { type: "button", class: "play", onclick: () => play(player, chunk, error) },
          t("play_chunk", { when, frames: formatNumber(chunk.frames), codec: chunk.codec }),
        ),
      ),
    );
  }
}

function play(player, chunk, error) {
  clear(player);
  error.textContent = "";
  const caption = el("p", { class: "muted" }, `${formatClock(chunk.window_start)} – ${formatClock(chunk.window_end)}`);
  if (chunk.codec === "h264") {
    const video = el("video", { controls: true, autoplay: true, muted: true, src: chunk.playback, class: "clip" });
    video.muted = true;
    video.addEventListener("error", () => (error.textContent = t("playback_failed")));
    player.append(video, caption);
    return;
  }
  // MJPEG: replayed by the server; a scrubber restarts it from a moment of the chunk.
  const duration = new Date(chunk.window_end) - new Date(chunk.window_start);
  const image = el("img", { class: "clip", alt: t("replay_alt") });
  const scrub = el("input", { type: "range", min: "0", max: String(duration), step: "100", value: "0", "aria-label": t("scrub") });
  const from = (ms) => (image.src = `${chunk.playback}/replay?from_ms=${Math.round(ms)}`);
  scrub.addEventListener("change", () => from(Number(scrub.value)));
  image.addEventListener("error", () => (error.textContent = t("playback_failed")));
  from(0);
  player.append(image, el("label", { class: "scrub" }, el("span", {}, t("scrub")), scrub), caption);
}
