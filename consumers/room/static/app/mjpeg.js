// Reads the room's multipart MJPEG stream (GET /api/cameras/{id}/live) with fetch, so that
// the page knows each frame's capture time (the part's X-Capture-Time header): the tile shows
// it, and the time from capture to paint is measured in the page.

const CRLFCRLF = [13, 10, 13, 10];

function indexOf(buffer, pattern, from) {
  outer: for (let i = from; i <= buffer.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (buffer[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** ISO 8601 with microseconds (as the server writes it) to milliseconds since the epoch. */
export function parseCaptureTime(text) {
  if (!text) return null;
  const trimmed = text.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Stream `url` until `signal` aborts or the server ends it (e.g. the grant ended); call
 * `onFrame({jpeg: Blob, captureMs})` for each part. Resolves with the reason it ended.
 */
export async function readMjpeg(url, signal, onFrame) {
  const response = await fetch(url, { signal, credentials: "same-origin" });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).error || message;
    } catch {
      /* not JSON */
    }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  const reader = response.body.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "ended";
    buffer = concat(buffer, value);
    for (;;) {
      const headEnd = indexOf(buffer, CRLFCRLF, 0);
      if (headEnd < 0) break;
      const head = new TextDecoder().decode(buffer.subarray(0, headEnd));
      const length = Number((/content-length:\s*(\d+)/i.exec(head) || [])[1]);
      if (!Number.isFinite(length)) {
        buffer = buffer.subarray(headEnd + 4); // not a frame header: skip it
        continue;
      }
      const start = headEnd + 4;
      if (buffer.length < start + length) break;
      const jpeg = new Blob([buffer.slice(start, start + length)], { type: "image/jpeg" });
      const captureMs = parseCaptureTime((/x-capture-time:\s*(\S+)/i.exec(head) || [])[1]);
      buffer = buffer.subarray(start + length);
      onFrame({ jpeg, captureMs });
    }
  }
}
